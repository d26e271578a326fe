// Finds cores: chokidar events, a start-up scan and a periodic rescan (for anything the event stream missed),
// and decides when a file is complete. A core is complete when no one is writing it any more (no process holds it
// open and the kernel is not dumping the process its name gives: writers.ts) and it is as long as its own ELF
// headers say. One that stays shorter once its writer is gone is handed on labelled truncated. The quiet time
// (size and mtime unchanged) decides alone only what the watcher cannot see: files that are not ELF cores, and
// short cores when the node's processes are not all visible (no hostPID, or no right to read their descriptors).
import type { Stats } from "node:fs";
import { lstat, readdir, statfs } from "node:fs/promises";
import { basename, dirname, join, relative, sep } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import type { Logger } from "../log.js";
import { parseCoreFileName } from "../../src/core-file.js";
import { expectedCoreLength } from "../../src/elf-core.js";
import { openForReading } from "./safe-open.js";
import { describeTruncation, truncationText, type Truncation } from "../../src/truncation.js";
import {
  ProcWriterFinder,
  seesHostProcesses,
  type Dumper,
  type WriterAnswer,
  type WriterFinder,
} from "./writers.js";
import { errorText } from "../../src/error-text.js";

/** What the detector knows about a file it hands on. */
export interface Completion {
  /** The length the core's headers give (undefined: not an ELF core, or cut inside its headers). */
  expected?: number;
  /** Set when the writer is gone and the file is shorter than its headers say. */
  truncated?: Truncation;
}

export interface DetectorOptions {
  dir: string;
  /** Ignored entirely (the watcher's own journal may live below dir). */
  journalDir: string;
  quietMillis: () => number;
  log: Logger;
  /** Called once per finished file; the pipeline decides what to do with it. */
  onStable: (path: string, st: Stats, completion: Completion) => void;
  /** True when the pipeline already handled this exact file (skip without waiting). */
  isKnown: (path: string, st: Stats) => boolean;
  onError?: (err: Error) => void;
  /** Who still writes a file (default: a walk of /proc). */
  writers?: WriterFinder;
  /** Whether the writers found are all there are (default: /proc shows the host's processes). */
  seesAllProcesses?: () => Promise<boolean>;
}

interface Pending {
  size: number;
  mtimeMs: number;
  ino: number;
  timer: NodeJS.Timeout | undefined;
  /** When the size or mtime was last seen to change. */
  changedAt: number;
  /** The kernel was seen dumping into this file (its limits are the clue to a short core). */
  dumper?: Dumper;
  /** A "waiting for the writer" line was logged for the current holder. */
  saidWaiting?: string;
  /** A decision is being made (its reads of the file and /proc are under way). */
  deciding?: boolean;
}

export interface ScanResult {
  files: number;
  bytes: number;
  /** Pod directories holding nothing but empty container directories (listed in emptyContainerDirs). */
  emptyPodDirs: { path: string; mtimeMs: number; namespace: string; pod: string }[];
  emptyContainerDirs: { path: string; mtimeMs: number; namespace: string; pod: string }[];
  emptyNamespaceDirs: { path: string; mtimeMs: number }[];
}

/** A check soon after the last change (short: the writer signals are what decide, not this delay). */
const SETTLE_MAX_MS = 250;
/** Between checks while a writer holds the file. */
const WRITER_POLL_MIN_MS = 250;
const WRITER_POLL_MAX_MS = 2000;

export class Detector {
  private watcher: FSWatcher | undefined;
  private readonly pending = new Map<string, Pending>();
  private stopped = false;
  private lastScanAt = 0;
  private readonly writers: WriterFinder;
  private seesAll: Promise<boolean> | undefined;

  constructor(private readonly o: DetectorOptions) {
    this.writers = o.writers ?? new ProcWriterFinder();
  }

  private seesAllProcesses(): Promise<boolean> {
    return (this.seesAll ??= (this.o.seesAllProcesses ?? (() => seesHostProcesses()))());
  }

