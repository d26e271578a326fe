// `npm run bench:watcher`: the watcher (the real program, as a process) against a bare lib-storage upload.
// 1. a 2 GiB core from the node directory to S3 through the watcher vs the same file uploaded by lib-storage alone
//    (same server, same part size and queue); the watcher's peak RSS (VmHWM);
// 2. with zstd on: 512 MiB compressed and stored;
// 3. 500 cores of 256 KiB across 100 pod directories at once: all stored, time from the last completion to its upload.
// s3rver runs as its own process so that neither side shares an event loop with it. Last line: the ratio.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DeleteObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { QUEUE_SIZE, partSizeFor } from "../../controller/watcher/store.js";
import { coreBlock, writeCore } from "../unit/watcher/corefixture.js";
import {
  bundleWatcher,
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
const MANY = 500;
const PODS = 100;
const SMALL = 256 * 1024;
const QUIET = 0.5;

const children: ChildProcess[] = [];
let watcher: WatcherProc | undefined;
let bundle: string | undefined;
let nodeRoot: string | undefined;
const root = mkdtempSync(join(tmpdir(), "coredog-bench-watcher-"));

function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  if (watcher && watcher.proc.exitCode === null) watcher.proc.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
  if (bundle) rmSync(bundle, { force: true });
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

function logTime(line: string): number {
  const m = /time=(\S+)/.exec(line) ?? /"time":"([^"]+)"/.exec(line);
  return Date.parse(m![1]!);
}

/** user + system CPU seconds of a process so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function vmHWM(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) * 1024;
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main() {
  const t0 = Date.now();
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
  const big = join(staging, "core.bigapp.1.host.1764225000");
  const block = coreBlock(7);
  let t = Date.now();
  writeCore(big, BIG, { comm: "bigapp" }, block);
  console.log(
    `generated ${BIG} bytes in ${fmt(Date.now() - t)} (1 MiB blocks: 512 KiB random + 512 KiB zeros)`,
  );

  // Both runs start from the same state: no dirty pages waiting for write-back (s3rver writes every byte twice,
  // parts then the object), the previous 2 GiB object deleted, the source file in the page cache.
  execFileSync("sync");
  // Baseline: lib-storage alone, same part size and queue as the watcher.
  t = performance.now();
  const cpu0 = process.cpuUsage();
  await new Upload({
    client,
    queueSize: QUEUE_SIZE,
    partSize: partSizeFor(BIG),
    params: {
      Bucket: "cores",
      Key: "bare/core.big",
      Body: createReadStream(big, { highWaterMark: MiB }),
    },
  }).done();
  const bare = performance.now() - t;
  const bareCpu = process.cpuUsage(cpu0);
  console.log(
    `bare lib-storage upload of ${BIG} bytes: ${fmt(bare)} (CPU ${((bareCpu.user + bareCpu.system) / 1e6).toFixed(2)} s)`,
  );

  await client.send(new DeleteObjectCommand({ Bucket: "cores", Key: "bare/core.big" }));
  execFileSync("sync");
  bundle = await bundleWatcher();
  watcher = startWatcherProc(
    layout,
    settingsYaml(s3, "cores", { quiet: String(QUIET), rescan: "30", parallel: "4" }),
    {
      bundle,
      nodeArgs: process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(" ") : [],
    },
  );
  await watcher.waitFor(/initial scan/, 60_000);
  const pid = watcher.proc.pid!;
  mkdirSync(join(layout.dir, "bench/pod-big"), { recursive: true });
  const wcpu0 = cpuSeconds(pid);
  const placed = Date.now();
  renameSync(big, join(layout.dir, "bench/pod-big/core.bigapp.1.host.1764225000"));
  const capture = await watcher.waitFor(/capture a file:.*core\.bigapp/, 60_000);
  const done = await watcher.waitFor(/upload done: .*core\.bigapp/, 300_000);
  await watcher.waitFor(/deleted local corefile: .*core\.bigapp/, 60_000);
  const through = logTime(done) - logTime(capture);
  const watcherCpu = cpuSeconds(pid) - wcpu0;
  console.log(
    `watcher: ${BIG} bytes captured -> stored and verified: ${fmt(through)} ` +
      `(placed -> verified ${fmt(logTime(done) - placed)}, including the ${QUIET} s quiet time; ` +
      `CPU ${watcherCpu.toFixed(2)} s)`,
  );
  const rssBig = vmHWM(pid);
  console.log(
    `watcher peak RSS (VmHWM) after the ${(BIG / GiB).toFixed(2)} GiB core: ${(rssBig / MiB).toFixed(1)} MiB`,
  );

  // zstd: switch the running watcher's settings (reload without restart).
  const zfile = join(staging, "core.zapp.2.host.1764225001");
  writeCore(zfile, ZSTD, { comm: "zapp" }, block);
  const mark = watcher.lines.length;
  const { writeFileSync } = await import("node:fs");
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
    `watcher zstd: ${ZSTD} bytes compressed to ${stored} and stored, verified: ${fmt(logTime(zd) - logTime(zc))}`,
  );
  writeFileSync(
    layout.config,
    settingsYaml(s3, "cores", { quiet: String(QUIET), rescan: "30", parallel: "4" }),
  );
  await watcher.waitFor(/settings reloaded/, 30_000, watcher.lines.length);

  // 500 small cores across 100 pods, all at once: each pod directory appears with its files already inside.
  const manyStage = join(staging, "many");
  mkdirSync(manyStage);
  for (let p = 0; p < PODS; p++) {
    mkdirSync(join(manyStage, `pod-${p}`));
    for (let i = 0; i < MANY / PODS; i++)
      writeCore(join(manyStage, `pod-${p}`, `core.small.${i}`), SMALL, { comm: "small" }, block);
  }
  mkdirSync(join(layout.dir, "many"));
  const before = watcher.lines.length;
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
  const uploads = watcher.lines.slice(before).filter((l) => /upload done: .*\/many\//.test(l));
  const lastUpload = Math.max(...uploads.map(logTime));
  let count = 0;
  let token: string | undefined;
  do {
    const r = await client.send(
      new ListObjectsV2Command({
        Bucket: "cores",
        Prefix: "corefiles/many/",
        ContinuationToken: token,
      }),
    );
    count += r.KeyCount ?? 0;
    token = r.NextContinuationToken;
  } while (token);
  const left = readdirSync(join(layout.dir, "many"), { recursive: true }).filter((f) =>
    String(f).includes("core."),
  ).length;
  console.log(
    `500 cores x ${SMALL / 1024} KiB in ${PODS} pods: ${count} objects stored, ${left} left on disk; ` +
      `last completion -> last verified upload ${fmt(lastUpload - lastComplete)} (includes the ${QUIET} s quiet time); ` +
      `all ${MANY} in ${fmt(lastUpload - t)}`,
  );
  const rss = vmHWM(pid);
  await watcher.stop();
  console.log(`watcher peak RSS (VmHWM) over the whole run: ${(rss / MiB).toFixed(1)} MiB`);
  console.log(`total bench time ${fmt(Date.now() - t0)}`);
  console.log(
    `watcher ${(BIG / GiB).toFixed(2)} GiB: ${fmt(through)}  bare lib-storage: ${fmt(bare)}`,
  );
  console.log(`watcher/bare upload time ratio: ${(through / bare).toFixed(3)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
