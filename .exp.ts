// experiment only: variants side by side, CPU/req
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { admissionReview, deploymentPod, makeCA, makeCert, tempDir } from "./test/unit/webhook/helpers.js";
const autocannon = createRequire(import.meta.url)("autocannon") as (o: Record<string, unknown>) => Promise<any>;
const dir = tempDir("coredog-exp-");
const ca = makeCA(dir);
const cert = makeCert(ca, "serving");
const config = join(dir, "config.yaml");
writeFileSync(config, "NoticeChannel: []\n");
const body = admissionReview(deploymentPod(), { uid: "2f0b4c1e-8d57-4d43-a5f4-1b1b7f3c9e10" });
const bareScript = join(dir, "bare.mjs");
writeFileSync(bareScript, `import { createServer } from "node:https";
import { readFileSync } from "node:fs";
const [cert, key] = process.argv.slice(2).map((f) => readFileSync(f));
const canned = Buffer.alloc(1829, 97);
const server = createServer({ cert, key, minVersion: "TLSv1.2", keepAliveTimeout: 120000 }, (req, res) => {
  req.on("data", () => {});
  req.on("end", () => { res.writeHead(200, { "content-type": "application/json" }); res.end(canned); });
});
server.listen(0, "127.0.0.1", () => process.stderr.write("port " + server.address().port + "\\n"));
`);
const variants: { name: string; args: string[]; env?: Record<string, string> }[] = JSON.parse(process.env.EXP_VARIANTS!);
const kids: ChildProcess[] = [];
process.on("exit", () => kids.forEach((k) => k.kill("SIGKILL")));
async function start(v: (typeof variants)[number]) {
  const args = v.args.map((a) => a.replace("$BARE", bareScript));
  const c = spawn(process.execPath, [...args, cert.certFile, cert.keyFile, config], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...v.env } });
  kids.push(c);
  let err = "";
  const port = await new Promise<number>((res, rej) => { c.stderr!.on("data", (d) => { err += d; const m = /port (\d+)/.exec(err); if (m) res(Number(m[1])); }); c.on("exit", () => rej(new Error(err))); });
  return { ...v, c, port };
}
const servers = [];
for (const v of variants) servers.push(await start(v));
const cpu = (pid: number, all = false) => { const s = readFileSync(all ? `/proc/${pid}/stat` : `/proc/${pid}/task/${pid}/stat`, "utf8"); const f = s.slice(s.lastIndexOf(")") + 2).split(" "); return (Number(f[11]) + Number(f[12])) * 10; };
const SECONDS = Number(process.env.EXP_SECONDS ?? 3), ROUNDS = Number(process.env.EXP_ROUNDS ?? 3);
const res: Record<string, { rps: number[]; cpu: number[]; pcpu: number[]; p99: number[] }> = {};
let perf: ChildProcess | undefined;
for (let r = -1; r < ROUNDS; r++) {
  if (r === 0 && process.env.EXP_PERF) perf = spawn("perf", ["record", "-F", "2999", "-g", "-o", "/tmp/perf.data", "-p", String(servers[0]!.c.pid)], { stdio: "ignore" });
  const order = r % 2 === 0 ? servers : [...servers].reverse();
  for (const s of order) {
    const c0 = cpu(s.c.pid!), p0 = cpu(s.c.pid!, true);
    const out = await autocannon({ url: `https://127.0.0.1:${s.port}/mutate`, method: "POST", headers: { "content-type": "application/json" }, body, connections: 32, duration: r < 0 ? 1 : SECONDS, tlsOptions: { minVersion: "TLSv1.3", ca: ca.pem } });
    if (r < 0) continue;
    const n = out.requests.average * SECONDS;
    (res[s.name] ??= { rps: [], cpu: [], pcpu: [], p99: [] });
    res[s.name].rps.push(out.requests.average); res[s.name].cpu.push(((cpu(s.c.pid!) - c0) * 1000) / n); res[s.name].pcpu.push(((cpu(s.c.pid!, true) - p0) * 1000) / n); res[s.name].p99.push(out.latency.p99);
    if (out.non2xx || out.errors) console.log(s.name, "errors", out.non2xx, out.errors);
  }
}
if (perf) { perf.kill("SIGINT"); await new Promise((r) => perf!.once("exit", r)); }
const med = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };
for (const [k, v] of Object.entries(res)) console.log(`${k.padEnd(14)} rps ${med(v.rps).toFixed(0).padStart(6)}  main ${med(v.cpu).toFixed(1).padStart(5)} µs  proc ${med(v.pcpu).toFixed(1).padStart(5)} µs  p99 ${med(v.p99)}   [main ${v.cpu.map((x) => x.toFixed(0)).join(" ")}]`);
await Promise.all(kids.map((k) => new Promise((r) => { k.once("exit", r); k.kill("SIGTERM"); setTimeout(() => k.kill("SIGKILL"), 5000); })));
process.exit(0);