  private ignored(path: string): boolean {
    const j = this.o.journalDir;
    return path === j || path.startsWith(j + sep);
  }

  /** Starts the event stream; resolves when chokidar has its watches in place. */
  async start(): Promise<void> {
    if (await this.seesAllProcesses()) {
      this.o.log.info(
        "completion: a core is complete when the kernel has finished it (CoreDumping in /proc), no process holds it open, and it is as long as its ELF headers say",
      );
    } else {
      this.o.log.warn(
        "completion: this watcher cannot see the node's processes (the DaemonSet needs hostPID: true), so it cannot tell when the kernel has finished a core; a core shorter than its headers say is taken only after the quiet time",
      );
    }
    const w = watch(this.o.dir, {
      followSymlinks: false,
      ignoreInitial: true,
      persistent: true,
      // <namespace>/<pod>/<container>/<file>: deeper entries are only reported (and refused), never descended into.
      depth: 3,
      ignored: (p: string) => this.ignored(p),
    });
    this.watcher = w;
    w.on("add", (path: string) => {
      this.o.log.info(`received fsnotify event: ${path}, op: CREATE`);
      this.track(path);
    });
    w.on("change", (path: string) => this.track(path));
    w.on("addDir", (path: string) => {
      // <namespace>/<pod>/<container> are directories; one inside a container's directory is refused.
      if (relative(this.o.dir, path).split(sep).length >= 4) {
        this.o.log.info(`received fsnotify event: ${path}, op: CREATE`);
        this.track(path);
      }
    });
    w.on("error", (err: unknown) => this.o.onError?.(err as Error));
    await new Promise<void>((resolve) => w.once("ready", () => resolve()));
  }

  /** Notes a (possibly growing) file and checks it again shortly (see decide). */
  track(path: string): void {
    if (this.stopped || this.ignored(path)) return;
    void this.observe(path);
  }

  private async observe(path: string): Promise<void> {
    let st: Stats;
    try {
      st = await lstat(path);
    } catch {
      this.forget(path);
      return;
    }
    if (this.stopped) return;
    const prev = this.pending.get(path);
    if (prev && prev.size === st.size && prev.mtimeMs === st.mtimeMs && prev.ino === st.ino) return;
    if (prev) {
      this.note(prev, st);
      this.schedule(path, prev, this.settleMs());
      return;
    }
    if (this.o.isKnown(path, st)) return;
    const p: Pending = {
      size: st.size,
      mtimeMs: st.mtimeMs,
      ino: st.ino,
      timer: undefined,
      changedAt: Date.now(),
    };
    this.pending.set(path, p);
    this.schedule(path, p, this.settleMs());
  }

  private settleMs(): number {
    return Math.min(this.o.quietMillis(), SETTLE_MAX_MS);
  }

  private note(p: Pending, st: Stats): void {
    if (st.ino !== p.ino) {
      p.dumper = undefined;
      p.saidWaiting = undefined;
    }
    p.size = st.size;
    p.mtimeMs = st.mtimeMs;
    p.ino = st.ino;
    p.changedAt = Date.now();
  }

  private schedule(path: string, p: Pending, ms: number): void {
    if (p.timer) clearTimeout(p.timer);
    p.timer = setTimeout(() => void this.check(path, p), Math.max(0, ms));
    p.timer.unref();
  }

  private changed(p: Pending, st: Stats): boolean {
    return st.size !== p.size || st.mtimeMs !== p.mtimeMs || st.ino !== p.ino;
  }

  private async check(path: string, p: Pending): Promise<void> {
    if (this.pending.get(path) !== p || this.stopped) return;
    p.timer = undefined;
    if (p.deciding) return this.schedule(path, p, this.settleMs());
    p.deciding = true;
    try {
      await this.decide(path, p);
    } catch (err) {
      this.o.onError?.(new Error(`checking ${path}: ${errorText(err)}`));
      if (this.pending.get(path) === p && !p.timer) this.schedule(path, p, this.o.quietMillis());
    } finally {
      p.deciding = false;
    }
  }

