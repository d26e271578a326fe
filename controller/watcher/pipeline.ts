// One core's way through the watcher: checks, pod, ELF notes, store + verify (with retries), delete, report.
// Every step that matters is written to the journal first, so a killed watcher resumes without losing a core
// and without announcing a finished one twice.
import { EventEmitter } from "node:events";
import type { Stats } from "node:fs";
import { constants } from "node:fs";
import { lstat, open, unlink } from "node:fs/promises";
import { join, relative } from "node:path";
import pLimit from "p-limit";
import type { Logger } from "../log.js";
import { parseCoreFileName, podFromDumpPath, type DumpPath } from "../../src/core-file.js";
import { parseElfCore, type CoreInfo } from "../../src/elf-core.js";
import type { Settings } from "../../src/settings.js";
import { truncationSizes, truncationText } from "../../src/truncation.js";
import type { Completion } from "./detect.js";
import { matchContainer } from "./container.js";
import { coreId, type Journal, type JournalEntry } from "./journal.js";
import type { FailureStage, Metrics } from "./metrics.js";
import { DEFAULT_BACKOFF, backoffDelay, sleep, type Backoff } from "../retry.js";
import { Refusal, openCore, type OpenedCore } from "./safe-open.js";
import { readCrashReport } from "./crash-report-file.js";
import { noteSighting } from "./sightings.js";
import { crashShortForm } from "../../src/crash-summary.js";
import { VerifyError } from "./core-stream.js";
import { metadataValue, objectKey } from "./store.js";
import type { Store, StoredObject } from "./store-types.js";
import type { CoreReport, PodInfo, Reporter } from "./types.js";
import { errorText } from "../../src/error-text.js";
import type { RecordWriter } from "./records.js";
import type { CoreLimits } from "./limits.js";
import { UploadSlots } from "./upload-slots.js";

export interface PodLookup {
  resolve(namespace: string, pod: string): Promise<PodInfo | undefined>;
}

export interface PipelineDeps {
  dir: string;
  /** realpath of dir: what /proc/self/fd/N must show for a core below it. */
  realDir: string;
  nodeName: string;
  hostIP?: string;
  journal: Journal;
  log: Logger;
  metrics: Metrics;
  settings: () => Settings;
  store: (s: Settings) => Store;
  reporter: Reporter;
  pods?: PodLookup;
  /** CoreDump records, written after the verified upload. */
  records?: RecordWriter;
  backoff?: Backoff;
  /** Called after a failed attempt count reaches this, once per core. */
  reportFailureAfter?: number;
  /** The gate before upload and the node directory's limits (Limits). */
  limits?: Pick<CoreLimits, "gate" | "stored" | "wasDeleted" | "urgent">;
}

/** What is left to do for a core once it is let through: store it (in an upload slot). */
type Upload = () => Promise<void>;

/**
 * What the pipeline tells the rest of the watcher: `retrack`, look at a path again (the file changed under us);
 * `change`, what it holds changed (the node state is republished).
 */
export interface PipelineEvents {
  retrack: [path: string];
  change: [];
}

export interface Activity {
  lastUpload?: { at: string; key: string; bytes: number };
  lastError?: { at: string; message: string };
  /** The last upload's failure as the store gave it; cleared by the next successful upload. */
  storageError?: { at: string; message: string };
}

function reportToJson(r: CoreReport): Record<string, unknown> {
  return JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
}

function reportFromJson(j: Record<string, unknown>): CoreReport {
  const r = j as unknown as CoreReport;
  return {
    ...r,
    capturedAt: new Date(j.capturedAt as string),
    ...(j.uploadedAt ? { uploadedAt: new Date(j.uploadedAt as string) } : {}),
  };
}

