// A cgroup (v2) per container, as a container runtime has: it holds every process the container starts, so
// `cgroup.kill` ends them all (a shell's background children included), and a detached watchdog kills what is
// left when this process dies without cleaning up (SIGKILL). Without a writable cgroup2 hierarchy, containers
// still run; only process groups and PR_SET_PDEATHSIG then bound their lifetime.
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { keyAlive, processKey } from "./holds.js";

let root: string | null | undefined;
let watchdogStarted = false;
let seq = 0;

function cgroup2Mount(): string | null {
  try {
    for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
      const [pre, post] = line.split(" - ");
      if (post?.startsWith("cgroup2 ")) return pre!.split(" ")[4] ?? null;
    }
  } catch {
    /* no /proc */
  }
  return null;
}

/** <cgroup2>/coredog-rig, or null when it cannot be used here. */
function rigRoot(): string | null {
  if (root !== undefined) return root;
  root = null;
  const mnt = cgroup2Mount();
  if (!mnt) return null;
  const dir = join(mnt, "coredog-rig");
  try {
    mkdirSync(dir, { recursive: true });
    gcDead(dir);
    root = dir;
  } catch {
    root = null;
  }
  return root;
}

function killAndRemove(cg: string): boolean {
  try {
    writeFileSync(join(cg, "cgroup.kill"), "1");
  } catch {
    /* gone */
  }
  try {
    rmdirSync(cg);
    return true;
  } catch {
    return false; // processes still exiting
  }
}

/** Kills and removes the cgroups of rig processes that died without cleaning up. */
function gcDead(dir: string): void {
  for (const owner of readdirSync(dir)) {
    if (keyAlive(owner)) continue;
    const od = join(dir, owner);
    try {
      for (const c of readdirSync(od, { withFileTypes: true }))
        if (c.isDirectory()) killAndRemove(join(od, c.name));
      rmdirSync(od);
    } catch {
      /* retried by the next caller */
    }
  }
}

function startWatchdog(ownerDir: string): void {
  if (watchdogStarted) return;
  watchdogStarted = true;
  const script = `
while kill -0 "$1" 2>/dev/null; do sleep 0.5; done
for i in 1 2 3 4 5 6 7 8 9 10; do
  for cg in "$2"/*/; do [ -d "$cg" ] && { echo 1 > "$cg/cgroup.kill"; rmdir "$cg"; }; done 2>/dev/null
  rmdir "$2" 2>/dev/null && exit 0
  sleep 0.3
done`;
  const child = spawn(
    "/bin/sh",
    ["-c", script, "rig-cgroup-watchdog", String(process.pid), ownerDir],
    {
      detached: true,
      stdio: "ignore",
    },
  );
  child.unref();
}

export interface ContainerCgroup {
  path: string;
  /** Kills every process in it (synchronous). */
  kill(): void;
  /** Kills and removes it; retries briefly while processes exit. */
  remove(): Promise<void>;
  /** Best effort, synchronous (exit hooks). */
  removeSync(): void;
}

/** A new cgroup for one container, or null when cgroups are not usable here. */
export function createContainerCgroup(): ContainerCgroup | null {
  const base = rigRoot();
  const owner = processKey();
  if (!base || !owner) return null;
  const ownerDir = join(base, owner);
  const path = join(ownerDir, `c${++seq}-${Date.now().toString(36)}`);
  try {
    mkdirSync(path, { recursive: true });
  } catch {
    return null;
  }
  startWatchdog(ownerDir);
  const kill = (): void => {
    try {
      writeFileSync(join(path, "cgroup.kill"), "1");
    } catch {
      /* already removed */
    }
  };
  return {
    path,
    kill,
    removeSync: () => void killAndRemove(path),
    async remove() {
      for (let i = 0; i < 50; i++) {
        if (killAndRemove(path)) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}
