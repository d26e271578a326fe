// Who may still be writing a core. The kernel writes a core through a file it opens itself, in no process's
// descriptor table, but while it does so the dumping process's /proc/<pid>/status says `CoreDumping: 1`, and its
// NSpid line gives the pid that `%p` put in the file name (the pid in the crashing container's namespace).
// A process writing a core file itself (gdb's gcore, a copy) shows in /proc/<pid>/fd. One walk of /proc answers
// for every file waiting at that moment; walks requested while one runs are served by the next one, so an answer
// is never older than the question.
import { readFile, readdir, readlink, stat } from "node:fs/promises";
import { basename } from "node:path";

export interface WriterQuery {
  path: string;
  dev: number;
  ino: number;
  /** `%p` from the file name; undefined when the name has none (then any dumping process may be the writer). */
  pid?: number;
}

export interface Dumper {
  /** Host pid. */
  pid: number;
  /** Soft RLIMIT_CORE in bytes; undefined when unlimited or unreadable. */
  coreLimit?: number;
}

export interface WriterAnswer {
  /** Processes holding the file open (host pids). */
  holders: number[];
  /** Processes the kernel is dumping whose pid matches the file name. */
  dumpers: Dumper[];
  /**
   * True when every process's descriptors could be read, so "no holder" means none. False when some could not
   * (no CAP_SYS_PTRACE for other users' processes): a process writing the file itself may be unseen.
   */
  complete: boolean;
}

export interface WriterFinder {
  find(q: WriterQuery): Promise<WriterAnswer>;
}

interface Batch {
  queries: { q: WriterQuery; resolve: (a: WriterAnswer) => void; reject: (e: Error) => void }[];
}

const CONCURRENCY = 16;

/** True when /proc shows the host's processes (pid 2 is kthreadd only in the initial pid namespace). */
export async function seesHostProcesses(procRoot = "/proc"): Promise<boolean> {
  const s = await readFile(`${procRoot}/2/status`, "utf8").catch(() => "");
  return /^Name:\s+kthreadd$/m.test(s);
}

function field(status: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status);
  return m?.[1];
}

async function coreLimit(procRoot: string, pid: number): Promise<number | undefined> {
  const limits = await readFile(`${procRoot}/${pid}/limits`, "utf8").catch(() => "");
  const m = /^Max core file size\s+(\S+)/m.exec(limits);
  if (!m || m[1] === "unlimited") return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : undefined;
}

export class ProcWriterFinder implements WriterFinder {
  private running: Promise<void> | undefined;
  private next: Batch | undefined;

  constructor(private readonly procRoot = "/proc") {}

  find(q: WriterQuery): Promise<WriterAnswer> {
    return new Promise((resolve, reject) => {
      this.next ??= { queries: [] };
      this.next.queries.push({ q, resolve, reject });
      if (!this.running) this.startNext();
    });
  }

  private startNext(): void {
    const batch = this.next;
    this.next = undefined;
    if (!batch) return;
    this.running = this.walk(batch)
      .catch((err: unknown) => {
        for (const { reject } of batch.queries) reject(err as Error);
      })
      .finally(() => {
        this.running = undefined;
        this.startNext();
      });
  }

  private async walk(batch: Batch): Promise<void> {
    const answers = batch.queries.map(() => ({
      holders: [] as number[],
      dumpers: [] as Dumper[],
      complete: true,
    }));
    const byName = new Map<string, number[]>();
    batch.queries.forEach(({ q }, i) => {
      const name = basename(q.path);
      byName.set(name, [...(byName.get(name) ?? []), i]);
    });
    const pids = (await readdir(this.procRoot))
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .filter((p) => p !== process.pid);
    let incomplete = false;

    const one = async (pid: number): Promise<void> => {
      const status = await readFile(`${this.procRoot}/${pid}/status`, "utf8").catch(() => "");
      if (field(status, "CoreDumping") === "1") {
        const nspids = (field(status, "NSpid") ?? String(pid)).trim().split(/\s+/).map(Number);
        const inner = nspids[nspids.length - 1];
        const matching = batch.queries
          .map(({ q }, i) => (q.pid === undefined || q.pid === inner ? i : -1))
          .filter((i) => i >= 0);
        if (matching.length > 0) {
          const limit = await coreLimit(this.procRoot, pid);
          for (const i of matching)
            answers[i]!.dumpers.push({ pid, ...(limit !== undefined ? { coreLimit: limit } : {}) });
        }
      }
      let fds: string[];
      try {
        fds = await readdir(`${this.procRoot}/${pid}/fd`);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOENT" && code !== "ESRCH") incomplete = true;
        return;
      }
      for (const fd of fds) {
        const link = await readlink(`${this.procRoot}/${pid}/fd/${fd}`).catch(() => undefined);
        if (!link) continue;
        const idx = byName.get(basename(link.replace(/ \(deleted\)$/, "")));
        if (!idx) continue;
        const st = await stat(`${this.procRoot}/${pid}/fd/${fd}`).catch(() => undefined);
        if (!st) continue;
        for (const i of idx) {
          const { q } = batch.queries[i]!;
          if (st.dev === q.dev && st.ino === q.ino && !answers[i]!.holders.includes(pid))
            answers[i]!.holders.push(pid);
        }
      }
    };

    for (let i = 0; i < pids.length; i += CONCURRENCY) {
      await Promise.all(pids.slice(i, i + CONCURRENCY).map(one));
    }
    batch.queries.forEach(({ resolve }, i) => resolve({ ...answers[i]!, complete: !incomplete }));
  }
}