export class Pipeline extends EventEmitter<PipelineEvents> {
  private readonly active = new Map<string, number>();
  private readonly refusedSeen = new Set<string>();
  private readonly limit;
  /** Before the upload slots: checks, ELF notes, the crash report and the limits' gate. */
  private readonly gateQueue = pLimit(4);
  /** Aborted when shutdown starts: retry waits end. */
  private readonly stopWaits = new AbortController();
  /** Aborted when the shutdown timeout passes: uploads in flight end. */
  private readonly stopCtl = new AbortController();
  private readonly inflight = new Set<Promise<void>>();
  /** Aborted (and renewed) when an upload succeeds: storage is back, cores waiting to retry go now. */
  private storageBack = new AbortController();
  private stopping = false;
  readonly activity: Activity = {};

  constructor(private readonly d: PipelineDeps) {
    super();
    this.limit = new UploadSlots(Math.max(1, d.settings().watcher.maxParallelUploads));
  }

  setConcurrency(n: number): void {
    this.limit.concurrency = Math.max(1, n);
  }

  get filesWaiting(): number {
    return this.active.size;
  }

  get bytesWaiting(): number {
    let n = 0;
    for (const size of this.active.values()) n += size;
    return n;
  }

  /** True when this exact file needs nothing more (finished, or refused before). */
  isKnown(path: string, st: Stats): boolean {
    if (this.active.has(path)) return true;
    if (this.refusedSeen.has(`${path}\0${coreId(st)}`)) return true;
    const e = this.d.journal.get(coreId(st));
    if (e === undefined || e.path !== path) return false;
    // Without storage configured a captured core stays where it is until the settings change.
    return (
      e.state === "reported" || (e.state === "captured" && !this.d.settings().storage.configured)
    );
  }

  private refuse(path: string, st: Stats, reason: Refusal["reason"], why: string): void {
    const memo = `${path}\0${coreId(st)}`;
    if (this.refusedSeen.has(memo)) return;
    this.refusedSeen.add(memo);
    this.d.metrics.refused.inc({ reason });
    this.d.log.warn(
      { path, reason },
      `refused ${path}: ${why}; left alone (error: not a core this watcher collects)`,
    );
  }

  /** A finished file from the detector (complete, or truncated with its writer gone). */
  handle(path: string, st: Stats, completion: Completion = {}, completedAt = Date.now()): void {
    if (this.stopping || this.active.has(path)) return;
    const rel = relative(this.d.dir, path);
    const where = podFromDumpPath(rel);
    if (!where) {
      this.refuse(
        path,
        st,
        "wrong-place",
        `it is not <namespace>/<pod>/<container>/<file> below ${this.d.dir}`,
      );
      return;
    }
    if (this.isKnown(path, st)) return;
    this.active.set(path, st.size);
    this.d.metrics.queueDepth.set(this.active.size);
    this.emit("change");
    // Upload slots are taken per attempt (storeWithRetries): a core waiting to retry holds none, so a storm's later
    // cores are still gated and another crash's core is stored at once.
    const job = this.gateQueue(() => this.process(path, rel, where, completion, completedAt))
      .then((upload) => upload?.())
      .catch((err: unknown) => this.noteError(`processing ${path}: ${errorText(err)}`, "journal"))
      .finally(() => {
        this.active.delete(path);
        this.d.metrics.queueDepth.set(this.active.size);
        this.inflight.delete(job);
        this.emit("change");
      });
    this.inflight.add(job);
  }

  private noteError(message: string, stage: FailureStage): void {
    this.d.metrics.failures.inc({ stage });
    this.activity.lastError = { at: new Date().toISOString(), message };
    this.d.log.error(`error: ${message}`);
    this.emit("change");
  }

