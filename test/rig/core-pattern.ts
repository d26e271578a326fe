// kernel.core_pattern for rigs that need real core dumps: set to CORE_PATTERN while at least one rig (in any
// process of this machine) holds it, and the value found before restored when the last live holder leaves,
// on every exit path. A detached watchdog restores it even when the holding process is SIGKILLed.
import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CORE_PATTERN, CORE_PATTERN_FILE } from "../../src/names.js";
import { onExitSync } from "./node/exit-hooks.js";
import { Registry, withLockSync } from "./node/holds.js";

const REGISTRY = "core-pattern";
const SUBJECT = "kernel";
const registry = new Registry(REGISTRY);

function readPattern(): string {
  return readFileSync(CORE_PATTERN_FILE, "utf8").replace(/\n$/, "");
}

function writePattern(value: string): void {
  writeFileSync(CORE_PATTERN_FILE, `${value}\n`);
}

/** Why this machine cannot produce real core dumps for the rig, if it cannot. */
export function canDumpCores(): { ok: boolean; why?: string } {
  if (process.getuid?.() !== 0)
    return { ok: false, why: "not root (core_pattern and mount namespaces need root)" };
  try {
    accessSync(CORE_PATTERN_FILE, constants.W_OK);
  } catch (err) {
    return { ok: false, why: `${CORE_PATTERN_FILE} is not writable: ${(err as Error).message}` };
  }
  const u = spawnSync("unshare", ["--mount", "--propagation", "private", "true"], {
    stdio: "ignore",
  });
  if (u.error || u.status !== 0) {
    return {
      ok: false,
      why: `unshare --mount does not work here: ${u.error?.message ?? `exit ${u.status}`}`,
    };
  }
  const hard = spawnSync("/bin/sh", ["-c", "ulimit -Hc"], { encoding: "utf8" });
  const limit = hard.stdout?.trim();
  if (limit !== "unlimited" && !(Number(limit) > 0)) {
    return { ok: false, why: `the hard RLIMIT_CORE is ${limit}: processes cannot raise ulimit -c` };
  }
  return { ok: true };
}

/** The kernel value, the live holders (process keys) and the value to restore, read consistently under the lock. */
export function corePatternState(): { value: string; holders: string[]; original: string | null } {
  return withLockSync(REGISTRY, () => ({
    value: readPattern(),
    holders: registry.holders(SUBJECT),
    original: registry.getData(SUBJECT, "original"),
  }));
}

/**
 * Prunes holders of dead processes and, when no live holder is left, restores the saved value. Safe to call at
 * any time from any process; the watchdog calls it after its rig process died.
 */
export function gcCorePattern(): void {
  withLockSync(REGISTRY, () => {
    if (registry.holders(SUBJECT).length > 0) return;
    const original = registry.getData(SUBJECT, "original");
    if (original !== null) {
      if (readPattern() === CORE_PATTERN) writePattern(original);
      registry.clear(SUBJECT);
    }
  });
}

function startWatchdog(): number | undefined {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const self = fileURLToPath(import.meta.url);
  const tsx = join(root, "node_modules", "tsx", "dist", "loader.mjs");
  if (!existsSync(tsx)) return undefined;
  const script =
    'while kill -0 "$1" 2>/dev/null; do sleep 0.5; done; exec "$2" --import "$3" "$4" gc >/dev/null 2>&1';
  const child = spawn(
    "/bin/sh",
    ["-c", script, "sh", String(process.pid), process.execPath, tsx, self],
    {
      detached: true,
      stdio: "ignore",
      cwd: root,
    },
  );
  child.unref();
  return child.pid;
}

/** Sets core_pattern for this caller; the returned function releases it (idempotent). */
export async function acquireCorePattern(): Promise<() => Promise<void>> {
  const why = canDumpCores();
  if (!why.ok) throw new Error(`rig: cannot set core_pattern: ${why.why}`);
  const id = withLockSync(REGISTRY, () => {
    const live = registry.holders(SUBJECT);
    const saved = registry.getData(SUBJECT, "original");
    if (live.length === 0 && saved === null) {
      const current = readPattern();
      registry.setData(SUBJECT, "original", current === CORE_PATTERN ? "core" : current);
    }
    // A saved value with no live holders is left over from a killed rig: keep it as the value to restore.
    const holder = registry.add(SUBJECT);
    if (readPattern() !== CORE_PATTERN) writePattern(CORE_PATTERN);
    return holder;
  });
  const watchdog = startWatchdog();
  let released = false;
  const releaseSync = (): void => {
    if (released) return;
    released = true;
    unhook();
    withLockSync(REGISTRY, () => {
      registry.remove(SUBJECT, id);
      if (registry.holders(SUBJECT).length > 0) return;
      const original = registry.getData(SUBJECT, "original");
      if (original !== null && readPattern() === CORE_PATTERN) writePattern(original);
      registry.clear(SUBJECT);
    });
    if (watchdog !== undefined) {
      try {
        process.kill(-watchdog, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  };
  const unhook = onExitSync(releaseSync);
  return async () => releaseSync();
}

if (
  process.argv[2] === "gc" &&
  process.argv[1] &&
  fileURLToPath(import.meta.url) === process.argv[1]
) {
  gcCorePattern();
}
