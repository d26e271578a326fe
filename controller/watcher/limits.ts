// The limits in the watcher (settings Limits; the decisions are in src/core-limits.ts): the gate before upload
// (at most N cores stored per crash per window, none over maxCoreSize), the node directory's accounting (bytes under
// it, free space of its filesystem) and deletions in the documented order under MaxUse/KeepFree. A core over a
// limit is counted, reported (log, Event, notice) and deleted, never silently dropped. The rate windows survive a
// restart: limits.json beside the journal.
import { EventEmitter } from "node:events";
import { lstat, readdir, readFile, rename, statfs, unlink, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import {
  closeWindows,
  crashKey,
  decide,
  diskPressure,
  emptyRateState,
  keepFreeBytes,
  markStored,
  planDeletions,
  type ClosedWindow,
  type DeletionTier,
  type LocalCore,
  type RateState,
} from "../../src/core-limits.js";
import type { CrashReport } from "../../src/crash-report.js";
import { formatDuration } from "../../src/duration.js";
import { errorText } from "../../src/error-text.js";
import type { LimitName, LimitsState } from "../../src/node-state.js";
import type { Settings } from "../../src/settings.js";
import type { Logger } from "../log.js";
import { formatBytes } from "./events.js";
import { coreId, type Journal, type JournalEntry } from "./journal.js";
import type { Metrics } from "./metrics.js";
import type { OpenedCore } from "./safe-open.js";
import type { CoreReport, Reporter } from "./types.js";

export interface LimitsDeps {
  dir: string;
  /** The watcher's own state directory (skipped when counting the node directory's bytes). */
  journalDir: string;
  nodeName: string;
  journal: Journal;
  log: Logger;
  metrics: Metrics;
  settings: () => Settings;
  reporter: Reporter;
}

export type GateResult = "store" | "skipped";

const TIER_WHY: Record<DeletionTier, string> = {
  0: "already in storage",
  1: "a duplicate of a crash already in storage",
  2: "a later core of a crash whose first core is kept",
};

/** A fingerprint that says something: the report read a backtrace (else unrelated crashes would share it). */
function usableFingerprint(crash: CrashReport | undefined): string | undefined {
  return crash && crash.crashingThread.backtrace.length > 0 ? crash.fingerprint.id : undefined;
}

export class CoreLimits extends EventEmitter<{ change: [] }> {
  private state: RateState = emptyRateState();
  private readonly file: string;
  private readonly deletedIds = new Set<string>();
  private readonly firstPending = new Map<string, string>();
  private saving: Promise<void> = Promise.resolve();
  private readonly active = new Map<LimitName, { since: string; why: string; until?: number }>();
  /** Each crash's last core (size, when, how many in a row less than a window apart): room is kept for the next
   * core of a crash that loops, across its windows. */
  private readonly recent = new Map<string, { size: number; at: number; run: number }>();
  private disk: { bytes: number; fsFree: number; fsSize: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private enforcing: Promise<void> | undefined;
  private again = false;
  private cannotSaid = "";

  constructor(private readonly d: LimitsDeps) {
    super();
    this.file = join(d.journalDir, "limits.json");
  }

  /** Reads the windows a previous run left (a missing or unreadable file starts afresh, and says so). */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch {
      return;
    }
    try {
      const s = JSON.parse(text) as RateState;
      if (typeof s.windows !== "object" || typeof s.storedKeys !== "object")
        throw new Error("shape");
      this.state = s;
    } catch {
      this.d.log.error(`limits error: ${this.file} is unreadable; rate windows start afresh`);
    }
  }

  /** Checks the windows and the node directory every `intervalMs`. */
  start(intervalMs = 1000): void {
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.enforcing;
    await this.saving;
  }

  /** The limits deleted this core's file (the pipeline stops waiting to upload it). */
  wasDeleted(id: string): boolean {
    return this.deletedIds.has(id);
  }

  private get rules() {
    return this.d.settings().limits;
  }

  private save(): Promise<void> {
    const text = JSON.stringify(this.state);
    this.saving = this.saving.then(async () => {
      const tmp = `${this.file}.tmp-${process.pid}`;
      try {
        await writeFile(tmp, text, { mode: 0o600 });
        await rename(tmp, this.file);
      } catch (err) {
        this.d.log.error(`limits error: cannot write ${this.file}: ${errorText(err)}`);
      }
    });
    return this.saving;
  }

  private setActive(limit: LimitName, why: string, until?: number): void {
    const had = this.active.get(limit);
    this.active.set(limit, {
      since: had?.since ?? new Date().toISOString(),
      why,
      ...(until !== undefined ? { until } : {}),
    });
    if (had?.why !== why) this.emit("change");
    this.d.metrics.limitActive.set({ limit: metricName(limit) }, 1);
  }

  private clearActive(limit: LimitName): void {
    if (!this.active.delete(limit)) return;
    this.d.metrics.limitActive.set({ limit: metricName(limit) }, 0);
    this.emit("change");
  }

  /**
   * Before upload: "store", or "skipped" (over the crash's rate or over maxCoreSize: counted, reported, deleted).
   * `entry.limitKey` is set for a stored core (the deletion order needs it), and a decision taken before a restart holds.
   */
  async gate(
    entry: JournalEntry,
    report: CoreReport,
    crash: CrashReport | undefined,
    opened: OpenedCore,
  ): Promise<GateResult> {
    if (entry.limitKey !== undefined) return "store";
    const limits = this.rules;
    const fp = usableFingerprint(crash);
    const signal = report.core.signalName ?? report.core.signal;
    const owner = report.podInfo?.owner;
    const key = crashKey(fp, {
      ...(report.namespace ? { namespace: report.namespace } : {}),
      ...(owner ? { owner } : {}),
      ...(report.pod ? { pod: report.pod } : {}),
      ...(report.core.executable ? { executable: report.core.executable } : {}),
      ...(signal !== undefined ? { signal } : {}),
    });
    const label = fp
      ? `crash ${crash!.fingerprint.short}`
      : `crash of ${report.core.executable ?? "an unknown executable"} (${signal ?? "no signal"}) in ${
          owner ? `${owner.kind}/${owner.name}` : `pod ${report.pod ?? "?"}`
        }`;
    const summary = crash?.death.summary ? `: ${crash.death.summary}` : "";
    const where =
      report.namespace && report.pod ? { namespace: report.namespace, pod: report.pod } : undefined;

    if (limits.maxCoreSizeBytes !== undefined && report.size > limits.maxCoreSizeBytes) {
      this.d.metrics.skipped.inc({ reason: "size" });
      const message = `Core dump ${report.filename} not uploaded: ${formatBytes(report.size)} is over Limits.maxCoreSize (${formatBytes(limits.maxCoreSizeBytes)}); ${label}${summary}; the file is deleted from the node`;
      this.d.log.warn(
        { path: report.path, key, bytes: report.size, ...(fp ? { fingerprint: fp } : {}) },
        `core skipped (limit maxCoreSize): ${report.path}: ${message}`,
      );
      this.setActive(
        "maxCoreSize",
        `${report.namespace ?? ""}/${report.pod ?? ""} ${report.filename}: ${formatBytes(report.size)} over ${formatBytes(limits.maxCoreSizeBytes)}`,
        Date.now() + limits.perFingerprint.windowMs,
      );
      this.d.reporter.limited?.(report, "too-large", message, true);
      await this.remove(entry, opened, "limit maxCoreSize");
      return "skipped";
    }

    const now = Date.now();
    const d = decide(this.state, key, now, limits.perFingerprint, label, where);
    if (d.closed) this.announce(d.closed);
    const last = this.recent.get(key);
    const run = last && now - last.at < limits.perFingerprint.windowMs ? last.run + 1 : 1;
    this.recent.set(key, { size: report.size, at: now, run });
    if (d.store) {
      entry.limitKey = key;
      await this.save();
      this.kick();
      return "store";
    }
    await this.save();
    this.d.metrics.skipped.inc({ reason: "rate" });
    const { max, windowMs } = limits.perFingerprint;
    const until = new Date(d.window.start + windowMs).toISOString();
    if (d.firstSkip) {
      this.d.log.warn(
        { key },
        `limit reached: ${label}${summary} stored ${max} time(s) in this window (Limits.perFingerprint: ${max} per ${formatDuration(windowMs)}); its further cores are counted, reported and deleted until ${until}`,
      );
    }
    this.setActive(
      "rate",
      `${label} over ${max} per ${formatDuration(windowMs)} (${d.window.skipped} skipped until ${until})`,
      d.window.start + windowMs,
    );
    this.d.log.info(
      {
        path: report.path,
        key,
        skipped: d.window.skipped,
        signal: report.core.signalName,
        executable: report.core.executable,
        ...(fp ? { fingerprint: fp } : {}),
      },
      `core skipped (limit rate): ${report.path}: ${label}${summary}; ${d.window.skipped} skipped in this window; not uploaded`,
    );
    await this.remove(entry, opened, "limit rate");
    this.kick();
    return "skipped";
  }

  /** Whether this core's crash has nothing in storage yet (its upload goes before those of stored crashes). */
  urgent(entry: JournalEntry): boolean {
    const key = entry.limitKey;
    if (key === undefined) return true;
    if (key in this.state.storedKeys) return false;
    // one core stands for its crash until one is stored: the first asked about, while it is still waiting
    const holder = this.firstPending.get(key);
    if (holder === undefined || holder === entry.id || !this.d.journal.get(holder)) {
      this.firstPending.set(key, entry.id);
      return true;
    }
    return false;
  }

  /** A verified upload: its crash is in storage now. */
  stored(entry: JournalEntry): void {
    if (entry.limitKey === undefined) return;
    markStored(this.state, entry.limitKey, Date.now());
    this.firstPending.delete(entry.limitKey);
    void this.save();
  }

  /** One notice and one Event per window that skipped cores. */
  private announce(c: ClosedWindow): void {
    const { max, windowMs } = this.rules.perFingerprint;
    const message = `${c.skipped} core dump(s) of ${c.label} skipped from ${new Date(c.start).toISOString()} to ${new Date(c.end).toISOString()} (Limits.perFingerprint: ${max} per ${formatDuration(windowMs)}; ${c.stored} stored); each is in the watcher's log`;
    this.d.log.warn({ key: c.key, skipped: c.skipped }, `limit window over: ${message}`);
    const report: CoreReport = {
      path: c.where ? join(this.d.dir, c.where.namespace, c.where.pod) : this.d.dir,
      filename: "",
      node: this.d.nodeName,
      ...(c.where ? { namespace: c.where.namespace, pod: c.where.pod } : {}),
      size: 0,
      core: { threads: 0 },
      capturedAt: new Date(c.end),
    };
    this.d.reporter.limited?.(report, "skipped", message, true);
  }

  private async tick(): Promise<void> {
    const limits = this.rules;
    const now = Date.now();
    const closed = closeWindows(this.state, now, limits.perFingerprint);
    for (const c of closed) this.announce(c);
    if (closed.length > 0) await this.save();
    for (const [key, r] of this.recent)
      if (now - r.at >= limits.perFingerprint.windowMs) this.recent.delete(key);
    for (const [limit, a] of this.active)
      if (a.until !== undefined && a.until <= now) this.clearActive(limit);
    await this.kick();
  }

  /** Measures the node directory and deletes what the limits require (one pass at a time, another if asked meanwhile). */
  kick(): Promise<void> {
    if (this.enforcing) {
      this.again = true;
      return this.enforcing;
    }
    this.enforcing = (async () => {
      do {
        this.again = false;
        await this.enforce().catch((err: unknown) =>
          this.d.log.error(`limits error: ${errorText(err)}`),
        );
      } while (this.again);
    })().finally(() => (this.enforcing = undefined));
    return this.enforcing;
  }

  /** Bytes of the files under the node directory (the watcher's own state excluded). */
  private async measure(): Promise<number> {
    let bytes = 0;
    const own = relative(this.d.dir, this.d.journalDir);
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const p = join(dir, e.name);
        if (relative(this.d.dir, p) === own) continue;
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) bytes += (await lstat(p).catch(() => undefined))?.size ?? 0;
      }
    };
    await walk(this.d.dir);
    return bytes;
  }

  private async enforce(): Promise<void> {
    const limits = this.rules;
    const bytes = await this.measure();
    const fs = await statfs(this.d.dir);
    const u = { bytes, fsSize: fs.blocks * fs.bsize, fsFree: fs.bavail * fs.bsize };
    this.disk = u;
    this.d.metrics.dirBytes.set(bytes);
    this.d.metrics.fsFreeBytes.set(u.fsFree);
    const now = diskPressure(u, limits);
    // While a crash loops, room is kept for its next core, so the kernel's next write stays within the limits.
    const room = Math.max(
      0,
      ...[...this.recent.values()].filter((r) => r.run > 1).map((r) => r.size),
    );
    const ahead = diskPressure({ ...u, bytes: bytes + room, fsFree: u.fsFree - room }, limits);
    const need = Math.max(now.need, Math.min(ahead.need, bytes));
    const crossed = new Set(now.reasons.map((r) => r.slice(0, r.indexOf(":"))));
    for (const limit of ["maxUse", "keepFree"] as const) {
      const why = now.reasons.find((r) =>
        r.startsWith(`${limit === "maxUse" ? "MaxUse" : "KeepFree"}:`),
      );
      if (why) this.setActive(limit, why);
      else if (this.active.get(limit)?.until === undefined) this.clearActive(limit);
    }
    if (need <= 0) return;
    const which = crossed.has("KeepFree") && !crossed.has("MaxUse") ? "keepFree" : "maxUse";
    const why =
      now.need > 0
        ? now.reasons.join("; ")
        : `room for the next core of a crash loop (${formatBytes(room)})`;
    const cores = await this.localCores();
    const plan = planDeletions(cores, new Set(Object.keys(this.state.storedKeys)), need);
    let freed = 0;
    for (const { core, tier } of plan) {
      const entry = this.d.journal.get(core.id);
      if (!entry) continue;
      const st = await lstat(entry.path).catch(() => undefined);
      if (!st || coreId(st) !== entry.id) continue;
      try {
        this.deletedIds.add(entry.id);
        await unlink(entry.path);
      } catch (err) {
        this.deletedIds.delete(entry.id);
        this.d.log.error(`limits error: cannot delete ${entry.path}: ${errorText(err)}`);
        continue;
      }
      freed += core.size;
      if (entry.state === "captured") await this.d.journal.remove(entry.id);
      this.d.metrics.deleted.inc({ limit: metricName(which) });
      const message = `Core dump ${entry.file} deleted from the node (limit ${which === "maxUse" ? "MaxUse" : "KeepFree"}: ${why}); it was ${TIER_WHY[tier]}`;
      this.d.log.warn(
        { path: entry.path, key: core.key, bytes: core.size, limit: which },
        `deleted local corefile: ${entry.path} (${message})`,
      );
      const report = entry.report as unknown as CoreReport | undefined;
      this.d.reporter.limited?.(
        {
          ...(report ?? { core: { threads: 0 } }),
          path: entry.path,
          filename: entry.file,
          node: this.d.nodeName,
          size: entry.size,
          ...(entry.namespace ? { namespace: entry.namespace } : {}),
          ...(entry.pod ? { pod: entry.pod } : {}),
          capturedAt: new Date(entry.capturedAt),
        },
        "deleted",
        message,
        false,
      );
    }
    if (freed > 0) {
      this.d.metrics.dirBytes.set(bytes - freed);
      this.emit("change");
    }
    if (freed < now.need) {
      const said = `${now.reasons.join("; ")}`;
      if (said !== this.cannotSaid) {
        this.cannotSaid = said;
        const text = `limit error: cannot get within the limits (${said}): the ${formatBytes(bytes - freed)} left are first cores of crashes not stored yet, or files CoreDog does not own; check storage (kubectl coredog status) and the node directory`;
        this.d.log.error(text);
        this.d.reporter.alert?.(text);
      }
    } else this.cannotSaid = "";
  }

  /** The cores on the node the deletion order may consider: gated (or stored) and still the same file. */
  private async localCores(): Promise<LocalCore[]> {
    const out: LocalCore[] = [];
    for (const e of this.d.journal.all()) {
      const stored = e.state === "uploaded" || e.state === "reported";
      if (!stored && !(e.state === "captured" && e.limitKey !== undefined)) continue;
      const st = await lstat(e.path).catch(() => undefined);
      if (!st || coreId(st) !== e.id || st.size === 0) continue;
      out.push({
        id: e.id,
        key: e.limitKey ?? `core:${e.id}`,
        size: st.size,
        at: Date.parse(e.capturedAt) || st.mtimeMs,
        stored,
      });
    }
    return out;
  }

  /** Deletes a skipped core, if the path still names the file that was opened. */
  private async remove(entry: JournalEntry, opened: OpenedCore, why: string): Promise<void> {
    await this.d.journal.remove(entry.id);
    const st = await lstat(entry.path).catch(() => undefined);
    if (!st || st.dev !== opened.stat.dev || st.ino !== opened.stat.ino) return;
    try {
      this.deletedIds.add(entry.id);
      await unlink(entry.path);
      this.d.log.info({ path: entry.path }, `deleted local corefile: ${entry.path} (${why})`);
    } catch (err) {
      this.d.log.error(`limits error: cannot delete ${entry.path}: ${errorText(err)}`);
    }
  }

  /** For the node state: the disk as last measured, and the limits acting now. */
  snapshot(): LimitsState {
    const limits = this.rules;
    const keep = this.disk ? keepFreeBytes(limits, this.disk.fsSize) : undefined;
    return {
      dirBytes: this.disk?.bytes ?? 0,
      ...(this.disk ? { fsFreeBytes: this.disk.fsFree } : {}),
      ...(limits.maxUseBytes !== undefined ? { maxUseBytes: limits.maxUseBytes } : {}),
      ...(keep !== undefined ? { keepFreeBytes: keep } : {}),
      active: [...this.active].map(([limit, a]) => ({ limit, since: a.since, why: a.why })),
    };
  }
}

function metricName(limit: LimitName): string {
  return limit.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