  private async process(
    path: string,
    rel: string,
    where: DumpPath,
    completion: Completion,
    completedAt: number,
  ): Promise<Upload | undefined> {
    if (this.stopping) return;
    let opened: OpenedCore;
    try {
      opened = await openCore(path, join(this.d.realDir, rel));
    } catch (err) {
      const st = await lstat(path).catch(() => undefined);
      if (err instanceof Refusal && err.reason === "changed") {
        this.emit("retrack", path); // replaced while being opened: look at the new file afresh
      } else if (err instanceof Refusal) {
        if (st) this.refuse(path, st, err.reason, err.message);
      } else if (st) {
        this.noteError(`opening ${path}: ${errorText(err)}`, "open");
      }
      return;
    }
    let upload: Upload | undefined;
    try {
      upload = await this.withCore(path, where, opened, completion, completedAt);
    } finally {
      if (!upload) await opened.fh.close();
    }
    if (!upload) return undefined;
    const then = upload;
    return async () => {
      try {
        await then();
      } finally {
        await opened.fh.close();
      }
    };
  }

  private async withCore(
    path: string,
    where: DumpPath,
    opened: OpenedCore,
    completion: Completion,
    completedAt: number,
  ): Promise<Upload | undefined> {
    const { log, journal } = this.d;
    const id = coreId(opened.stat);
    let entry = journal.get(id);
    if (entry && entry.state !== "captured") {
      await this.finish(entry, opened);
      return;
    }
    log.info(`capture a file:${path}`);
    this.d.metrics.captured.inc();
    log.info({ path }, "resolving pod info");
    log.info(`resolved pod from webhook path: ${where.namespace}/${where.pod}`);
    let podInfo: PodInfo | undefined;
    try {
      podInfo = await this.d.pods?.resolve(where.namespace, where.pod);
    } catch (err) {
      this.noteError(`resolving pod ${where.namespace}/${where.pod}: ${errorText(err)}`, "resolve");
    }
    let core: CoreInfo;
    try {
      core = await parseElfCore(opened.read);
    } catch (err) {
      this.d.metrics.failures.inc({ stage: "parse" });
      log.warn(
        { path },
        `could not read the core's ELF notes (error: ${errorText(err)}); uploading it anyway`,
      );
      core = { threads: 0 };
    }
    let crashError: string | undefined;
    const crash = await readCrashReport(opened.fh, opened.stat.size, (why) => {
      crashError = why;
      log.warn({ path }, `${why}; uploading the core anyway`);
    });
    this.d.metrics.crashReports.inc({
      result: !crash ? "none" : crash.complete ? "complete" : "incomplete",
    });
    if (crash)
      log.info(
        { path, fingerprint: crash.fingerprint.id },
        `crash report: ${crashShortForm(crash)}${crash.complete ? "" : ` (incomplete: ${crash.problems.join("; ")})`}`,
      );
    const fromName = parseCoreFileName(where.file);
    const executable = core.executable ?? fromName.executable;
    // Exact from the container's own directory; guessed only for a pod admitted before it had one.
    const container =
      where.container ?? (podInfo ? matchContainer(podInfo, executable) : undefined);
    const capturedAt = entry ? new Date(entry.capturedAt) : new Date(completedAt);
    const report: CoreReport = {
      path,
      filename: where.file,
      node: this.d.nodeName,
      namespace: where.namespace,
      pod: where.pod,
      size: opened.stat.size,
      core,
      ...(crash ? { report: crash } : { crashError }),
      capturedAt,
      ...(completion.truncated && completion.truncated.bytes === opened.stat.size
        ? { truncated: completion.truncated }
        : {}),
      ...(this.d.hostIP ? { hostIP: this.d.hostIP } : {}),
      ...(podInfo ? { podInfo } : {}),
      ...(container ? { container } : {}),
      ...(container && podInfo?.images[container] ? { image: podInfo.images[container] } : {}),
    };
    entry ??= {
      id,
      path,
      namespace: where.namespace,
      pod: where.pod,
      ...(where.container ? { container: where.container } : {}),
      file: where.file,
      size: opened.stat.size,
      mtimeMs: opened.stat.mtimeMs,
      state: "captured",
      capturedAt: capturedAt.toISOString(),
      attempts: 0,
      updatedAt: "",
    };
    entry.report = reportToJson(report);
    if (this.d.limits) {
      if ((await this.d.limits.gate(entry, report, report.report, opened)) !== "store") return;
    }
    const announce = !entry.announcedCaptured;
    entry.announcedCaptured = true;
    await journal.put(entry);
    if (announce) this.d.reporter.captured(report);

    if (!this.d.settings().storage.configured) {
      log.warn(
        { path },
        `upload skipped: storage is not configured (StorageConfig); ${path} stays on the node`,
      );
      return;
    }
    return async () => {
      if (!(await this.storeWithRetries(entry!, report, opened, completedAt))) return;
      await this.finish(entry!, opened);
    };
  }

