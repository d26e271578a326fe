// `npm run bench:crashes`: `kubectl coredog crashes -A` and `crashes -A --group` against
// `kubectl get coredumps -A -o json` (the least a listing costs) on the rig with 10,000 CoreDump records
// (200 fingerprints) across 20 namespaces, alternating. Last line: `crashes/kubectl-get time ratio: <r>`.
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import pLimit from "p-limit";
import { buildCoreDump } from "../../src/coredump.js";
import { sha256Hex } from "../../src/sha256.js";
import { startRig, type Rig } from "../rig/index.js";

const NAMESPACES = 20;
const RECORDS = Number(process.env.BENCH_RECORDS ?? 10_000);
const FINGERPRINTS = 200;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CRD = new URL("../../manifests/base/coredump-crd.yaml", import.meta.url).pathname;

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

async function main() {
  const t0 = Date.now();
  const rig = await startRig({ s3: false, receivers: false });
  try {
    const applied = await rig.kubectl(["apply", "-f", CRD]);
    if (applied.code !== 0) throw new Error(applied.stderr);
    const core = rig.kc.makeApiClient(CoreV1Api);
    const custom = rig.kc.makeApiClient(CustomObjectsApi);
    const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-${i + 1}`);
    await Promise.all(
      namespaces.map((name) => core.createNamespace({ body: { metadata: { name } } })),
    );
    const limit = pLimit(32);
    const start = Date.UTC(2026, 10, 1);
    await Promise.all(
      Array.from({ length: RECORDS }, (_, i) =>
        limit(() => {
          const ns = namespaces[i % NAMESPACES]!;
          const fp = sha256Hex(`fingerprint-${i % FINGERPRINTS}`);
          const pod = `app-${i % 50}-7d9f8c6b5-${(i % 997).toString(36)}`;
          const key = `corefiles/${ns}/${pod}/app/20261101-${i}-core.server.${i}.zst`;
          const body = buildCoreDump({
            namespace: ns,
            pod,
            podUid: `uid-${i}`,
            node: `node-${i % 10}`,
            container: "app",
            image: "registry.example.com/shop/app:1.2.3",
            workload: { kind: "Deployment", name: `app-${i % 50}` },
            capturedAt: new Date(start + i * 60_000),
            executable: "/app/server",
            filename: `core.server.${i}.h.1`,
            signal: 11,
            signalName: "SIGSEGV",
            key,
            bucket: "crashes",
            location: `s3://crashes/${key}`,
            size: 50_000_000 + i,
            storedBytes: 12_000_000 + i,
            sha256: sha256Hex(key),
            compression: "zstd",
          });
          body.spec.fingerprint = { id: fp, short: fp.slice(0, 12) };
          body.metadata.labels!["coredog.io/fingerprint"] = fp.slice(0, 12);
          body.spec.frames = [
            "server+0x1a2b3c",
            "libapp.so.2+0x4d5e",
            "server+0x9f00",
            "libc.so.6+0x29d90",
          ];
          body.spec.fault = {
            address: "0x0",
            description: "SIGSEGV: address not mapped (null pointer)",
          };
          return custom.createNamespacedCustomObject({
            group: "coredog.io",
            version: "v1alpha1",
            plural: "coredumps",
            namespace: ns,
            body,
          });
        }),
      ),
    );
    console.log(
      `rig with ${RECORDS} CoreDump records (${FINGERPRINTS} fingerprints) in ${NAMESPACES} namespaces ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${ROUNDS} rounds`,
    );
    const crashes = ["coredog", "crashes", "-A"];
    const group = ["coredog", "crashes", "-A", "--group"];
    const get = ["get", "coredumps", "-A", "-o", "json"];
    await timed(rig, crashes);
    await timed(rig, get);
    const crashesTimes: number[] = [];
    const groupTimes: number[] = [];
    const getTimes: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
      for (const k of order) {
        if (k === 0) crashesTimes.push(await timed(rig, crashes));
        if (k === 1) groupTimes.push(await timed(rig, group));
        if (k === 2) getTimes.push(await timed(rig, get));
      }
    }
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(" ");
    console.log(
      `kubectl coredog crashes -A          median ${median(crashesTimes).toFixed(0)} ms  (${fmt(crashesTimes)})`,
    );
    console.log(
      `kubectl coredog crashes -A --group  median ${median(groupTimes).toFixed(0)} ms  (${fmt(groupTimes)})`,
    );
    console.log(
      `kubectl get coredumps -A -o json    median ${median(getTimes).toFixed(0)} ms  (${fmt(getTimes)})`,
    );
    console.log(
      `group/kubectl-get time ratio: ${(median(groupTimes) / median(getTimes)).toFixed(2)}`,
    );
    console.log(
      `crashes/kubectl-get time ratio: ${(median(crashesTimes) / median(getTimes)).toFixed(2)}`,
    );
  } finally {
    await rig.stop();
  }
}

await main();
