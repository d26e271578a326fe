// Real crashes for the crash report tests: programs crashed in a private mount namespace whose /corefile
// is a temporary directory, with kernel.core_pattern held through the rig's reference count; and gdb's
// and eu-unstrip's reading of the cores they leave, the judges the report is compared with.
import { spawnSync } from "node:child_process";
import { closeSync, openSync, readdirSync, readSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ReadFn } from "../../../../src/elf-core.js";
import { acquireCorePattern, canDumpCores } from "../../../rig/core-pattern.js";
import { acquireMountPoint } from "../../../rig/node/mount-points.js";

export const FIXTURES = join(import.meta.dirname, "../../../fixtures/crash");

export function coreDumpsPossible(): { ok: boolean; why?: string } {
  return canDumpCores();
}

/** Holds core_pattern and the /corefile mount point until the returned function is called. */
export async function holdCoreDumps(): Promise<() => Promise<void>> {
  const releasePattern = await acquireCorePattern();
  const releaseMount = acquireMountPoint("/corefile");
  return async () => {
    releaseMount();
    await releasePattern();
  };
}

/** Runs argv until it dies with a core in `dir`; returns the core's path. */
export function crash(dir: string, argv: string[], env: Record<string, string> = {}): string {
  const before = new Set(readdirSync(dir));
  const r = spawnSync(
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "/bin/sh",
      "-c",
      'mount --bind "$0" /corefile && ulimit -c unlimited && exec "$@"',
      dir,
      ...argv,
    ],
    { env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 },
  );
  const cores = readdirSync(dir).filter((f) => f.startsWith("core.") && !before.has(f));
  if (cores.length !== 1)
    throw new Error(
      `${argv.join(" ")} left ${cores.length} cores (status ${r.status}, signal ${r.signal}): ${r.stderr}`,
    );
  return join(dir, cores[0]!);
}

export interface GdbFrame {
  pc: number;
  solib: string | null;
  inline: boolean;
  name: string | null;
}
export interface GdbReading {
  signo?: number;
  code?: number;
  addr?: number;
  frames: GdbFrame[];
  tid: number;
  exe: string;
  /** The crashing thread's registers (decimal strings), as gdb reads them from the core. */
  regs: Record<string, string>;
  threads: { tid: number; pc: number }[];
}

export function gdbRead(exe: string, core: string): GdbReading {
  const r = spawnSync(
    "gdb",
    [
      "-batch",
      "-nx",
      "-iex",
      "set debuginfod enabled off",
      "-ex",
      "set pagination off",
      "-ex",
      "set backtrace past-main on",
      "-x",
      join(FIXTURES, "gdbreport.py"),
      exe,
      core,
    ],
    { encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
  );
  const line = r.stdout.split("\n").find((l) => l.startsWith("GDBJSON:"));
  if (!line) throw new Error(`gdb gave no reading of ${core}: ${r.stderr}`);
  return JSON.parse(line.slice("GDBJSON:".length)) as GdbReading;
}

/** eu-unstrip -n --core: module start address → build-id (hex), for modules that have one. */
export function euUnstrip(core: string): Map<bigint, { buildId: string; name: string }> {
  const r = spawnSync("eu-unstrip", ["-n", "--core", core], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`eu-unstrip failed: ${r.stderr}`);
  const out = new Map<bigint, { buildId: string; name: string }>();
  for (const line of r.stdout.trim().split("\n")) {
    const cols = line.split(/\s+/);
    const m = /^0x([0-9a-f]+)\+/.exec(cols[0] ?? "");
    const id = (cols[1] ?? "").split("@")[0];
    if (!m || !id || id === "-") continue;
    out.set(BigInt(`0x${m[1]}`), { buildId: id, name: cols[cols.length - 1] ?? "" });
  }
  return out;
}

export function realpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** A ReadFn over a file, counting the bytes it returned. */
export function fileReader(path: string): {
  read: ReadFn;
  size: number;
  bytes: () => number;
  close: () => void;
} {
  const fd = openSync(path, "r");
  let bytes = 0;
  return {
    size: statSync(path).size,
    bytes: () => bytes,
    close: () => closeSync(fd),
    read: async (offset, length) => {
      const b = Buffer.alloc(length);
      const n = readSync(fd, b, 0, length, offset);
      bytes += n;
      return b.subarray(0, n);
    },
  };
}