  private async storeWithRetries(
    entry: JournalEntry,
    report: CoreReport,
    opened: OpenedCore,
    completedAt: number,
  ): Promise<StoredObject | undefined> {
    const { log } = this.d;
    const backoff = this.d.backoff ?? DEFAULT_BACKOFF;
    const failAfter = this.d.reportFailureAfter ?? 3;
    let failedReported = false;
    for (;;) {
      if (this.stopping && entry.attempts > 0) return undefined;
      if (this.d.limits?.wasDeleted(entry.id)) return undefined; // deleted for MaxUse/KeepFree meanwhile
      const settings = this.d.settings();
      const st = await opened.fh.stat();
      if (st.size !== opened.stat.size || st.mtimeMs !== opened.stat.mtimeMs || st.nlink !== 1) {
        log.warn(
          { path: entry.path },
          `the core changed after it looked complete; it will be looked at again`,
        );
        this.emit("retrack", entry.path);
        return undefined;
      }
      const key = objectKey(
        settings.storage.storeDir,
        { namespace: entry.namespace, pod: entry.pod, container: entry.container },
        entry.file,
        new Date(entry.capturedAt),
        settings.storage.compression,
      );
      const started = Date.now();
      log.info(
        { path: entry.path, key, bytes: entry.size },
        `upload started: ${entry.path} -> ${key}`,
      );
      try {
        const store = this.d.store(settings);
        const obj = await this.limit.run(
          () =>
            store.put({
              fh: opened.fh,
              size: entry.size,
              key,
              metadata: this.metadata(report, settings),
              md5: settings.customHandler.enabled,
              signal: this.stopCtl.signal,
              ...(report.report ? { report: report.report } : {}),
              ...(report.crashError ? { crashError: report.crashError } : {}),
            }),
          this.d.limits?.urgent(entry) ?? true,
        );
        await noteSighting(store, report, obj.key, new Date(entry.capturedAt), log);
        const seconds = (Date.now() - started) / 1000;
        this.d.metrics.uploaded.inc();
        this.d.limits?.stored(entry);
        this.d.metrics.uploadedBytes.inc(obj.storedBytes);
        this.d.metrics.latency.observe((Date.now() - completedAt) / 1000);
        log.info(
          {
            key: obj.key,
            bytes: obj.size,
            storedBytes: obj.storedBytes,
            duration: seconds,
            sha256: obj.sha256,
          },
          `upload done: ${entry.path} -> ${obj.location} (${obj.size} bytes, ${obj.storedBytes} stored, ${seconds.toFixed(3)}s, verified${report.truncated ? `; truncated core: ${truncationText(report.truncated)}` : ""})`,
        );
        entry.state = "uploaded";
        entry.bucket = obj.bucket;
        entry.key = obj.key;
        entry.url = obj.url;
        entry.sha256 = obj.sha256;
        entry.md5 = obj.md5;
        entry.storedBytes = obj.storedBytes;
        entry.lastError = undefined;
        Object.assign(report, {
          key: obj.key,
          sha256: obj.sha256,
          ...(obj.md5 ? { md5: obj.md5 } : {}),
          uploadedAt: new Date(),
          ...(obj.bucket ? { bucket: obj.bucket } : {}),
          ...(obj.url ? { url: obj.url } : {}),
        });
        entry.report = reportToJson(report);
        await this.d.journal.put(entry);
        this.activity.lastUpload = {
          at: new Date().toISOString(),
          key: obj.key,
          bytes: obj.storedBytes,
        };
        this.activity.storageError = undefined;
        this.storageBack.abort();
        this.storageBack = new AbortController();
        this.emit("change");
        return obj;
      } catch (err) {
        if (this.stopping) {
          log.warn(
            { path: entry.path },
            `upload of ${entry.path} stopped by shutdown; it resumes at the next start`,
          );
          return undefined;
        }
        entry.attempts++;
        const e = err instanceof Error ? err : new Error(errorText(err));
        entry.lastError = e.message;
        const stage = err instanceof VerifyError ? "verify" : "upload";
        const delay = backoffDelay(entry.attempts, backoff);
        this.activity.storageError = { at: new Date().toISOString(), message: e.message };
        this.noteError(
          `upload of ${entry.path} failed (attempt ${entry.attempts}, ${stage}): ${e.message}; retrying in ${(delay / 1000).toFixed(1)}s`,
          stage,
        );
        await this.d.journal.put(entry).catch(() => undefined);
        if (!failedReported && entry.attempts >= failAfter) {
          failedReported = true;
          this.d.reporter.failed({ ...report, error: e.message }, e);
        }
        try {
          await sleep(delay, AbortSignal.any([this.stopWaits.signal, this.storageBack.signal]));
        } catch {
          if (this.stopping) return undefined;
        }
      }
    }
  }

