// End to end on the rig with the real kernel: a C program (frame pointers) writes through a NULL pointer in a pod
// twice (two pods, two PIDs, two load addresses). The watcher program stores each core with its crash report
// beside it (`<key>.report.json`, the fingerprint equal to the object's metadata), notices carry the fault line, the
// top frames, the fingerprint's short id and "new", then "seen once before"; the Events end with the short form,
// `kubectl coredog events` shows it and follows the fingerprint; the cloudevents receiver gets a valid structured
// CloudEvent whose data is the report.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { CrashReport } from "../../src/crash-report.js";
import { NODE_DUMP_DIR } from "../../src/names.js";
import { startRig, type Rig } from "../rig/index.js";
import {
  makeLayout,
  s3StorageYaml,
  startWatcherProc,
  type WatcherProc,
} from "../unit/watcher/harness.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/crash");
let rig: Rig;
let watcher: WatcherProc | undefined;
let scratch: string | undefined;
// The program lives outside the rig's roots: pods of images other than CoreDog's run on the host's `/`.
const bin = mkdtempSync(join(tmpdir(), "cdw-e2e-crashprog-"));

beforeAll(async () => {
  const fp = ["-O0", "-g", "-fno-omit-frame-pointer"];
  const src = (f: string) => join(FIXTURES, f);
  execFileSync("gcc", [...fp, "-shared", "-fPIC", "-o", join(bin, "libboom.so"), src("libboom.c")]);
  execFileSync("gcc", [
    ...fp,
    "-o",
    join(bin, "app"),
    src("crasher.c"),
    "-pthread",
    `-L${bin}`,
    "-lboom",
    `-Wl,-rpath,${bin}`,
  ]);
  rig = await startRig({ coreDumps: true });
  await rig.s3.createBucket("crashes");
}, 120_000);
afterAll(async () => {
  await watcher?.stop();
  await rig?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  rmSync(bin, { recursive: true, force: true });
});

const podYaml = (name: string) => `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: shop
spec:
  restartPolicy: Never
  containers:
    - name: app
      image: debian:12
      command: ["/bin/bash", "-c", "ulimit -c unlimited; exec ${bin}/app null"]
      env:
        - name: COREDOG_POD_NAMESPACE
          valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
        - name: COREDOG_POD_NAME
          valueFrom: { fieldRef: { fieldPath: metadata.name } }
      volumeMounts:
        - name: coredog-dumps
          mountPath: /corefile
          subPathExpr: $(COREDOG_POD_NAMESPACE)/$(COREDOG_POD_NAME)
  volumes:
    - name: coredog-dumps
      hostPath: { path: ${NODE_DUMP_DIR}, type: DirectoryOrCreate }
`;

interface Sidecar {
  schemaVersion: number;
  core: { key: string; sha256: string };
  crash: CrashReport | null;
}

interface CloudEventBody {
  specversion: string;
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: string;
  data: { crash: CrashReport; core: { key: string; pod: string }; seenBefore: number };
}

