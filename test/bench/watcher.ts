// `npm run bench:watcher`: the watcher (the real program, as a process) against a bare lib-storage upload.
// 1. a 2 GiB core from the node directory to S3 through the watcher (one read: streamed, hashed, verified, its
//    sidecar written and read back) vs the same file uploaded by lib-storage alone (same server, same part size and
//    queue), BENCH_ROUNDS (5) rounds in alternating order, medians compared;
//    the watcher's idle and peak RSS (VmRSS, VmHWM) and CPU seconds against the bare upload's;
// 2. with zstd on: 512 MiB of a realistic core (half fresh random bytes) compressed and stored;
// 3. 500 cores of 256 KiB across 100 pod directories at once: all stored, time from the last completion to its upload.
// The watcher is the shipped bundle (scripts/build-controller.mjs) with the DaemonSet's NODE_OPTIONS
// (manifests/base/watcher.yaml). s3rver runs as its own process so that neither side shares an event loop with it.
// Last line: the ratio.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createReadStream } from "node:fs";
import { DeleteObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { READ_CHUNK } from "../../controller/watcher/core-stream.js";
import { isSidecarKey, sidecarKey } from "../../src/core-sidecar.js";
import { QUEUE_SIZE, partSizeFor } from "../../controller/watcher/s3-store.js";
import { coreBlock, writeCore, writeRealisticCore } from "../unit/watcher/core-fixture.js";
import {
  makeLayout,
  settingsYaml,
  startWatcherProc,
  type WatcherProc,
} from "../unit/watcher/harness.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const REPO = resolve(import.meta.dirname, "../..");
const BIG = Number(process.env.BENCH_BIG_BYTES ?? 2 * GiB);
const ZSTD = Number(process.env.BENCH_ZSTD_BYTES ?? 512 * MiB);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MANY = 500;
const PODS = 100;
const SMALL = 256 * 1024;
const QUIET = 0.5;

const children: ChildProcess[] = [];
let watcher: WatcherProc | undefined;
let nodeRoot: string | undefined;
const root = mkdtempSync(join(tmpdir(), "coredog-bench-watcher-"));

function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  if (watcher && watcher.proc.exitCode === null) watcher.proc.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
  if (nodeRoot) rmSync(nodeRoot, { recursive: true, force: true });
}
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

async function startS3rver(dir: string): Promise<{ endpoint: string }> {
  const bin = join(REPO, "node_modules/s3rver/bin/s3rver.js");
  const p = spawn(
    process.execPath,
    [bin, "-d", dir, "-a", "127.0.0.1", "-p", "0", "-s", "--configure-bucket", "cores"],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  children.push(p);
  let out = "";
  const port = await new Promise<number>((res, rej) => {
    p.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /:(\d+)\s/.exec(out);
      if (m) res(Number(m[1]));
    });
    p.once("exit", () => rej(new Error(`s3rver exited: ${out}`)));
  });
  return { endpoint: `http://127.0.0.1:${port}` };
}

/** The product's bundle, built as `npm run build` builds it, and a runner that starts its watcher. */
function buildProductWatcher(): string {
  const dist = join(root, "dist");
  execFileSync(process.execPath, [join(REPO, "scripts/build-controller.mjs"), dist], {
    stdio: "ignore",
  });
  const runner = join(dist, "run-watcher.mjs");
  writeFileSync(
    runner,
    'const { main } = await import("./controller/bundle/main.js");\n' +
      'process.exitCode = await main(["watcher", ...process.argv.slice(2)]);\n',
  );
  return runner;
}

/** NODE_OPTIONS as the DaemonSet sets it for the watcher container. */
function daemonSetNodeOptions(): string | undefined {
  const yaml = readFileSync(join(REPO, "manifests/base/watcher.yaml"), "utf8");
  return /- name: NODE_OPTIONS\s+value: "?([^"\n]*)"?/.exec(yaml)?.[1];
}

function logTime(line: string): number {
  const m = /time=(\S+)/.exec(line) ?? /"time":"([^"]+)"/.exec(line);
  return Date.parse(m![1]!);
}