  private async decide(path: string, p: Pending): Promise<void> {
    const quiet = this.o.quietMillis();
    const st = await lstat(path).catch(() => undefined);
    if (!st) return this.forget(path);
    if (this.changed(p, st)) {
      this.note(p, st);
      return this.schedule(path, p, this.settleMs());
    }
    const quietFor = Date.now() - p.changedAt;
    if (!st.isFile()) return this.handOver(path, st, {}); // refused by the pipeline
    if (st.size === 0 && quietFor < quiet) return this.schedule(path, p, quiet - quietFor);
    const expected = st.size === 0 ? undefined : await this.expectedLength(path, st);
    const answer = await this.writers.find({
      path,
      dev: st.dev,
      ino: st.ino,
      ...pidOf(path),
    });
    if (this.pending.get(path) !== p || this.stopped) return;
    const again = await lstat(path).catch(() => undefined);
    if (!again) return this.forget(path);
    if (again.size !== st.size || again.mtimeMs !== st.mtimeMs || again.ino !== st.ino) {
      // written to while we looked (events may already have noted it): look again later
      if (this.changed(p, again)) this.note(p, again);
      return this.schedule(path, p, this.settleMs());
    }
    if (answer.dumpers[0]) p.dumper = answer.dumpers[0];
    if (answer.holders.length > 0 || answer.dumpers.length > 0) {
      this.sayWaiting(path, p, st.size, expected, answer);
      const poll = Math.min(Math.max(quiet, WRITER_POLL_MIN_MS), WRITER_POLL_MAX_MS);
      return this.schedule(path, p, poll);
    }
    // Empty, and nobody writing it: a later write or a rescan brings it back.
    if (st.size === 0) return this.forget(path);
    if (expected === "not-core") {
      // nothing says how long it should be: the quiet time decides (the pipeline refuses it anyway)
      if (quietFor >= quiet) return this.handOver(path, st, {});
      return this.schedule(path, p, quiet - quietFor);
    }
    if (expected !== undefined && st.size >= expected) return this.handOver(path, st, { expected });
    // Shorter than its headers say, and no writer seen.
    const sure = p.dumper !== undefined || (answer.complete && (await this.seesAllProcesses()));
    if (!sure && quietFor < quiet) return this.schedule(path, p, quiet - quietFor);
    const truncated = describeTruncation({
      bytes: st.size,
      ...(expected !== undefined ? { expected } : {}),
      ...(p.dumper?.coreLimit !== undefined ? { coreLimit: p.dumper.coreLimit } : {}),
      ...(await freeBytes(dirname(path))),
    });
    this.o.log.warn(
      { path, bytes: st.size, expected, cause: truncated.cause },
      `truncated core: ${path} is ${truncationText(truncated)}; its writer is gone${sure ? "" : ` (none seen for the quiet time of ${quiet / 1000}s)`}, so it is stored as it is and labelled truncated`,
    );
    this.handOver(path, st, { ...(expected !== undefined ? { expected } : {}), truncated });
  }

  private sayWaiting(
    path: string,
    p: Pending,
    size: number,
    expected: number | undefined | "not-core",
    a: WriterAnswer,
  ): void {
    const who =
      a.dumpers.length > 0
        ? `the kernel is still dumping it (pid ${a.dumpers.map((d) => d.pid).join(", ")})`
        : `pid ${a.holders.join(", ")} still holds it open`;
    if (p.saidWaiting === who) return;
    p.saidWaiting = who;
    const sizes = typeof expected === "number" ? `${size} of ${expected} bytes` : `${size} bytes`;
    this.o.log.info({ path, bytes: size }, `waiting for the writer of ${path}: ${sizes}, ${who}`);
  }

