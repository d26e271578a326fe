// A small journal on the node: one JSON file per core, written atomically, so a restarted watcher resumes where
// it stopped and never announces a finished core twice.
// States: captured -> uploaded (verified) -> deleted -> reported. A core is deleted only once it is "uploaded".
import { mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Stats } from "node:fs";

export type JournalState = "captured" | "uploaded" | "deleted" | "reported";

export interface JournalEntry {
  id: string;
  path: string;
  namespace?: string;
  pod?: string;
  /** From the path `<namespace>/<pod>/<container>/<file>`; absent for a core directly in the pod's directory. */
  container?: string;
  file: string;
  size: number;
  mtimeMs: number;
  state: JournalState;
  capturedAt: string;
  /** Whether the "captured" report was handed to the reporter. */
  announcedCaptured?: boolean;
  attempts: number;
  lastError?: string;
  bucket?: string;
  key?: string;
  url?: string;
  sha256?: string;
  md5?: string;
  storedBytes?: number;
  /** The crash key the limits counted this core under (set once it was let through to storage). */
  limitKey?: string;
  /** The CoreReport as JSON (dates as ISO strings), so a resumed core can still be reported. */
  report?: Record<string, unknown>;
  updatedAt: string;
}

/** A core's identity: the same file (device, inode) with the same size and mtime. */
export function coreId(st: Pick<Stats, "dev" | "ino" | "size" | "mtimeMs">): string {
  return `${st.dev}-${st.ino}-${st.size}-${Math.round(st.mtimeMs * 1000)}`;
}

export class Journal {
  private readonly entries = new Map<string, JournalEntry>();
  private readonly dir: string;
  private seq = 0;

  constructor(root: string) {
    this.dir = join(root, "cores");
  }

  /** Creates the directory and loads what a previous run left. Unreadable entries are skipped and returned. */
  async load(): Promise<string[]> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const bad: string[] = [];
    for (const name of await readdir(this.dir)) {
      const file = join(this.dir, name);
      if (name.includes(".tmp-")) {
        await unlink(file).catch(() => undefined);
        continue;
      }
      if (!name.endsWith(".json")) continue;
      try {
        const entry = JSON.parse(await readFile(file, "utf8")) as JournalEntry;
        if (typeof entry.id !== "string" || typeof entry.state !== "string")
          throw new Error("not an entry");
        this.entries.set(entry.id, entry);
      } catch {
        bad.push(file);
      }
    }
    return bad;
  }

  get(id: string): JournalEntry | undefined {
    return this.entries.get(id);
  }

  all(): JournalEntry[] {
    return [...this.entries.values()];
  }

  async put(entry: JournalEntry): Promise<void> {
    entry.updatedAt = new Date().toISOString();
    this.entries.set(entry.id, entry);
    const file = join(this.dir, `${entry.id}.json`);
    const tmp = `${file}.tmp-${process.pid}-${this.seq++}`;
    // Atomic by rename; not fsynced: the journal guards against the process dying, and after a power loss the
    // worst case is a re-upload to the same key (and possibly a second notice), never a lost core.
    await writeFile(tmp, JSON.stringify(entry), { mode: 0o600 });
    await rename(tmp, file);
  }

  async remove(id: string): Promise<void> {
    this.entries.delete(id);
    await unlink(join(this.dir, `${id}.json`)).catch(() => undefined);
  }
}
