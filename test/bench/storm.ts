// `npm run bench:storm`: what a crash storm costs the watcher (the real program, as a process, against the rig's S3).
// Per round: 1. STORED cores of different crashes, all stored: the watcher's CPU seconds per stored core;
// 2. a storm of SKIP cores of one crash (Limits.perFingerprint max 2): 2 stored, the rest skipped: CPU seconds per
//    skipped core, and the bytes under the node directory sampled every 20 ms against Limits.maxUse;
// 3. the baseline: the same storm with the limits off, every core stored: CPU seconds per core.
// A core every BENCH_STORM_PACE_MS (1000 ms: the issue's storm, a core every 2 s, at twice its pace).
// Medians over BENCH_ROUNDS rounds; the last line is the storm's peak disk over MaxUse (at most 1.0).
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { startS3 } from "../rig/s3.js";
import { writeRealisticCore } from "../unit/watcher/core-fixture.js";
import {
  bundleWatcher,
  makeLayout,
  settingsYaml,
  startWatcherProc,
  type Layout,
  type WatcherProc,
} from "../unit/watcher/harness.js";

const MiB = 1024 ** 2;
const SIZE = Number(process.env.BENCH_STORM_CORE_BYTES ?? 16 * MiB);
const STORED = 8;
const SKIP = 24;
const MAX = 2;
const MAX_USE = 4 * SIZE;
const PACE_MS = Number(process.env.BENCH_STORM_PACE_MS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

function bytesUnder(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || e.parentPath.includes(".coredog")) continue;
    try {
      n += statSync(join(e.parentPath, e.name)).size;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  console.log(
    `start: load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")} (2 CPUs shared)`,
  );
  const s3 = await startS3();
  const bundle = await bundleWatcher();
  const staging = makeLayout("coredog-bench-storm-staging-");
  // One master per crash: realistic bytes (random, zeros, structure), ELF notes naming the executable.
  const masters = new Map<string, string>();
  const master = (comm: string) => {
    let p = masters.get(comm);
    if (!p) {
      p = join(staging.root, `${comm}.core`);
      writeRealisticCore(p, SIZE, { comm, signal: 11 });
      masters.set(comm, p);
    }
    return p;
  };
  let seq = 0;
  /** A complete core appears in the pod's directory at once (copied beside it, then renamed in). */
  const drop = (l: Layout, pod: string, comm: string) => {
    const dir = join(l.dir, "shop", pod, "app");
    mkdirSync(dir, { recursive: true });
    const tmp = join(l.root, `tmp-${++seq}`);
    copyFileSync(master(comm), tmp);
    renameSync(tmp, join(dir, `core.${comm}.${1000 + seq}.node.${seq}`));
  };

  const run = async (limits: boolean, bucket: string) => {
    await s3.createBucket(bucket);
    const l = makeLayout("coredog-bench-storm-");
    const yaml = `${settingsYaml(s3, bucket, { quiet: "0.2", rescan: "30", parallel: "2" })}Limits:\n${
      limits
        ? `  perFingerprint: { max: ${MAX}, window: 1h }\n  maxUse: ${MAX_USE}\n  keepFree: off\n`
        : "  perFingerprint: { max: 1000000, window: 1h }\n  maxUse: off\n  keepFree: off\n  maxCoreSize: off\n"
    }`;
    const w: WatcherProc = startWatcherProc(l, yaml, { bundle });
    try {
      await w.waitFor(/initial scan/, 60_000);
      const pid = w.proc.pid!;
      const settle = async (done: () => boolean) => {
        const end = Date.now() + 120_000;
        while (!done()) {
          if (Date.now() > end) throw new Error("the watcher did not finish in 120 s");
          await sleep(50);
        }
        await sleep(300);
      };
      // 1. different crashes, all stored
      let cpu0 = cpuSeconds(pid);
      for (let i = 0; i < STORED; i++) {
        drop(l, "api-1", `svc${i}`);
        await sleep(PACE_MS);
      }
      await settle(() => w.count(/upload done/) === STORED);
      const perStored = (cpuSeconds(pid) - cpu0) / STORED;
      // 2. the storm: one crash
      let peak = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, bytesUnder(l.dir));
          await sleep(20);
        }
      })();
      cpu0 = cpuSeconds(pid);
      for (let i = 0; i < SKIP; i++) {
        drop(l, "api-2", "looper");
        await sleep(PACE_MS);
      }
      // every storm core stored, skipped, or deleted to keep MaxUse (room for the loop's next core)
      await settle(
        () =>
          w.count(/upload done/) -
            STORED +
            w.count(/core skipped \(limit rate\)/) +
            w.count(/deleted from the node \(limit/) >=
            SKIP && bytesUnder(l.dir) === 0,
      );
      const skippedN = w.count(/core skipped \(limit rate\)/);
      sampling = false;
      await sampler;
      const cpu = cpuSeconds(pid) - cpu0;
      // the storm's stored cores cost what stored cores cost; the rest is the skipped cores'
      const storedN = w.count(/upload done/) - STORED;
      const perSkipped = limits
        ? (cpu - storedN * perStored) / Math.max(1, SKIP - storedN)
        : cpu / SKIP;
      if (limits && skippedN < SKIP - MAX - 2) throw new Error(`only ${skippedN} cores skipped`);
      return { perStored, perSkipped, peak };
    } finally {
      await w.stop();
      rmSync(l.root, { recursive: true, force: true });
    }
  };

  const stored: number[] = [];
  const skipped: number[] = [];
  const baseline: number[] = [];
  const peaks: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const a = await run(true, `storm-${r}`);
    const b = await run(false, `baseline-${r}`);
    stored.push(a.perStored);
    skipped.push(a.perSkipped);
    peaks.push(a.peak);
    baseline.push(b.perSkipped);
    console.log(
      `round ${r + 1}: CPU s per stored core ${a.perStored.toFixed(4)}, per skipped core ${a.perSkipped.toFixed(4)}; limits off, per storm core ${b.perSkipped.toFixed(4)}; peak disk ${(a.peak / MiB).toFixed(1)} MiB of MaxUse ${(MAX_USE / MiB).toFixed(0)} MiB (limits off: ${(b.peak / MiB).toFixed(1)} MiB)`,
    );
  }
  await s3.stop();
  rmSync(staging.root, { recursive: true, force: true });
  rmSync(bundle, { force: true });
  const ms = (x: number) => `${x.toFixed(4)} s`;
  console.log(
    `cores of ${(SIZE / MiB).toFixed(0)} MiB, one every ${PACE_MS} ms, ${ROUNDS} rounds, medians: watcher CPU per stored core ${ms(median(stored))}, per skipped core ${ms(median(skipped))} (skipped/stored ${(median(skipped) / median(stored)).toFixed(2)}); baseline (limits off, the storm stored): ${ms(median(baseline))} per core (skipped/baseline ${(median(skipped) / median(baseline)).toFixed(2)})`,
  );
  console.log(`storm peak disk / MaxUse: ${(Math.max(...peaks) / MAX_USE).toFixed(2)}`);
}

await main();