  /** The length the headers give; undefined while they are cut; "not-core" when it is no ELF core. */
  private async expectedLength(path: string, st: Stats): Promise<number | undefined | "not-core"> {
    let fh;
    try {
      fh = await openForReading(path);
    } catch {
      return "not-core"; // the pipeline's own open says why
    }
    try {
      const fst = await fh.stat();
      if (fst.ino !== st.ino || fst.dev !== st.dev) return undefined;
      return await expectedCoreLength(async (offset, length) => {
        const buf = Buffer.alloc(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        return buf.subarray(0, bytesRead);
      });
    } catch {
      return "not-core";
    } finally {
      await fh.close();
    }
  }

  private handOver(path: string, st: Stats, completion: Completion): void {
    const p = this.pending.get(path);
    if (p?.timer) clearTimeout(p.timer);
    this.pending.delete(path);
    this.o.onStable(path, st, completion);
  }

  private forget(path: string): void {
    const p = this.pending.get(path);
    if (p?.timer) clearTimeout(p.timer);
    this.pending.delete(path);
  }

  /** Files not yet stable. */
  get waiting(): number {
    return this.pending.size;
  }

  get lastScan(): number {
    return this.lastScanAt;
  }

  get running(): boolean {
    return this.watcher !== undefined && !this.stopped;
  }

  /**
   * Walks `<dir>/<namespace>/<pod>/<container>/` (and files directly in a pod's directory, the layout before
   * each container had its own) without following symlinks, tracks every entry found (wrong-depth entries too,
   * so they are refused and logged) and sums what is there.
   */
  async scan(): Promise<ScanResult> {
    const result: ScanResult = {
      files: 0,
      bytes: 0,
      emptyPodDirs: [],
      emptyContainerDirs: [],
      emptyNamespaceDirs: [],
    };
    const dir = this.o.dir;
    for (const ns of await readdirSafe(dir)) {
      const nsPath = join(dir, ns.name);
      if (this.ignored(nsPath)) continue;
      if (!ns.isDirectory()) {
        this.track(nsPath);
        continue;
      }
      const pods = await readdirSafe(nsPath);
      if (pods.length === 0) {
        const st = await lstat(nsPath).catch(() => undefined);
        if (st) result.emptyNamespaceDirs.push({ path: nsPath, mtimeMs: st.mtimeMs });
      }
      for (const pod of pods) {
        const podPath = join(nsPath, pod.name);
        if (!pod.isDirectory()) {
          this.track(podPath);
          continue;
        }
        const where = { namespace: ns.name, pod: pod.name };
        let podEmpty = true;
        for (const entry of await readdirSafe(podPath)) {
          const p = join(podPath, entry.name);
          if (!entry.isDirectory()) {
            podEmpty = false;
            await this.trackCounted(p, entry.isFile(), result);
            continue;
          }
          const files = await readdirSafe(p);
          if (files.length === 0) {
            const st = await lstat(p).catch(() => undefined);
            if (st) result.emptyContainerDirs.push({ path: p, mtimeMs: st.mtimeMs, ...where });
          } else podEmpty = false;
          for (const f of files) await this.trackCounted(join(p, f.name), f.isFile(), result);
        }
        if (podEmpty) {
          const st = await lstat(podPath).catch(() => undefined);
          if (st) result.emptyPodDirs.push({ path: podPath, mtimeMs: st.mtimeMs, ...where });
        }
      }
    }
    this.lastScanAt = Date.now();
    return result;
  }

  private async trackCounted(path: string, isFile: boolean, result: ScanResult): Promise<void> {
    if (isFile) {
      const st = await lstat(path).catch(() => undefined);
      if (st) {
        result.files++;
        result.bytes += st.size;
      }
    }
    this.track(path);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.pending.values()) if (p.timer) clearTimeout(p.timer);
    this.pending.clear();
    await this.watcher?.close();
  }
}

async function readdirSafe(path: string) {
  try {
    return await readdir(path, { withFileTypes: true });
  } catch {
    return [];
  }
}

function pidOf(path: string): { pid?: number } {
  const pid = parseCoreFileName(basename(path)).pid;
  return pid !== undefined ? { pid } : {};
}

async function freeBytes(dir: string): Promise<{ freeBytes?: number }> {
  try {
    const s = await statfs(dir);
    return { freeBytes: s.bavail * s.bsize };
  } catch {
    return {};
  }
}
