// Cross-process bookkeeping under /tmp for host-wide state several rigs share at once (kernel.core_pattern,
// mount-point directories on the shared "/", loopback subnets). Everything here is synchronous on purpose:
// critical sections are a few fs calls, and release must also work inside a process 'exit' handler.
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";

export const HOLDS_ROOT = "/tmp/coredog-rig-holds";

/** A process identity that survives PID reuse: "<pid>-<starttime in clock ticks>". */
export function processKey(pid: number = process.pid): string | null {
  const start = processStart(pid);
  return start === null ? null : `${pid}-${start}`;
}

function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may contain spaces and parentheses: split after its last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return rest[19] ?? null; // field 22 overall
  } catch {
    return null;
  }
}

/** Is the process that wrote `key` (see processKey) still alive? */
export function keyAlive(key: string): boolean {
  const m = /^(\d+)-(\d+)/.exec(key);
  if (!m) return false;
  return processStart(Number(m[1])) === m[2];
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs fn while holding an exclusive lock shared by all processes of this machine. */
export function withLockSync<T>(name: string, fn: () => T): T {
  mkdirSync(HOLDS_ROOT, { recursive: true });
  const lock = join(HOLDS_ROOT, `${name}.lock`);
  const me = processKey() ?? `${process.pid}-0`;
  const tmp = join(HOLDS_ROOT, `${name}.lock.${me}.${Math.random().toString(36).slice(2)}`);
  const fd = openSync(tmp, "w");
  writeSync(fd, me);
  closeSync(fd);
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      try {
        linkSync(tmp, lock); // atomic: fails with EEXIST while someone holds it
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        let owner = "";
        try {
          owner = readFileSync(lock, "utf8");
        } catch {
          continue; // released meanwhile
        }
        if (!keyAlive(owner)) {
          try {
            unlinkSync(lock); // its owner died inside the critical section
          } catch {
            /* someone else removed it */
          }
          continue;
        }
        if (Date.now() > deadline)
          throw new Error(`rig: lock ${lock} held by ${owner} for 30 s`, { cause: err });
        sleepSync(5);
      }
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * A named registry of holders: one file per holder under HOLDS_ROOT/<registry>/<subject>/, named after the holder's
 * process key, so holders of dead processes are ignored (and pruned). Call inside withLockSync(registry).
 */
export class Registry {
  constructor(readonly name: string) {}

  dir(subject: string): string {
    return join(HOLDS_ROOT, this.name, encodeURIComponent(subject));
  }

  /** Live holders of subject (prunes dead ones). */
  holders(subject: string): string[] {
    const dir = this.dir(subject);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    const live: string[] = [];
    for (const n of names) {
      if (!n.startsWith("h.")) continue;
      if (keyAlive(n.slice(2))) live.push(n.slice(2));
      else rmSync(join(dir, n), { force: true });
    }
    return live;
  }

  subjects(): string[] {
    try {
      return readdirSync(join(HOLDS_ROOT, this.name)).map((s) => decodeURIComponent(s));
    } catch {
      return [];
    }
  }

  /** Adds a holder; returns its id (unique within this process). */
  add(subject: string, data = ""): string {
    const id = `${processKey() ?? process.pid}-${holderSeq++}`;
    mkdirSync(this.dir(subject), { recursive: true });
    const fd = openSync(join(this.dir(subject), `h.${id}`), "w");
    writeSync(fd, data);
    closeSync(fd);
    return id;
  }

  remove(subject: string, id: string): void {
    rmSync(join(this.dir(subject), `h.${id}`), { force: true });
  }

  /** Subject-wide data (e.g. the value to restore), kept until clear(). */
  getData(subject: string, key: string): string | null {
    try {
      return readFileSync(join(this.dir(subject), `d.${key}`), "utf8");
    } catch {
      return null;
    }
  }

  setData(subject: string, key: string, value: string): void {
    mkdirSync(this.dir(subject), { recursive: true });
    const fd = openSync(join(this.dir(subject), `d.${key}`), "w");
    writeSync(fd, value);
    closeSync(fd);
  }

  clear(subject: string): void {
    rmSync(this.dir(subject), { recursive: true, force: true });
  }
}

let holderSeq = 0;
