// Finds cores: chokidar events, a start-up scan and a periodic rescan (for anything the event stream missed),
// and declares a file complete once its size and mtime have not changed for the quiet time.
import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import type { Logger } from "../log.js";

export interface DetectorOptions {
  dir: string;
  /** Ignored entirely (the watcher's own journal may live below dir). */
  journalDir: string;
  quietMillis: () => number;
  log: Logger;
  /** Called once per stable file; the pipeline decides what to do with it. */
  onStable: (path: string, st: Stats) => void;
  /** True when the pipeline already handled this exact file (skip without waiting). */
  isKnown: (path: string, st: Stats) => boolean;
  onError?: (err: Error) => void;
}

interface Pending {
  size: number;
  mtimeMs: number;
  ino: number;
  timer: NodeJS.Timeout;
}

export interface ScanResult {
  files: number;
  bytes: number;
  /** Pod directories holding nothing but empty container directories (listed in emptyContainerDirs). */
  emptyPodDirs: { path: string; mtimeMs: number; namespace: string; pod: string }[];
  emptyContainerDirs: { path: string; mtimeMs: number; namespace: string; pod: string }[];
  emptyNamespaceDirs: { path: string; mtimeMs: number }[];
}

export class Detector {
  private watcher: FSWatcher | undefined;
  private readonly pending = new Map<string, Pending>();
  private stopped = false;
  private lastScanAt = 0;

  constructor(private readonly o: DetectorOptions) {}

  private ignored(path: string): boolean {
    const j = this.o.journalDir;
    return path === j || path.startsWith(j + sep);
  }

  /** Starts the event stream; resolves when chokidar has its watches in place. */
  async start(): Promise<void> {
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

  /** Notes a (possibly growing) file and checks it again after the quiet time. */
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
    if (prev) clearTimeout(prev.timer);
    else if (this.o.isKnown(path, st)) return;
    const timer = setTimeout(() => void this.check(path), this.o.quietMillis());
    timer.unref();
    this.pending.set(path, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, timer });
  }

  private async check(path: string): Promise<void> {
    const prev = this.pending.get(path);
    if (!prev || this.stopped) return;
    let st: Stats;
    try {
      st = await lstat(path);
    } catch {
      this.forget(path);
      return;
    }
    if (st.size !== prev.size || st.mtimeMs !== prev.mtimeMs || st.ino !== prev.ino) {
      // Still being written: wait a full quiet time from this observation.
      prev.size = st.size;
      prev.mtimeMs = st.mtimeMs;
      prev.ino = st.ino;
      prev.timer = setTimeout(() => void this.check(path), this.o.quietMillis());
      prev.timer.unref();
      return;
    }
    this.pending.delete(path);
    if (st.isFile() && st.size === 0) return; // nothing written (yet); a later write or rescan brings it back
    this.o.onStable(path, st);
  }

  private forget(path: string): void {
    const p = this.pending.get(path);
    if (p) clearTimeout(p.timer);
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
    for (const p of this.pending.values()) clearTimeout(p.timer);
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
