// `npm run bench:webhook`: our /mutate against a bare node:https server answering the same bytes.
// Both run as their own processes on loopback with the same certificate, TLS 1.3 and keep-alive;
// one autocannon (in this process) drives both, alternating, 32 connections, a few seconds each.
// Two workloads: every pod opted in (each answer carries a patch), and the mixed one of a real
// cluster, where 95% of pods carry no CoreDog annotation (19 of every 20 requests) and 5% opt in.
// The webhook runs compiled (esbuild, as plain JS like the image's tsc output), not through tsx,
// whose loader wraps every named closure in a `__name` call that the production code does not pay.
// Last lines: `webhook/bare throughput ratio: <r>` (all opted in), then
// `webhook/bare mixed throughput ratio: <r>`, each the median of the rounds' ratios.
//
// BENCH_WEBHOOK_VARIANT (comma-separated) measures what the parts cost, by building the webhook
// with a part taken out (for measuring only; the answers stay the same bytes):
//   review-free  review() remembers its outcome per body, so a request costs a lookup by its text
//                instead of parsing and deciding (the bench sends three distinct bodies): the
//                ratio is the most that any faster review could give;
//   lines-off    the per-decision log lines are not written.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import { createServer as createNetServer } from "node:net";
import { cpus, loadavg as loadAvg } from "node:os";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { build } from "esbuild";
import {
  admissionReview,
  deploymentPod,
  makeCA,
  makeCert,
  send,
  tempDir,
} from "../unit/webhook/helpers.js";

// autocannon ships no types; the part used here.
interface CannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
const autocannon = createRequire(import.meta.url)("autocannon") as (
  opts: Record<string, unknown>,
) => Promise<CannonResult>;

// Five short rounds rather than three long ones: on a shared machine the median of more pairs is
// steadier (one disturbed round moves it less).
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = 32;
const ROOT = join(import.meta.dirname, "../..");

const dir = tempDir("coredog-bench-");
const ca = makeCA(dir);
const cert = makeCert(ca, "serving");
const children: ChildProcess[] = [];
// Inside the checkout so that the bundle's imports of packages resolve to its node_modules.
const compiled = join(ROOT, "node_modules", ".cache", `coredog-bench-webhook-${process.pid}`);
const cleanup = () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  rmSync(compiled, { recursive: true, force: true });
};
process.on("exit", cleanup);

// The namespace source for the webhook's Pod Security cache: one namespace, an idle watch.
// (The rig's API server would do too; this keeps the benchmark self-contained and quiet.)
const api = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
  res.setHeader("content-type", "application/json");
  const url = new URL(req.url ?? "/", "https://x");
  if (url.pathname === "/api/v1/namespaces" && url.searchParams.get("watch") === "true") {
    res.writeHead(200);
    res.flushHeaders(); // an open, idle watch
    return;
  }
  if (url.pathname === "/api/v1/namespaces") {
    res.end(
      JSON.stringify({
        kind: "NamespaceList",
        apiVersion: "v1",
        metadata: { resourceVersion: "1" },
        items: [{ metadata: { name: "shop", resourceVersion: "1" } }],
      }),
    );
    return;
  }
  res.writeHead(404).end(JSON.stringify({ kind: "Status", code: 404 }));
});
await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
const kubeconfig = join(dir, "kubeconfig");
writeFileSync(
  kubeconfig,
  `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:${(api.address() as { port: number }).port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`,
);
const config = join(dir, "config.yaml");
writeFileSync(config, "NoticeChannel: []\n");