  private metadata(r: CoreReport, s: Settings): Record<string, string> {
    const m: Record<string, string | undefined> = {
      namespace: r.namespace,
      pod: r.pod,
      uid: r.podInfo?.uid,
      node: r.node,
      container: r.container,
      image: r.image,
      signal: r.core.signal !== undefined ? String(r.core.signal) : undefined,
      "signal-name": r.core.signalName,
      executable: r.core.executable,
      filename: r.filename,
      fingerprint: r.report?.fingerprint.id,
      compression: s.storage.compression === "none" ? undefined : s.storage.compression,
      ...(r.truncated
        ? {
            truncated: truncationSizes(r.truncated),
            "truncated-reason": r.truncated.reason,
            "expected-size":
              r.truncated.expected !== undefined ? String(r.truncated.expected) : undefined,
          }
        : {}),
    };
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m))
      if (v !== undefined && v !== "") out[k] = metadataValue(v);
    return out;
  }

  /** After a verified upload: delete (or truncate) the local file as configured, then report. */
  private async finish(entry: JournalEntry, opened?: OpenedCore): Promise<void> {
    const settings = this.d.settings();
    if (entry.state === "uploaded") {
      if (settings.deleteLocalCorefile) {
        try {
          const gone = await this.removeLocal(entry, settings.gcType, opened);
          if (gone) {
            entry.state = "deleted";
            await this.d.journal.put(entry);
          }
        } catch (err) {
          this.noteError(`deleting ${entry.path}: ${errorText(err)}`, "delete");
        }
      }
    }
    if (entry.state === "uploaded" || entry.state === "deleted") {
      const report = reportFromJson(entry.report ?? {});
      entry.state = "reported";
      await this.d.journal.put(entry);
      this.d.records?.write(report, entry, settings);
      this.d.reporter.uploaded(report);
    }
  }

  /** Removes the file only if the path still names the very file that was uploaded. */
  private async removeLocal(
    entry: JournalEntry,
    gcType: Settings["gcType"],
    opened?: OpenedCore,
  ): Promise<boolean> {
    const st = await lstat(entry.path).catch(() => undefined);
    if (
      st &&
      st.size > 0 && // gc_type truncate leaves it empty
      entry.id.startsWith(`${st.dev}-${st.ino}-`) &&
      coreId(st) !== entry.id
    ) {
      // written to after its upload: a writer is still at it; leave it and look again
      this.d.log.warn(
        { path: entry.path },
        `not deleting ${entry.path}: it changed after it was uploaded (${entry.size} -> ${st.size} bytes); it will be looked at again`,
      );
      this.emit("retrack", entry.path);
      return false;
    }
    if (!st || coreId(st) !== entry.id) {
      this.d.log.info({ path: entry.path }, `local corefile already gone: ${entry.path}`);
      return true;
    }
    if (opened && (st.dev !== opened.stat.dev || st.ino !== opened.stat.ino)) return false;
    if (gcType === "truncate") {
      const fh = await open(
        entry.path,
        constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      );
      try {
        const fst = await fh.stat();
        if (fst.dev !== st.dev || fst.ino !== st.ino || !fst.isFile()) return false;
        await fh.truncate(0);
      } finally {
        await fh.close();
      }
      this.d.log.info(
        { path: entry.path, gcType },
        `deleted local corefile: ${entry.path} (truncated)`,
      );
    } else {
      await unlink(entry.path);
      this.d.log.info({ path: entry.path, gcType }, `deleted local corefile: ${entry.path}`);
    }
    return true;
  }

  /** Completes what a previous run left between "uploaded" and "reported"; drops journal entries of vanished files. */
  async resume(): Promise<void> {
    for (const entry of this.d.journal.all()) {
      if (entry.state === "uploaded" || entry.state === "deleted") {
        this.d.log.info(
          { path: entry.path, key: entry.key },
          `resuming ${entry.path}: already uploaded as ${entry.key}`,
        );
        await this.finish(entry);
      }
    }
    await this.prune();
  }

  /** Journal entries whose file is gone (or is another file now) and that need nothing more. */
  async prune(): Promise<void> {
    for (const entry of this.d.journal.all()) {
      if (this.active.has(entry.path)) continue;
      const st = await lstat(entry.path).catch(() => undefined);
      const same = st !== undefined && coreId(st) === entry.id;
      if (same) continue;
      if (entry.state === "reported" || this.d.limits?.wasDeleted(entry.id))
        await this.d.journal.remove(entry.id); // finished, or deleted for a limit (and said so)
      else if (entry.state === "captured") {
        this.d.log.warn(
          { path: entry.path },
          `a core vanished before it was uploaded (error: removed by someone else): ${entry.path}`,
        );
        await this.d.journal.remove(entry.id);
      }
    }
  }

  /** Local files that are safely stored (the disk guard may delete them), oldest first. */
  async uploadedFiles(): Promise<{ entry: JournalEntry; mtimeMs: number; size: number }[]> {
    const out: { entry: JournalEntry; mtimeMs: number; size: number }[] = [];
    for (const entry of this.d.journal.all()) {
      if (entry.state !== "uploaded" && entry.state !== "reported") continue;
      const st = await lstat(entry.path).catch(() => undefined);
      if (st && coreId(st) === entry.id) out.push({ entry, mtimeMs: st.mtimeMs, size: st.size });
    }
    return out.sort((a, b) => a.mtimeMs - b.mtimeMs);
  }

  async deleteStored(entry: JournalEntry, why: string): Promise<boolean> {
    const st = await lstat(entry.path).catch(() => undefined);
    if (!st || coreId(st) !== entry.id) return false;
    await unlink(entry.path);
    this.d.log.info(
      { path: entry.path, key: entry.key },
      `deleted local corefile: ${entry.path} (${why})`,
    );
    return true;
  }

  /** Stops taking new files; lets uploads in flight finish for up to timeoutMs, then aborts them. */
  async stop(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    this.stopWaits.abort(new Error("shutting down"));
    const all = Promise.allSettled([...this.inflight]);
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      all.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!finished) {
      this.stopCtl.abort(new Error("shutting down"));
      await all;
    }
    return finished;
  }
}
