// End to end on the rig with the real kernel: a pod crashes (`ulimit -c unlimited; kill -SEGV $$`) with the
// directory the webhook would give it (hostPath + subPathExpr); the watcher program (a process pointed at the rig
// node's dumps directory with the rig's kubeconfig) stores the core with the right key, metadata and sha256,
// deletes the local file, records an Event on the pod, notifies Slack and publishes the node state on its pod.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseNodeState } from "../../src/node-state.js";
import { ANNOTATION_NODE_STATE, CORE_PATTERN, NODE_DUMP_DIR } from "../../src/names.js";
import { startRig, type Rig } from "../rig/index.js";
import {
  makeLayout,
  s3StorageYaml,
  startWatcherProc,
  type WatcherProc,
} from "../unit/watcher/harness.js";
import { coreKeys, expectSidecar } from "../unit/watcher/stored.js";

let rig: Rig;
let watcher: WatcherProc | undefined;
let scratch: string | undefined;

beforeAll(async () => {
  rig = await startRig({ coreDumps: true });
  await rig.s3.createBucket("crashes");
});
afterAll(async () => {
  await watcher?.stop();
  await rig?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
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
      # Kubernetes expands $(VAR) in commands and turns $$ into $: $$$$ reaches the shell as $$.
      command: ["/bin/bash", "-c", "ulimit -c unlimited; kill -SEGV $$$$"]
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

it("a crashing pod's core is stored, verified, deleted, recorded as an Event and announced on Slack", async () => {
  const kubectl = async (args: string[], input?: string) => {
    const r = await rig.kubectl(args, input === undefined ? {} : { input });
    expect(r.code, `kubectl ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  await kubectl(["create", "namespace", "shop"]);
  await kubectl(["create", "namespace", "coredog-system"]);
  // The watcher's own pod (a stand-in the node runs), for the node-state annotation.
  await kubectl(
    ["apply", "-f", "-"],
    `apiVersion: v1\nkind: Pod\nmetadata: { name: watcher-node-1, namespace: coredog-system }\nspec:\n  containers:\n    - { name: w, image: busybox, command: ["/bin/sh", "-c", "sleep 3600"] }\n`,
  );

  const dumps = join(rig.nodes[0]!.hostRoot, NODE_DUMP_DIR);
  const layout = makeLayout("cdw-e2e-");
  scratch = layout.root;
  writeFileSync(
    layout.config,
    `${s3StorageYaml(rig.s3, "crashes")}DeleteLocalCorefile: true
NoticeChannel:
  - chan: slack
    webhookurl: ${rig.receivers.url("slack")}
Watcher:
  quietSeconds: 0.5
  rescanSeconds: 5
`,
  );
  watcher = startWatcherProc(
    { ...layout, dir: dumps, journal: join(layout.root, "journal") },
    undefined,
    {
      args: ["--node-name", rig.nodes[0]!.name, "--kubeconfig", rig.kubeconfig],
      env: { POD_NAME: "watcher-node-1", POD_NAMESPACE: "coredog-system" },
    },
  );
  await watcher.waitFor(/initial scan/, 60_000);

  await kubectl(["apply", "-f", "-"], podYaml("crasher"));
  const pod = await rig.waitFor(
    "the crasher pod to run and end",
    async () => {
      const p = JSON.parse(
        await kubectl(["get", "pod", "-n", "shop", "crasher", "-o", "json"]),
      ) as {
        metadata: { uid: string };
        status?: { phase?: string };
      };
      return p.status?.phase === "Failed" || p.status?.phase === "Succeeded" ? p : undefined;
    },
    60_000,
  );

  await watcher.waitFor(/deleted local corefile: .*\/shop\/crasher\/core\.bash\./, 60_000);
  expect(
    watcher.count(/received fsnotify event: .*\/shop\/crasher\/core\.bash\.\S+, op: CREATE/),
  ).toBeGreaterThanOrEqual(1);
  expect(watcher.count(/resolved pod from webhook path: shop\/crasher/)).toBe(1);

  const listed = await coreKeys(rig.s3.client, "crashes", "corefiles/shop/crasher/");
  expect(listed).toHaveLength(1);
  const key = listed[0]!;
  expect(key).toMatch(/^corefiles\/shop\/crasher\/\d{8}T\d{9}Z-core\.bash\.\d+\.\S+\.\d+$/);
  const head = await rig.s3.client.send(new HeadObjectCommand({ Bucket: "crashes", Key: key }));
  const bytes = Buffer.from(
    await (
      await rig.s3.client.send(new GetObjectCommand({ Bucket: "crashes", Key: key }))
    ).Body!.transformToByteArray(),
  );
  expect(bytes.readUInt16LE(16)).toBe(4); // a real ET_CORE from the kernel
  expect(head.Metadata).toMatchObject({
    namespace: "shop",
    pod: "crasher",
    uid: pod.metadata.uid,
    node: rig.nodes[0]!.name,
    container: "app",
    image: "debian:12",
    signal: "11",
    "original-size": String(bytes.length),
  });
  expect(head.Metadata?.executable).toMatch(/bash$/);
  // the sidecar beside it records the sha256 of these bytes (computed here) and the crash
  await expectSidecar(rig.s3.client, "crashes", key, {
    sha256: createHash("sha256").update(bytes).digest("hex"),
    size: bytes.length,
  });
  const podDir = join(dumps, "shop/crasher");
  expect(existsSync(podDir) ? readdirSync(podDir).filter((f) => f.startsWith("core")) : []).toEqual(
    [],
  );

  const notice = await rig.receivers.waitFor(
    "slack",
    (r) => JSON.stringify(r.body).includes("[shop/crasher] core: core.bash."),
    30_000,
  );
  expect(JSON.stringify(notice.body)).toMatch(/\[shop\/crasher\] core: core\.bash\.\d+/);

  const events = await rig.waitFor(
    "the CoreDumpUploaded event",
    async () => {
      const out = await kubectl([
        "get",
        "events",
        "-n",
        "shop",
        "--field-selector",
        "involvedObject.name=crasher",
      ]);
      return /CoreDumpUploaded/.test(out) ? out : undefined;
    },
    30_000,
  );
  expect(events).toMatch(/CoreDumpCaptured/);

  const state = await rig.waitFor(
    "the node state annotation",
    async () => {
      const text = await kubectl([
        "get",
        "pod",
        "-n",
        "coredog-system",
        "watcher-node-1",
        "-o",
        `jsonpath={.metadata.annotations.${ANNOTATION_NODE_STATE.replace(/\./g, "\\.")}}`,
      ]);
      const s = parseNodeState(text);
      return s?.lastUpload ? s : undefined;
    },
    30_000,
  );
  expect(state).toMatchObject({
    node: rig.nodes[0]!.name,
    corePattern: CORE_PATTERN,
    filesWaiting: 0,
    configuredPath: dumps,
  });
  expect(state.lastUpload!.key).toBe(key);
}, 180_000);
