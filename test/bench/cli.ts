// `npm run bench:cli`: `kubectl coredog ls -A` against `kubectl get pods -A -o json` (the least any listing
// costs) on the rig with 2,000 pods (200 opted in) across 20 namespaces, alternating, and the start-up time
// of `kubectl coredog --help`. The pods carry a nodeSelector no node matches, so they stay Pending and the
// rig's node runs none of them. Last line: `ls/kubectl-get time ratio: <r>`.
import { spawn } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import { CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import pLimit from "p-limit";
import { startRig, type Rig } from "../rig/index.js";

const NAMESPACES = 20;
const PODS = 2000;
const OPTED_IN = 200;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs kubectl with stdout to /dev/null; resolves with the wall time in ms. */
function timed(rig: Rig, args: string[]): Promise<number> {
  const devnull = openSync("/dev/null", "w");
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn("kubectl", args, {
      env: { ...process.env, ...rig.env, NO_COLOR: "1" },
      stdio: ["ignore", devnull, "pipe"],
    });
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - started;
      closeSync(devnull);
      if (code !== 0)
        reject(new Error(`kubectl ${args.join(" ")} exited ${code}: ${stderr.trim()}`));
      else resolve(ms);
    });
  });
}

function pod(ns: string, i: number, optedIn: boolean): V1Pod {
  return {
    metadata: {
      name: `app-${i}`,
      namespace: ns,
      labels: { app: `app-${i % 50}`, tier: i % 2 ? "web" : "worker" },
      annotations: optedIn
        ? {
            "coredog.io/inject": "true",
            "coredog.io/path": "/corefile",
            "coredog.io/container": "app",
          }
        : { "example.com/owner": "team-a" },
    },
    spec: {
      nodeSelector: { "coredog.io/bench": "no-such-node" },
      containers: [
        {
          name: "app",
          image: "registry.example.com/shop/app:1.2.3",
          command: ["/app/server", "--port=8080"],
          env: [
            { name: "MODE", value: "production" },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          ],
          ports: [{ containerPort: 8080, name: "http" }],
          resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
        },
        {
          name: "sidecar",
          image: "registry.example.com/proxy:2.0",
          args: ["--upstream=127.0.0.1:8080"],
        },
      ],
    },
  };
}

async function main() {
  const t0 = Date.now();
  const rig = await startRig({ s3: false, receivers: false });
  try {
    const core = rig.kc.makeApiClient(CoreV1Api);
    const limit = pLimit(32);
    const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-${i + 1}`);
    await Promise.all(
      namespaces.map((name) => core.createNamespace({ body: { metadata: { name } } })),
    );
    const perNs = PODS / NAMESPACES;
    const optedPerNs = OPTED_IN / NAMESPACES;
    await Promise.all(
      namespaces.flatMap((ns) =>
        Array.from({ length: perNs }, (_, i) =>
          limit(() =>
            core.createNamespacedPod({ namespace: ns, body: pod(ns, i, i < optedPerNs) }),
          ),
        ),
      ),
    );
    // Some of the watchers' Events, so ls has cores to count.
    await Promise.all(
      namespaces.flatMap((ns) =>
        Array.from({ length: optedPerNs }, (_, i) =>
          limit(() =>
            core.createNamespacedEvent({
              namespace: ns,
              body: {
                metadata: { name: `app-${i}.core${i}`, namespace: ns },
                involvedObject: { apiVersion: "v1", kind: "Pod", namespace: ns, name: `app-${i}` },
                reason: "CoreDumpCaptured",
                message: `core.app.${i}`,
                type: "Normal",
                source: { component: "coredog-watcher", host: "node-1" },
                reportingComponent: "coredog-watcher",
                reportingInstance: "node-1",
                lastTimestamp: new Date(),
                count: 1,
              },
            }),
          ),
        ),
      ),
    );
    const listed = (await core.listPodForAllNamespaces()).items.length;
    console.log(
      `rig with ${listed} pods (${OPTED_IN} opted in) in ${NAMESPACES} namespaces ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${ROUNDS} rounds`,
    );

    const ls = ["coredog", "ls", "-A"];
    const get = ["get", "pods", "-A", "-o", "json"];
    await timed(rig, ls);
    await timed(rig, get);
    const lsTimes: number[] = [];
    const getTimes: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) {
        lsTimes.push(await timed(rig, ls));
        getTimes.push(await timed(rig, get));
      } else {
        getTimes.push(await timed(rig, get));
        lsTimes.push(await timed(rig, ls));
      }
    }
    const helpTimes: number[] = [];
    for (let r = 0; r < ROUNDS; r++) helpTimes.push(await timed(rig, ["coredog", "--help"]));

    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(" ");
    console.log(
      `kubectl coredog ls -A          median ${median(lsTimes).toFixed(0)} ms  (${fmt(lsTimes)})`,
    );
    console.log(
      `kubectl get pods -A -o json    median ${median(getTimes).toFixed(0)} ms  (${fmt(getTimes)})`,
    );
    console.log(
      `kubectl coredog --help         median ${median(helpTimes).toFixed(0)} ms  (${fmt(helpTimes)}; goal < 300 ms)`,
    );
    console.log(`ls/kubectl-get time ratio: ${(median(lsTimes) / median(getTimes)).toFixed(2)}`);
  } finally {
    await rig.stop();
  }
}

await main();
