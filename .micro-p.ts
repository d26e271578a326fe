import { admissionReview, deploymentPod } from "./test/unit/webhook/helpers.js";
import { review } from "./controller/webhook/admission.js";
import { createMetrics } from "./controller/webhook/metrics.js";
import { createLogger } from "./controller/log.js";
import { createLogSink } from "./controller/webhook/logsink.js";

const body = admissionReview(deploymentPod(), { uid: "2f0b4c1e-8d57-4d43-a5f4-1b1b7f3c9e10" });
const ns = { cached: (n: string) => ({ metadata: { name: n } }), fetch: async () => undefined };
let sinkBytes = 0;
const sink = createLogSink((c) => { sinkBytes += c.length; });
const log = createLogger({ format: "json", write: sink.write });
const metrics = createMetrics();

async function time(name: string, n: number, f: () => unknown | Promise<unknown>) {
  for (let i = 0; i < n / 4; i++) await f();
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) { await f(); if (i % 1000 === 0) await new Promise((r) => setImmediate(r)); }
  const c = process.cpuUsage(t0); const us = (c.user + c.system) / n;
  console.log(`${name.padEnd(30)} ${us.toFixed(2)} µs`);
}
const o = await review(body, ns as never);
for (let k = 0; k < 2; k++) {
await time("noop await", 100000, () => undefined);
await time("JSON.parse", 100000, () => JSON.parse(body));
await time("review", 100000, () => review(body, ns as never));
await time("log.info inject", 100000, () => log.info({ pod: o.pod, path: o.path, containers: o.containers!.join(","), initContainers: undefined, ops: o.patchOps, dryRun: undefined }, `inject core dump directory at ${o.path} into ${o.pod}`));
await time("metrics.request", 100000, () => metrics.request("/mutate", 200, 0.0012));
await time("metrics.decision", 100000, () => metrics.decision("inject", "inject"));
await time("Buffer.from(body)", 100000, () => Buffer.from(o.body));
}
console.log(sinkBytes);
