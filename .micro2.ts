import { admissionReview, deploymentPod } from "./test/unit/webhook/helpers.js";
import { decide, injectionPatch, describePod } from "./src/injection.js";
import { unsafePathReason, normalizeContainerPath } from "./src/paths.js";
const body = admissionReview(deploymentPod(), { uid: "2f0b4c1e-8d57-4d43-a5f4-1b1b7f3c9e10" });
const parsed = JSON.parse(body);
const pod = parsed.request.object;
const ns = { metadata: { name: "shop", labels: { "kubernetes.io/metadata.name": "shop" } } };
const d = decide(pod, ns as never) as any;
const ops = injectionPatch(pod, d);
const js = JSON.stringify(ops);
console.log(js.length, pod.metadata.annotations, JSON.stringify(pod.spec).slice(0, 600));
function time(name: string, n: number, f: () => unknown) {
  for (let i = 0; i < n / 4; i++) f();
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) f();
  const c = process.cpuUsage(t0);
  console.log(`${name.padEnd(30)} ${((c.user + c.system) / n).toFixed(2)} µs`);
}
for (let k = 0; k < 2; k++) {
  time("decide", 200000, () => decide(pod, ns as never));
  time("unsafePathReason", 200000, () => unsafePathReason("/data/cores"));
  time("normalize", 200000, () => normalizeContainerPath("/data/cores"));
  time("injectionPatch", 200000, () => injectionPatch(pod, d));
  time("stringify ops", 200000, () => JSON.stringify(ops));
  time("base64", 200000, () => Buffer.from(js).toString("base64"));
  time("describePod", 200000, () => describePod(pod, "shop"));
}
