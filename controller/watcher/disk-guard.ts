// Keeps the node directory in bounds: an alert when it exceeds the limit and, if enabled, deletion of the oldest
// files that are already safely stored; removal of empty directories of pods that no longer exist.
import { rmdir } from "node:fs/promises";
import type { Logger } from "../log.js";
import type { ScanResult } from "./detect.js";
import type { Pipeline } from "./pipeline.js";
import { errorText } from "../../src/error-text.js";

export interface DiskGuardDeps {
  log: Logger;
  pipeline: Pick<Pipeline, "uploadedFiles" | "deleteStored">;
  alert: (message: string) => void;
  /** Whether the pod still exists; undefined when that cannot be known (no API access). */
  podExists?: (namespace: string, pod: string) => Promise<boolean | undefined>;
  emptyDirGraceMs?: number;
  alertEveryMs?: number;
}

export class DiskGuard {
  private lastAlert = 0;
  private over = false;

  constructor(private readonly d: DiskGuardDeps) {}

  /** Returns the bytes left in the directory after any deletion. */
  async check(
    scan: ScanResult,
    limit: number | undefined,
    deleteUploaded: boolean,
  ): Promise<number> {
    let bytes = scan.bytes;
    if (limit === undefined || bytes <= limit) {
      if (this.over)
        this.d.log.info(
          `disk guard: node directory back under the limit (${bytes} <= ${limit} bytes)`,
        );
      this.over = false;
      return bytes;
    }
    const message = `disk guard error: the node directory holds ${bytes} bytes in ${scan.files} files, above the limit of ${limit} bytes`;
    this.d.log.error(message);
    if (!this.over || Date.now() - this.lastAlert >= (this.d.alertEveryMs ?? 600_000)) {
      this.lastAlert = Date.now();
      this.d.alert(message);
    }
    this.over = true;
    if (!deleteUploaded) return bytes;
    for (const f of await this.d.pipeline.uploadedFiles()) {
      if (bytes <= limit) break;
      try {
        if (await this.d.pipeline.deleteStored(f.entry, "disk guard: already uploaded"))
          bytes -= f.size;
      } catch (err) {
        this.d.log.error(`disk guard error: cannot delete ${f.entry.path}: ${errorText(err)}`);
      }
    }
    return bytes;
  }

  /**
   * Removes the empty `<namespace>/<pod>/<container>/` and then `<namespace>/<pod>/` directories of deleted pods,
   * then empty namespace directories.
   */
  async sweep(scan: ScanResult): Promise<void> {
    const grace = this.d.emptyDirGraceMs ?? 10 * 60_000;
    const exists = this.d.podExists;
    if (!exists) return;
    const now = Date.now();
    for (const dir of scan.emptyContainerDirs) {
      if (now - dir.mtimeMs < grace) continue;
      if ((await exists(dir.namespace, dir.pod)) !== false) continue;
      await rmdir(dir.path).catch(() => undefined);
    }
    for (const dir of scan.emptyPodDirs) {
      if (now - dir.mtimeMs < grace) continue;
      if ((await exists(dir.namespace, dir.pod)) !== false) continue;
      // rmdir fails (and nothing is lost) if a file appeared meanwhile.
      await rmdir(dir.path).then(
        () =>
          this.d.log.info(
            `removed empty directory of deleted pod ${dir.namespace}/${dir.pod}: ${dir.path}`,
          ),
        () => undefined,
      );
    }
    for (const dir of scan.emptyNamespaceDirs) {
      if (now - dir.mtimeMs < grace) continue;
      await rmdir(dir.path).then(
        () => this.d.log.info(`removed empty namespace directory ${dir.path}`),
        () => undefined,
      );
    }
  }
}