async function waitForLine(
  file: string,
  re: RegExp,
  child: ChildProcess,
): Promise<RegExpExecArray> {
  for (let i = 0; i < 600; i++) {
    const m = re.exec(readFileSync(file, "utf8"));
    if (m) return m;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${re} not seen in ${file}:\n${readFileSync(file, "utf8")}`);
}

/** A port free on loopback now (the webhook is told which to use, so that it needs no log line to say). */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const { port } = probe.address() as { port: number };
  await new Promise((r) => probe.close(r));
  return port;
}

function spawnLogged(name: string, args: string[]): { child: ChildProcess; log: string } {
  const log = join(dir, `${name}.log`);
  const fd = openSync(log, "w");
  const child = spawn(process.execPath, args, { stdio: ["ignore", fd, fd], cwd: ROOT });
  children.push(child);
  return { child, log };
}

// The webhook, as the real program: `coredog-controller webhook` compiled from this checkout.
mkdirSync(compiled, { recursive: true });
writeFileSync(join(compiled, "package.json"), '{"type":"module"}\n');
const variant = new Set((process.env.BENCH_WEBHOOK_VARIANT ?? "").split(",").filter(Boolean));
for (const v of variant)
  if (v !== "review-free" && v !== "lines-off")
    throw new Error(`unknown BENCH_WEBHOOK_VARIANT part ${v}`);
/** Source edits for the variant: [file, the text replaced, its replacement]. */
const edits: [string, string, string][] = [];
if (variant.has("review-free"))
  edits.push([
    "controller/webhook/admission.ts",
    "export function review(",
    `const remembered = new Map<string, Outcome | Promise<Outcome>>();
export function review(text: string, namespaces: NamespaceLookup): Outcome | Promise<Outcome> {
  let o = remembered.get(text);
  if (o === undefined) remembered.set(text, (o = reviewEachTime(text, namespaces)));
  return o;
}
function reviewEachTime(`,
  ]);
if (variant.has("lines-off"))
  edits.push([
    "controller/webhook/lines.ts",
    "): LineLog {\n",
    "): LineLog {\n  if (format !== undefined) return () => {};\n",
  ]);
await build({
  plugins: [
    {
      name: "bench-variant",
      setup(b) {
        for (const [file, from, to] of edits) {
          const path = join(ROOT, file);
          b.onLoad({ filter: new RegExp(`${file.replace(/[./]/g, "\\$&")}$`) }, () => {
            const source = readFileSync(path, "utf8");
            if (!source.includes(from))
              throw new Error(`${file}: ${JSON.stringify(from)} not found`);
            return { contents: source.replace(from, to), loader: "ts", resolveDir: dirname(path) };
          });
        }
      },
    },
  ],
  entryPoints: {
    webhook: join(ROOT, "controller/webhook/cli.ts"),
    // loaded by log-sink.ts as ./log-worker.js beside the code
    "log-worker": join(ROOT, "controller/webhook/log-worker.ts"),
  },
  bundle: true,
  packages: "external",
  platform: "node",
  format: "esm",
  target: "node24",
  outdir: compiled,
  logLevel: "warning",
});
// BENCH_WEBHOOK_NODE_OPTIONS: extra node flags for the webhook only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"
// (BENCH_BARE_NODE_OPTIONS: the same for the bare server, to profile both alike).
const hookPort = await freePort();
const hookNodeFlags = (process.env.BENCH_WEBHOOK_NODE_OPTIONS ?? "").split(" ").filter(Boolean);
const hook = spawnLogged("webhook", [
  ...hookNodeFlags,
  join(compiled, "webhook.js"),
  "--listen",
  `127.0.0.1:${hookPort}`,
  "--tls-cert",
  cert.certFile,
  "--tls-key",
  cert.keyFile,
  "--config",
  config,
  "--kubeconfig",
  kubeconfig,
  // BENCH_WEBHOOK_ARGS: extra flags for the webhook, e.g. "--log-level warn" to see what the lines cost.
  ...(process.env.BENCH_WEBHOOK_ARGS ?? "").split(" ").filter(Boolean),
]);
// Ready once /readyz says so (the namespace cache synced); not from its log, which a
// --log-level in BENCH_WEBHOOK_ARGS may silence.
for (let i = 0; ; i++) {
  const ready = await send(hookPort, { ca: ca.pem, method: "GET", path: "/readyz" }).catch(
    () => undefined,
  );
  if (ready?.status === 200) break;
  if (hook.child.exitCode !== null || i === 600)
    throw new Error(`the webhook did not get ready:\n${readFileSync(hook.log, "utf8")}`);
  await new Promise((r) => setTimeout(r, 50));
}

const UID = "2f0b4c1e-8d57-4d43-a5f4-1b1b7f3c9e10";
const body = admissionReview(deploymentPod(), { uid: UID });
// Pods that never opted in: most carry annotations of other tools, some none at all.
const plainBodies = [
  admissionReview(
    deploymentPod({
      annotations: {
        "kubectl.kubernetes.io/restartedAt": "2026-11-30T08:12:44Z",
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "8080",
      },
    }),
    { uid: UID },
  ),
  admissionReview(deploymentPod({ annotations: {} }), { uid: UID }),
];
const answer = await send(hookPort, { ca: ca.pem, body });
if (!answer.body.includes('"patchType":"JSONPatch"'))
  throw new Error(`the webhook did not inject: ${answer.body}`);
const plainAnswers = await Promise.all(
  plainBodies.map((b) => send(hookPort, { ca: ca.pem, body: b })),
);
for (const a of plainAnswers)
  if (a.status !== 200 || a.body.includes("patch")) throw new Error(`unexpected answer: ${a.body}`);

/** One request of a workload: the bare server answers by path what the webhook answers to the body. */
interface Request {
  path: string;
  body: string;
  answer: string;
}
const injectRequest: Request = { path: "/mutate", body, answer: answer.body };
const workloads = {
  inject: [injectRequest],
  // 19 of 20 not opted in (the two kinds alternating), 1 opted in; each connection cycles through.
  mixed: [
    ...Array.from({ length: 19 }, (_, i): Request => ({
      path: `/mutate?plain=${i % 2}`,
      body: plainBodies[i % 2]!,
      answer: plainAnswers[i % 2]!.body,
    })),
    injectRequest,
  ],
};

// The bare server: same TLS settings and keep-alive, reads the body, answers the same bytes.
const canned = join(dir, "canned.json");
writeFileSync(
  canned,
  JSON.stringify(Object.fromEntries(workloads.mixed.map((r) => [r.path, r.answer]))),
);
const bareScript = join(dir, "bare.mjs");
writeFileSync(
  bareScript,
  `import { createServer } from "node:https";
import { createServer as createNetServer } from "node:net";
import { readFileSync } from "node:fs";
const [cert, key] = process.argv.slice(2, 4).map((f) => readFileSync(f));
const answers = new Map(Object.entries(JSON.parse(readFileSync(process.argv[4], "utf8"))).map(([k, v]) => [k, Buffer.from(v)]));
const server = createServer({ cert, key, minVersion: "TLSv1.2", keepAliveTimeout: 120000 }, (req, res) => {
  req.on("data", () => {});
  req.on("end", () => { res.writeHead(200, { "content-type": "application/json" }); res.end(answers.get(req.url)); });
});
server.listen(0, "127.0.0.1", () => console.log("bare listening " + server.address().port));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`,
);
const bareNodeFlags = (process.env.BENCH_BARE_NODE_OPTIONS ?? "").split(" ").filter(Boolean);
const bare = spawnLogged("bare", [
  ...bareNodeFlags,
  bareScript,
  cert.certFile,
  cert.keyFile,
  canned,
]);
const barePort = Number((await waitForLine(bare.log, /bare listening (\d+)/, bare.child))[1]);
for (const r of workloads.mixed) {
  const got = await send(barePort, { ca: ca.pem, path: r.path, body: r.body });
  if (got.body !== r.answer) throw new Error(`the bare server answers ${r.path} differently`);
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** CPU time of the server's main thread per request, µs (less sensitive to a busy machine). */
  cpuUs: number;
  /** The same for the whole process (all threads: log writer, GC, ...). */
  procCpuUs: number;
  /** CPU of the load generator (this process) per request, µs. */
  clientUs: number;
}

/** utime+stime of a process's main thread (or all threads), in ms (Linux /proc; ticks of 10 ms). */
function mainThreadCpuMs(pid: number, wholeProcess = false): number {
  try {
    const stat = readFileSync(
      wholeProcess ? `/proc/${pid}/stat` : `/proc/${pid}/task/${pid}/stat`,
      "utf8",
    );
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

async function load(
  port: number,
  seconds: number,
  pid: number,
  requests: Request[],
): Promise<Figures> {
  const cpu0 = mainThreadCpuMs(pid);
  const proc0 = mainThreadCpuMs(pid, true);
  const client0 = process.cpuUsage();
  const r = await autocannon({
    url: `https://127.0.0.1:${port}/mutate`,
    method: "POST",
    headers: { "content-type": "application/json" },
    requests: requests.map((q) => ({ path: q.path, body: q.body })),
    connections: CONNECTIONS,
    duration: seconds,
    tlsOptions: { minVersion: "TLSv1.3", ca: ca.pem },
  });
  const total = r.requests.average * seconds;
  const client = process.cpuUsage(client0);
  return {
    clientUs: (client.user + client.system) / total,
    cpuUs: ((mainThreadCpuMs(pid) - cpu0) * 1000) / total,
    procCpuUs: ((mainThreadCpuMs(pid, true) - proc0) * 1000) / total,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (f: Figures) =>
  `${f.rps.toFixed(0).padStart(7)} req/s  p50 ${f.p50.toFixed(2).padStart(5)} ms  p99 ${f.p99.toFixed(2).padStart(5)} ms  CPU/req ${f.cpuUs.toFixed(0).padStart(3)} µs main thread, ${f.procCpuUs.toFixed(0).padStart(3)} µs process, client ${f.clientUs.toFixed(0).padStart(3)} µs${f.errors + f.non2xx > 0 ? `  errors ${f.errors} non-2xx ${f.non2xx}` : ""}`;

console.log(
  `webhook /mutate vs bare node:https, loopback, TLS 1.3, keep-alive, ${CONNECTIONS} connections, ${SECONDS} s x ${ROUNDS} rounds`,
);
const loadavg = () =>
  loadAvg()
    .map((x) => x.toFixed(2))
    .join(" ");
console.log(`machine: ${cpus().length} CPUs, load average ${loadavg()}`);
if (variant.size > 0)
  console.log(
    `variant: ${[...variant].join(", ")} (a measurement of the parts, not the webhook as shipped)`,
  );
console.log(
  `opted in: request ${Buffer.byteLength(body)} bytes, answer ${Buffer.byteLength(answer.body)} bytes (inject patch); not opted in: requests ${plainBodies.map((b) => Buffer.byteLength(b)).join(", ")} bytes, answers ${plainAnswers.map((a) => Buffer.byteLength(a.body)).join(", ")} bytes`,
);
type Workload = keyof typeof workloads;
const servers = {
  webhook: { port: hookPort, pid: hook.child.pid! },
  bare: { port: barePort, pid: bare.child.pid! },
};
for (const w of ["inject", "mixed"] as const)
  // warm-up (JIT, TLS session setup)
  for (const s of Object.values(servers)) await load(s.port, 1, s.pid, workloads[w]);
const results: Record<Workload, Record<keyof typeof servers, Figures[]>> = {
  inject: { webhook: [], bare: [] },
  mixed: { webhook: [], bare: [] },
};
for (let i = 0; i < ROUNDS; i++) {
  // Alternate which goes first so drift on a shared machine hits both alike.
  const order = i % 2 === 0 ? (["webhook", "bare"] as const) : (["bare", "webhook"] as const);
  for (const w of ["inject", "mixed"] as const) {
    for (const which of order) {
      const s = servers[which];
      const f = await load(s.port, SECONDS, s.pid, workloads[w]);
      results[w][which].push(f);
      console.log(`round ${i + 1} ${w.padEnd(6)} ${which.padEnd(7)} ${fmt(f)}`);
    }
  }
}
const med = (xs: Figures[]): Figures => ({
  rps: median(xs.map((x) => x.rps)),
  p50: median(xs.map((x) => x.p50)),
  p99: median(xs.map((x) => x.p99)),
  errors: xs.reduce((a, x) => a + x.errors, 0),
  non2xx: xs.reduce((a, x) => a + x.non2xx, 0),
  cpuUs: median(xs.map((x) => x.cpuUs)),
  procCpuUs: median(xs.map((x) => x.procCpuUs)),
  clientUs: median(xs.map((x) => x.clientUs)),
});
const ratio = (w: Workload) =>
  median(results[w].webhook.map((o, i) => o.rps / results[w].bare[i]!.rps));
console.log(`load average after the rounds: ${loadavg()}`);
for (const w of ["inject", "mixed"] as const) {
  console.log(`median  ${w.padEnd(6)} webhook ${fmt(med(results[w].webhook))}`);
  console.log(`median  ${w.padEnd(6)} bare    ${fmt(med(results[w].bare))}`);
}
const hookLog = readFileSync(hook.log, "utf8");
console.log(
  `webhook logged ${(hookLog.match(/msg="inject core dump directory/g) ?? []).length} injections, ${(hookLog.match(/msg="skip injection/g) ?? []).length} skips`,
);
// Graceful stop (a --cpu-prof profile is written at exit), SIGKILL after 5 s.
await Promise.all(
  [hook.child, bare.child].map(
    (c) =>
      new Promise<void>((resolve) => {
        if (c.exitCode !== null) return resolve();
        const t = setTimeout(() => c.kill("SIGKILL"), 5_000);
        c.once("exit", () => {
          clearTimeout(t);
          resolve();
        });
        c.kill("SIGTERM");
      }),
  ),
);
api.closeAllConnections();
api.close();
// Steadier than throughput on a shared machine: the servers' own CPU per request (main thread), bare over webhook.
const cpuRatio = (w: Workload) =>
  median(results[w].webhook.map((o, i) => results[w].bare[i]!.cpuUs / o.cpuUs));
console.log(
  `bare/webhook CPU per request (main thread): opted in ${cpuRatio("inject").toFixed(3)}, mixed ${cpuRatio("mixed").toFixed(3)}`,
);
console.log(`webhook/bare throughput ratio: ${ratio("inject").toFixed(3)}`);
console.log(`webhook/bare mixed throughput ratio: ${ratio("mixed").toFixed(3)}`);