it("a real crash: report beside the core, fingerprint in the metadata, notices, Events, kubectl coredog events and a CloudEvent say it, and the second one was seen before", async () => {
  const kubectl = async (args: string[], input?: string) => {
    const r = await rig.kubectl(args, input === undefined ? {} : { input });
    expect(r.code, `kubectl ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  await kubectl(["create", "namespace", "shop"]);
  const dumps = join(rig.nodes[0]!.hostRoot, NODE_DUMP_DIR);
  const layout = makeLayout("cdw-e2e-report-");
  scratch = layout.root;
  writeFileSync(
    layout.config,
    `${s3StorageYaml(rig.s3, "crashes")}DeleteLocalCorefile: true
NoticeChannel:
  - chan: slack
    webhookurl: ${rig.receivers.url("slack")}
  - chan: webhook
    webhookurl: ${rig.receivers.url("webhook")}
  - chan: cloudevents
    webhookurl: ${rig.receivers.url("cloudevents")}
Watcher:
  quietSeconds: 0.5
  rescanSeconds: 5
  groupWindowSeconds: 0
`,
  );
  watcher = startWatcherProc(
    { ...layout, dir: dumps, journal: join(layout.root, "journal") },
    undefined,
    { args: ["--node-name", rig.nodes[0]!.name, "--kubeconfig", rig.kubeconfig] },
  );
  await watcher.waitFor(/initial scan/, 60_000);

  /** Crash one pod; its core's key, metadata and sidecar once it is stored and deleted. */
  async function crashPod(name: string) {
    await kubectl(["apply", "-f", "-"], podYaml(name));
    await watcher!.waitFor(
      new RegExp(`deleted local corefile: .*/shop/${name}/core\\.app\\.`),
      60_000,
    );
    const listed = await rig.s3.client.send(
      new ListObjectsV2Command({ Bucket: "crashes", Prefix: `corefiles/shop/${name}/` }),
    );
    const keys = (listed.Contents ?? []).map((o) => o.Key!).sort();
    expect(keys).toHaveLength(2);
    const key = keys[0]!;
    expect(keys[1]).toBe(`${key}.report.json`);
    const head = await rig.s3.client.send(new HeadObjectCommand({ Bucket: "crashes", Key: key }));
    const side = await rig.s3.client.send(
      new GetObjectCommand({ Bucket: "crashes", Key: `${key}.report.json` }),
    );
    expect(side.ContentType).toBe("application/json");
    const sidecar = JSON.parse(await side.Body!.transformToString()) as Sidecar;
    const core = await rig.s3.client.send(new GetObjectCommand({ Bucket: "crashes", Key: key }));
    const sha256 = createHash("sha256")
      .update(await core.Body!.transformToByteArray())
      .digest("hex");
    return { key, metadata: head.Metadata ?? {}, sidecar, sha256 };
  }

  const first = await crashPod("crash-1");
  expect(first.sidecar.schemaVersion).toBe(1);
  expect(first.sidecar.core).toMatchObject({ key: first.key, sha256: first.sha256 });
  const report = first.sidecar.crash!;
  expect(report).not.toBeNull();
  const fp = report.fingerprint;
  expect(first.metadata.fingerprint).toBe(fp.id);
  expect(report.death.summary).toBe(
    "SIGSEGV: address not mapped (SEGV_MAPERR) at 0x0 (NULL pointer)",
  );
  const top = report.crashingThread.backtrace.slice(0, 3);
  expect(top.map((f) => f.module)).toEqual([`${bin}/app`, `${bin}/app`, `${bin}/app`]);
  const frames = top.map((f) => `app+${f.offset}`);

  // The plain webhook carries the notice's text unescaped (Slack's would defuse the `_`), with the fields.
  const noticeOf = async (pod: string) =>
    (
      await rig.receivers.waitFor(
        "webhook",
        (r) => (r.body as { pod?: string } | undefined)?.pod === pod,
        30_000,
      )
    ).body as { text: string; fingerprint: string; seenBefore: number; frames: string[] };
  const notice1 = await noticeOf("crash-1");
  expect(notice1.text).toContain(
    "crash: SIGSEGV: address not mapped (SEGV_MAPERR) at 0x0 (NULL pointer)",
  );
  expect(notice1.text).toContain(`frames: #0 ${frames[0]}, #1 ${frames[1]}, #2 ${frames[2]}`);
  expect(notice1.text).toContain(`fingerprint: ${fp.short}, new`);
  const slack = await rig.receivers.waitFor(
    "slack",
    (r) => JSON.stringify(r.body).includes("[shop/crash-1] core: core.app."),
    30_000,
  );
  expect(slack.rejected).toBeUndefined();
  expect((slack.body as { text: string }).text).toContain(`fingerprint: ${fp.short}, new`);

  const ce = await rig.receivers.waitFor(
    "cloudevents",
    (r) => (r.body as CloudEventBody | undefined)?.subject === "shop/crash-1",
    30_000,
  );
  expect(ce.rejected).toBeUndefined();
  expect(ce.status).toBe(202);
  expect(ce.headers["content-type"]).toMatch(/^application\/cloudevents\+json/);
  const event = ce.body as CloudEventBody;
  expect(event).toMatchObject({
    specversion: "1.0",
    type: "io.coredog.crash.v1",
    source: `/coredog/watcher/${rig.nodes[0]!.name}`,
    datacontenttype: "application/json",
  });
  expect(event.data.crash).toEqual(report);
  expect(event.data.core).toMatchObject({ key: first.key, pod: "crash-1" });
  expect(event.data.seenBefore).toBe(0);

  const second = await crashPod("crash-2");
  expect(second.metadata.fingerprint).toBe(fp.id);
  expect(second.sidecar.crash!.process.pid).not.toBe(report.process.pid);
  const notice2 = await noticeOf("crash-2");
  expect(notice2.text).toContain(`fingerprint: ${fp.short}, seen once before`);
  expect(notice2).toMatchObject({ fingerprint: fp.id, seenBefore: 1, frames });
  const markers = await rig.s3.client.send(
    new ListObjectsV2Command({ Bucket: "crashes", Prefix: `corefiles/_fingerprints/${fp.id}/` }),
  );
  expect(markers.Contents).toHaveLength(2);

  const site = `SIGSEGV at 0x0 in ${frames[0]}`;
  const uploadedMessage = async (pod: string) =>
    rig.waitFor(
      `the CoreDumpUploaded event of ${pod}`,
      async () => {
        const out = JSON.parse(
          await kubectl([
            "get",
            "events",
            "-n",
            "shop",
            "--field-selector",
            `involvedObject.name=${pod},reason=CoreDumpUploaded`,
            "-o",
            "json",
          ]),
        ) as { items: { message: string }[] };
        return out.items[0]?.message;
      },
      30_000,
    );
  expect(await uploadedMessage("crash-1")).toMatch(
    new RegExp(
      `^Core dump core\\.app\\.\\S+ uploaded to crashes/.*; ${site.replace(/[+]/g, "\\+")} \\[fp ${fp.short}, new\\]$`,
    ),
  );
  expect(await uploadedMessage("crash-2")).toMatch(
    new RegExp(`; ${site.replace(/[+]/g, "\\+")} \\[fp ${fp.short}, seen once before\\]$`),
  );

  const listed = await rig.kubectl(["coredog", "events", "-n", "shop"], { env: { NO_COLOR: "1" } });
  expect(listed.code, listed.stderr).toBe(0);
  expect(listed.stdout).toMatch(
    new RegExp(`CoreDumpUploaded\\s+shop/crash-2\\s.*\\[fp ${fp.short}, seen once before\\]`),
  );
  const followed = await rig.kubectl(
    ["coredog", "events", "-n", "shop", "--fingerprint", fp.short, "-o", "json"],
    { env: { NO_COLOR: "1" } },
  );
  expect(followed.code, followed.stderr).toBe(0);
  const items = (
    JSON.parse(followed.stdout) as { items: { reason: string; involvedObject: { name: string } }[] }
  ).items;
  expect(
    items
      .filter((e) => e.reason === "CoreDumpUploaded")
      .map((e) => e.involvedObject.name)
      .sort(),
  ).toEqual(["crash-1", "crash-2"]);
  const other = await rig.kubectl(["coredog", "events", "-n", "shop", "--fingerprint", "000000"], {
    env: { NO_COLOR: "1" },
  });
  expect(other.stderr).toMatch(/No CoreDog events/);
}, 240_000);