/** user + system CPU seconds of a process so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function procStatus(pid: number, field: "VmHWM" | "VmRSS"): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) * 1024;
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
const load = () =>
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`;
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main() {
  const t0 = Date.now();
  console.log(`start: ${load()} (2 CPUs shared with other work)`);
  const s3dir = join(root, "s3");
  mkdirSync(s3dir);
  const { endpoint } = await startS3rver(s3dir);
  const s3 = { endpoint, region: "us-east-1", accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
  const client = new S3Client({
    endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });

  const layout = makeLayout("coredog-bench-node-");
  nodeRoot = layout.root;
  const staging = join(root, "staging");
  mkdirSync(staging);
  const master = join(staging, "master.core");
  let t = Date.now();
  writeRealisticCore(master, BIG, { comm: "bigapp" });
  console.log(
    `generated ${BIG} bytes in ${fmt(Date.now() - t)} (every 1 MiB: 512 KiB fresh random, 256 KiB zeros, 256 KiB structured)`,
  );

  // BENCH_WATCHER_ENTRY: another build to compare (a script taking the watcher's flags), e.g. an older one.
  const runner = process.env.BENCH_WATCHER_ENTRY || buildProductWatcher();
  // BENCH_NODE_OPTIONS replaces the DaemonSet's value (empty: V8's defaults), to compare.
  const nodeOptions = process.env.BENCH_NODE_OPTIONS ?? daemonSetNodeOptions();
  console.log(
    `watcher: ${process.env.BENCH_WATCHER_ENTRY ? runner : "the product bundle"}, NODE_OPTIONS=${nodeOptions || "(none)"}`,
  );
  watcher = startWatcherProc(
    layout,
    settingsYaml(s3, "cores", { quiet: String(QUIET), rescan: "30", parallel: "4" }),
    {
      bundle: runner,
      nodeArgs: process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(" ") : [],
      env: nodeOptions ? { NODE_OPTIONS: nodeOptions } : {},
    },
  );
  await watcher.waitFor(/initial scan/, 60_000);
  const pid = watcher.proc.pid!;
  await new Promise((r) => setTimeout(r, 2000));
  const idleRss = procStatus(pid, "VmRSS");
  console.log(`watcher idle RSS (VmRSS) after its initial scan: ${mib(idleRss)}`);
  mkdirSync(join(layout.dir, "bench/pod-big"), { recursive: true });

  // Every measurement starts from the same state: a fresh copy of the core (in the page cache, as a core the
  // kernel just wrote), no dirty pages waiting for write-back (s3rver writes every byte twice, parts then the
  // object), the previous objects deleted.
  const fresh = (name: string) => {
    const f = join(staging, name);
    copyFileSync(master, f);
    execFileSync("sync");
    return f;
  };
  const bareRun = async (round: number) => {
    const f = fresh(`bare-${round}`);
    const key = `bare/core.big.${round}`;
    const t1 = performance.now();
    const cpu0 = process.cpuUsage();
    await new Upload({
      client,
      queueSize: QUEUE_SIZE,
      partSize: partSizeFor(BIG),
      params: {
        Bucket: "cores",
        Key: key,
        Body: createReadStream(f, { highWaterMark: READ_CHUNK }),
      },
    }).done();
    const ms = performance.now() - t1;
    const cpu = process.cpuUsage(cpu0);
    rmSync(f);
    await client.send(new DeleteObjectCommand({ Bucket: "cores", Key: key }));
    return { ms, cpu: (cpu.user + cpu.system) / 1e6 };
  };
  const watcherRun = async (round: number) => {
    const name = `core.bigapp.${round + 1}.host.${1764225000 + round}`;
    const f = fresh(name);
    const mark = watcher!.lines.length;
    const cpu0 = cpuSeconds(pid);
    renameSync(f, join(layout.dir, "bench/pod-big", name));
    const re = name.replace(/\./g, "\\.");
    const capture = await watcher!.waitFor(new RegExp(`capture a file:.*${re}`), 60_000, mark);
    const done = await watcher!.waitFor(new RegExp(`upload done: .*${re}`), 300_000, mark);
    await watcher!.waitFor(new RegExp(`deleted local corefile: .*${re}`), 60_000, mark);
    const cpu = cpuSeconds(pid) - cpu0;
    const key = /key=(\S+)/.exec(done)?.[1];
    if (key) {
      await client.send(new DeleteObjectCommand({ Bucket: "cores", Key: key }));
      await client.send(new DeleteObjectCommand({ Bucket: "cores", Key: sidecarKey(key) }));
    }
    return { ms: logTime(done) - logTime(capture), cpu };
  };

  const bare: { ms: number; cpu: number }[] = [];
  const through: { ms: number; cpu: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // alternating order: neither side always runs on a warmer (or more tired) machine
    const order = round % 2 === 0 ? ["bare", "watcher"] : ["watcher", "bare"];
    for (const side of order) {
      if (side === "bare") bare.push(await bareRun(round));
      else through.push(await watcherRun(round));
    }
    const b = bare.at(-1)!;
    const w = through.at(-1)!;
    console.log(
      `round ${round + 1} (${order.join(" first, ")} second): bare ${fmt(b.ms)} CPU ${b.cpu.toFixed(2)} s | ` +
        `watcher captured -> stored and verified ${fmt(w.ms)} CPU ${w.cpu.toFixed(2)} s | ratio ${(w.ms / b.ms).toFixed(3)} | ${load()}`,
    );
  }
  const rssBig = procStatus(pid, "VmHWM");
  const bareMs = median(bare.map((r) => r.ms));
  const watcherMs = median(through.map((r) => r.ms));
  console.log(
    `median of ${ROUNDS}: bare lib-storage ${fmt(bareMs)} (CPU ${median(bare.map((r) => r.cpu)).toFixed(2)} s), ` +
      `watcher ${fmt(watcherMs)} (CPU ${median(through.map((r) => r.cpu)).toFixed(2)} s)`,
  );
  console.log(
    `watcher peak RSS (VmHWM) after the ${(BIG / GiB).toFixed(2)} GiB cores: ${mib(rssBig)}`,
  );

  // zstd: switch the running watcher's settings (reload without restart).
  const zfile = join(staging, "core.zapp.2.host.1764225001");
  writeRealisticCore(zfile, ZSTD, { comm: "zapp" });
  execFileSync("sync");
  const mark = watcher.lines.length;
  writeFileSync(
    layout.config,
    settingsYaml(s3, "cores", {
      quiet: String(QUIET),
      rescan: "30",
      parallel: "4",
      compression: "zstd",
    }),
  );
  await watcher.waitFor(/settings reloaded/, 30_000, mark);
  mkdirSync(join(layout.dir, "bench/pod-zstd"), { recursive: true });
  renameSync(zfile, join(layout.dir, "bench/pod-zstd/core.zapp.2.host.1764225001"));
  const zc = await watcher.waitFor(/capture a file:.*core\.zapp/, 60_000);
  const zd = await watcher.waitFor(/upload done: .*core\.zapp/, 120_000);
  const stored = Number(/storedBytes=(\d+)/.exec(zd)?.[1]);
  console.log(
    `watcher zstd: ${ZSTD} bytes (realistic: half fresh random) compressed to ${stored} (${((100 * stored) / ZSTD).toFixed(1)}%) and stored, verified: ${fmt(logTime(zd) - logTime(zc))} | ${load()}`,
  );
  writeFileSync(
    layout.config,
    settingsYaml(s3, "cores", { quiet: String(QUIET), rescan: "30", parallel: "4" }),
  );
  await watcher.waitFor(/settings reloaded/, 30_000, watcher.lines.length);

  // 500 small cores across 100 pods, all at once: each pod directory appears with its files already inside.
  const block = coreBlock(7);
  const manyStage = join(staging, "many");
  mkdirSync(manyStage);
  for (let p = 0; p < PODS; p++) {
    mkdirSync(join(manyStage, `pod-${p}`));
    for (let i = 0; i < MANY / PODS; i++)
      writeCore(join(manyStage, `pod-${p}`, `core.small.${i}`), SMALL, { comm: "small" }, block);
  }
  mkdirSync(join(layout.dir, "many"));
  const before = watcher.lines.length;
  const s3pid = children[0]!.pid!;
  const manyCpu0 = { watcher: cpuSeconds(pid), s3: cpuSeconds(s3pid) };
  t = Date.now();
  for (let p = 0; p < PODS; p++)
    renameSync(join(manyStage, `pod-${p}`), join(layout.dir, "many", `pod-${p}`));
  const lastComplete = Date.now();
  const deadline = Date.now() + 120_000;
  while (
    watcher.lines.slice(before).filter((l) => /deleted local corefile: .*\/many\//.test(l)).length <
    MANY
  ) {
    if (Date.now() > deadline) throw new Error("500 cores were not all stored in 120 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  const manyCpu = {
    watcher: cpuSeconds(pid) - manyCpu0.watcher,
    s3: cpuSeconds(s3pid) - manyCpu0.s3,
  };
  const uploads = watcher.lines.slice(before).filter((l) => /upload done: .*\/many\//.test(l));
  const lastUpload = Math.max(...uploads.map(logTime));
  let count = 0;
  let sidecars = 0;
  let token: string | undefined;
  do {
    const r = await client.send(
      new ListObjectsV2Command({
        Bucket: "cores",
        Prefix: "corefiles/many/",
        ContinuationToken: token,
      }),
    );
    for (const o of r.Contents ?? []) {
      if (isSidecarKey(o.Key!)) sidecars++;
      else count++;
    }
    token = r.NextContinuationToken;
  } while (token);
  const left = readdirSync(join(layout.dir, "many"), { recursive: true }).filter((f) =>
    String(f).includes("core."),
  ).length;
  console.log(
    `500 cores x ${SMALL / 1024} KiB in ${PODS} pods: ${count} cores and ${sidecars} sidecars stored, ${left} left on disk; ` +
      `last completion -> last verified upload ${fmt(lastUpload - lastComplete)} (includes the ${QUIET} s quiet time); ` +
      `all ${MANY} in ${fmt(lastUpload - t)}; CPU watcher ${manyCpu.watcher.toFixed(2)} s, s3rver ${manyCpu.s3.toFixed(2)} s | ${load()}`,
  );
  const rss = procStatus(pid, "VmHWM");
  await watcher.stop();
  console.log(`watcher RSS: idle ${mib(idleRss)}, peak (VmHWM) over the whole run ${mib(rss)}`);
  console.log(`total bench time ${fmt(Date.now() - t0)}, end: ${load()}`);
  console.log(
    `watcher ${(BIG / GiB).toFixed(2)} GiB (median of ${ROUNDS}): ${fmt(watcherMs)}  bare lib-storage: ${fmt(bareMs)}`,
  );
  console.log(`watcher/bare upload time ratio: ${(watcherMs / bareMs).toFixed(3)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
