// Every core names the container that crashed: pods get their directories from the webhook's own patch
// (decide + injectionPatch), crash for real on the rig, and the watcher program attributes each core to its
// container in the Event, the chat notice, the object's key and metadata, and `kubectl coredog ls`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NODE_DUMP_DIR } from "../../src/names.js";
import { startRig, type Rig } from "../rig/index.js";
import type { WatcherProc } from "../unit/watcher/harness.js";
import {
  admitted as admittedIn,
  crash,
  sleeper,
  startWatcher,
  uploadedEvents,
} from "./support/crash-pods.js";

const NS = "layout";
let rig: Rig;
let watcher: WatcherProc | undefined;
let scratch: string | undefined;
let bins: string | undefined;

const kubectl = async (args: string[], input?: string): Promise<string> => {
  const r = await rig.kubectl(args, input === undefined ? {} : { input });
  expect(r.code, `kubectl ${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r.stdout;
};

const admitted = (name: string, spec: V1Pod["spec"]) => admittedIn(NS, name, spec);

interface Want {
  pod: string;
  container: string;
  image: string;
  init?: boolean;
  /** Directly in the pod's directory (a pod admitted before each container had its own). */
  legacy?: boolean;
}

beforeAll(async () => {
  rig = await startRig({ coreDumps: true });
  await rig.s3.createBucket("crashes");
  bins = mkdtempSync(join(tmpdir(), "cdl-bin-"));
});
afterAll(async () => {
  await watcher?.stop();
  await rig?.stop();
  for (const d of [scratch, bins]) if (d) rmSync(d, { recursive: true, force: true });
});

describe("a core per container", () => {
  it("attributes each real crash to its container: Event, notice, object, ls", async () => {
    await kubectl(["create", "namespace", NS]);
    ({ watcher, scratch } = await startWatcher(rig, "crashes"));

    // A pod admitted under the old layout (every container in the pod's directory), crashing after the upgrade.
    const legacyContainer = (name: string, image: string, command: string[]): V1Container => ({
      name,
      image,
      command,
      env: [
        {
          name: "COREDOG_POD_NAMESPACE",
          valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
        },
        { name: "COREDOG_POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      ],
      volumeMounts: [
        {
          name: "coredog-dumps",
          mountPath: "/corefile",
          subPathExpr: "$(COREDOG_POD_NAMESPACE)/$(COREDOG_POD_NAME)",
        },
      ],
    });
    const legacy: V1Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "legacy",
        namespace: NS,
        annotations: {
          "coredog.io/inject": "true",
          "coredog.io/path": "/corefile",
          "coredog.io/injected":
            '{"path":"/corefile","containers":["app","helper"],"initContainers":[]}',
        },
      },
      spec: {
        restartPolicy: "Never",
        containers: [
          legacyContainer("app", "bash:5.2", crash()),
          legacyContainer("helper", "debian:12", sleeper()),
        ],
        volumes: [
          { name: "coredog-dumps", hostPath: { path: NODE_DUMP_DIR, type: "DirectoryOrCreate" } },
        ],
      },
    };

    const crashAt = Math.floor(Date.now() / 1000) + 4;
    const sameSecond = (name: string): V1Container => ({
      name,
      image: "debian:12",
      env: [{ name: "CRASH_AT", value: String(crashAt) }],
      command: [
        "/bin/bash",
        "-c",
        'ulimit -c unlimited; while [ "$$(date +%s)" -lt "$CRASH_AT" ]; do sleep 0.02; done; kill -SEGV $BASHPID',
      ],
    });
    const pods: V1Pod[] = [
      // the second of two containers
      admitted("two", {
        containers: [
          { name: "web", image: "nginx:1.27", command: sleeper() },
          { name: "worker", image: "acme/worker:3", command: crash() },
        ],
      }),
      // an init container
      admitted("init", {
        initContainers: [{ name: "migrate", image: "acme/migrate:1", command: crash() }],
        containers: [{ name: "app", image: "debian:12", command: sleeper() }],
      }),
      // a native sidecar: an init container with restartPolicy Always
      admitted("sidecar", {
        initContainers: [
          { name: "proxy", image: "acme/proxy:2", restartPolicy: "Always", command: crash() },
        ],
        containers: [{ name: "app", image: "debian:12", command: sleeper(20) }],
      }),
      // two containers crashing within the same second
      admitted("twins", { containers: [sameSecond("left"), sameSecond("right")] }),
      // a container named like another container's image, whose executable has that name too
      admitted("lookalike", {
        containers: [
          { name: "redis", image: "debian:12", command: sleeper() },
          {
            name: "cache",
            image: "redis:7",
            env: [{ name: "BINS", value: bins! }],
            command: [
              "/bin/bash",
              "-c",
              'cp /bin/bash "$BINS/redis" && ulimit -c unlimited && exec "$BINS/redis" -c "sleep 1; kill -SEGV \\$BASHPID"',
            ],
          },
        ],
      }),
      legacy,
    ];
    for (const p of pods) {
      if (p.metadata!.name !== "legacy") {
        for (const c of [...(p.spec!.initContainers ?? []), ...p.spec!.containers]) {
          expect(c.volumeMounts?.[0]?.subPathExpr).toBe(
            `$(COREDOG_POD_NAMESPACE)/$(COREDOG_POD_NAME)/${c.name}`,
          );
        }
      }
      await kubectl(["apply", "-f", "-"], JSON.stringify(p));
    }

    const wants: Want[] = [
      { pod: "two", container: "worker", image: "acme/worker:3" },
      { pod: "init", container: "migrate", image: "acme/migrate:1", init: true },
      { pod: "sidecar", container: "proxy", image: "acme/proxy:2", init: true },
      { pod: "twins", container: "left", image: "debian:12" },
      { pod: "twins", container: "right", image: "debian:12" },
      { pod: "lookalike", container: "cache", image: "redis:7" },
      { pod: "legacy", container: "app", image: "bash:5.2", legacy: true },
    ];

    const uploaded = (pod: string) => uploadedEvents(rig, NS, pod);
    const twinsKeys: string[] = [];
    for (const w of wants) {
      const field = `spec.${w.init ? "initContainers" : "containers"}{${w.container}}`;
      // The Event: on the pod, its fieldPath naming the container, the message too.
      const event = await rig.waitFor(
        `the CoreDumpUploaded event of ${w.pod}/${w.container}`,
        async () => (await uploaded(w.pod)).find((e) => e.involvedObject.fieldPath === field),
        90_000,
      );
      expect(event.message).toContain(`container ${w.container}`);
      for (const e of await uploaded(w.pod)) {
        // every core of the pod is attributed, and only to containers that crashed
        expect(wants.filter((x) => x.pod === w.pod).map((x) => x.container)).toContain(
          /\{(.+)\}$/.exec(e.involvedObject.fieldPath ?? "")?.[1],
        );
      }

      // The object: under the container's name, with its container and image in the metadata.
      const prefix = `corefiles/${NS}/${w.pod}/${w.legacy ? "" : `${w.container}/`}`;
      const listed = await rig.s3.client.send(
        new ListObjectsV2Command({ Bucket: "crashes", Prefix: prefix }),
      );
      expect(listed.Contents?.length ?? 0, prefix).toBeGreaterThanOrEqual(1);
      const key = listed.Contents![0]!.Key!;
      const head = await rig.s3.client.send(new HeadObjectCommand({ Bucket: "crashes", Key: key }));
      expect(head.Metadata).toMatchObject({
        namespace: NS,
        pod: w.pod,
        container: w.container,
        image: w.image,
        signal: "11",
      });
      if (w.pod === "twins") twinsKeys.push(key);

      // The notice names the container and its image.
      const notice = await rig.receivers.waitFor(
        "slack",
        (r) => {
          const text = JSON.stringify(r.body);
          return (
            text.includes(`[${NS}/${w.pod}] core:`) && text.includes(`container: ${w.container}`)
          );
        },
        30_000,
      );
      expect(JSON.stringify(notice.body)).toContain(`image: ${w.image}`);
    }
    expect(
      watcher.count(/deleted local corefile: .*\/layout\/lookalike\/cache\/core\.redis\./),
    ).toBe(1);

    // A restarted container keeps its directory: the sidecar's second crash lands in proxy/ again.
    const restarts = await rig.waitFor(
      "a second core of the restarted sidecar",
      async () => {
        const e = await uploaded("sidecar");
        return e.reduce((n, x) => n + (x.count ?? 1), 0) >= 2 ? e : undefined;
      },
      90_000,
    );
    expect(restarts.every((e) => e.involvedObject.fieldPath === "spec.initContainers{proxy}")).toBe(
      true,
    );

    // The twins crash at the agreed second (%t; a loaded machine can move one across a second's edge) and
    // both cores are kept, apart.
    const seconds = twinsKeys.map((k) => Number(/\.(\d+)$/.exec(k)?.[1]));
    for (const s of seconds) expect(Math.abs(s - crashAt)).toBeLessThanOrEqual(1);
    expect(new Set(twinsKeys).size).toBe(2);

    // ls: the CORES column counts per container.
    const ls = await kubectl(["coredog", "ls", "-n", NS]);
    // with -n there is no NAMESPACE column: POD comes first
    const row = (pod: string) => ls.split("\n").find((l) => l.split(/\s+/)[0] === pod) ?? "";
    expect(row("two")).toMatch(/\s1 \(worker:1\)\s/);
    expect(row("init")).toMatch(/\s1 \(migrate:1\)\s/);
    expect(row("sidecar")).toMatch(/\s\d+ \(proxy:\d+\)\s/);
    expect(row("twins")).toMatch(/\s2 \(left:1,right:1\)\s/);
    expect(row("lookalike")).toMatch(/\s1 \(cache:1\)\s/);
    expect(row("legacy")).toMatch(/\s1 \(app:1\)\s/);
  }, 240_000);
});
