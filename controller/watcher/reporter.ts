// The reporting side of the watcher: Events, chat notices and the custom handler for each core.
// Everything runs in the background: a hanging chat receiver or API server never delays storage,
// and nothing here throws into the pipeline.
import type { KubeConfig } from "@kubernetes/client-node";
import pLimit from "p-limit";
import {
  createNotifier,
  sendAlert,
  type Notifier,
  type NoticeOutcome,
  type NotifySettings,
} from "../notify/notifier.js";
import type { SendOptions } from "../notify/send.js";
import type { Logger } from "../log.js";
import type { CustomHandlerConfig } from "./custom-handler.js";
import { createEventRecorder, eventMessage, type EventKind, type EventRecorder } from "./events.js";
import type { CoreReport, Reporter } from "./types.js";

/** The part of Settings the reporter reads (Settings from src/settings.ts fits). */
export interface ReporterSettings extends NotifySettings {
  customHandler: CustomHandlerConfig;
}

export interface ReporterDeps {
  /** Without it, no Events (the rest works). */
  kc?: KubeConfig;
  nodeName: string;
  log: Logger;
  settings: () => ReporterSettings;
  /** How long stop() waits for unfinished work before cutting it off, default 10 s. */
  stopDeadlineMs?: number;
  /** Custom handlers running at once, default 2; more than `maxQueuedHandlers` (100) waiting are dropped. */
  handlerConcurrency?: number;
  maxQueuedHandlers?: number;
  sendOptions?: Omit<SendOptions, "signal" | "fields">;
  /** alert(): the same text at most once per this, default 10 min. */
  alertRepeatMs?: number;
  /** alert(): any two alerts at least this far apart, default 1 min (a burst is not a flood of messages). */
  alertMinGapMs?: number;
  /** Told how each notice ended (the node state's notice refusals). */
  onNoticeOutcome?: NoticeOutcome;
  /** Replaceable parts (tests). */
  events?: EventRecorder;
  notifier?: Notifier;
}

export function createReporter(deps: ReporterDeps): Reporter {
  const { log } = deps;
  const events =
    deps.events ?? (deps.kc ? createEventRecorder(deps.kc, deps.nodeName, log) : undefined);
  const notifier =
    deps.notifier ??
    createNotifier({
      log,
      settings: deps.settings,
      sendOptions: deps.sendOptions,
      ...(deps.onNoticeOutcome ? { onOutcome: deps.onNoticeOutcome } : {}),
    });
  const handlerLimit = pLimit(deps.handlerConcurrency ?? 2);
  const maxQueuedHandlers = deps.maxQueuedHandlers ?? 100;
  const handlers = new Set<Promise<unknown>>();
  const stopping = new AbortController();
  let stopped = false;
  const alerts = new Set<Promise<void>>();
  const alertSent = new Map<string, number>();
  let lastAlertAt = -Infinity;

  function settings(): ReporterSettings | undefined {
    try {
      return deps.settings();
    } catch (err) {
      log.error(
        `reporter error: settings unavailable: ${err instanceof Error ? err.message : String(err)}`,
      );
      return undefined;
    }
  }

  function event(report: CoreReport, kind: EventKind, error?: string) {
    if (!events) return;
    // record() never rejects; the catch is for a replaced recorder that might
    events.record(report, kind, eventMessage(report, kind, error)).catch(() => undefined);
  }

  function guard(what: string, fn: () => void) {
    try {
      if (stopped) {
        log.warn(`reporter stopped: ${what} not reported`);
        return;
      }
      fn();
    } catch (err) {
      log.error(`reporter error: ${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  function customHandler(report: CoreReport, cfg: CustomHandlerConfig) {
    if (handlerLimit.pendingCount >= maxQueuedHandlers) {
      log.error(
        { file: report.path },
        `custom handler error: ${maxQueuedHandlers} already waiting, skipped`,
      );
      return;
    }
    const p = handlerLimit(() =>
      stopping.signal.aborted
        ? undefined
        : // execa loads with the first custom handler, not with the watcher
          import("./custom-handler.js").then((m) =>
            m.runCustomHandler(cfg, report, log, { signal: stopping.signal }),
          ),
    )
      .catch((err: unknown) =>
        log.error(`custom handler error: ${err instanceof Error ? err.message : String(err)}`),
      )
      .finally(() => handlers.delete(p));
    handlers.add(p);
  }

  return {
    captured(report) {
      guard("captured", () => event({ ...report }, "captured"));
    },
    uploaded(report) {
      guard("uploaded", () => {
        const r = { ...report };
        event(r, "uploaded");
        const s = settings();
        if (!s) return;
        const ch = s.customHandler;
        if (ch.enabled) customHandler(r, { ...ch });
        if (ch.enabled && ch.skipDefaultNotify) {
          log.info(
            { file: r.filename, pod: `${r.namespace ?? ""}/${r.pod ?? ""}` },
            "notice skipped: CustomHandler.skipDefaultNotify is set",
          );
          return;
        }
        notifier.notify(r, "uploaded");
      });
    },
    failed(report, error) {
      guard("failed", () => {
        const message = error instanceof Error ? error.message : String(error);
        const r = { ...report, error: report.error ?? message };
        event(r, "failed", message);
        notifier.notify(r, "failed", message);
      });
    },
    limited(report, kind, message, notice) {
      guard(kind, () => {
        if (events) events.record({ ...report }, kind, message).catch(() => undefined);
        if (!notice) return;
        const s = settings();
        if (!s) return;
        if (s.noticeChannels.length === 0) {
          log.info(`notice skipped: no NoticeChannel configured (${message})`);
          return;
        }
        const where = `${report.namespace ?? ""}/${report.pod ?? ""}`;
        log.warn(`notice: ${kind} to ${s.noticeChannels.length} channel(s): [${where}] ${message}`);
        const p = sendAlert(s.noticeChannels, `[${where}] ${message}`, log, {
          subjects: [report.path, report.namespace ?? "", report.pod ?? ""],
          sendOptions: { ...deps.sendOptions, signal: stopping.signal },
        })
          .catch(() => undefined)
          .finally(() => alerts.delete(p));
        alerts.add(p);
      });
    },
    alert(message) {
      guard("alert", () => {
        const s = settings();
        if (!s) return;
        const now = Date.now();
        const repeatMs = deps.alertRepeatMs ?? 600_000;
        for (const [text, at] of alertSent) if (now - at >= repeatMs) alertSent.delete(text);
        if (alertSent.has(message) || now - lastAlertAt < (deps.alertMinGapMs ?? 60_000)) {
          log.info(`notice skipped: alert rate-limited (${message})`);
          return;
        }
        if (s.noticeChannels.length === 0) {
          log.info(`notice skipped: no NoticeChannel configured for the alert (${message})`);
          return;
        }
        alertSent.set(message, now);
        lastAlertAt = now;
        log.warn(`notice: alert to ${s.noticeChannels.length} channel(s): ${message}`);
        const p = sendAlert(
          s.noticeChannels,
          `[coredog-watcher ${deps.nodeName}] ${message}`,
          log,
          {
            sendOptions: { ...deps.sendOptions, signal: stopping.signal },
          },
        )
          .catch(() => undefined) // sendAlert never rejects; a replaced one might
          .finally(() => alerts.delete(p));
        alerts.add(p);
      });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const deadlineMs = deps.stopDeadlineMs ?? 10_000;
      const started = Date.now();
      const left = () => Math.max(0, deadlineMs - (Date.now() - started));
      let timer: NodeJS.Timeout | undefined;
      const handlersDone = Promise.race([
        Promise.allSettled([...handlers, ...alerts]),
        new Promise((r) => {
          timer = setTimeout(r, deadlineMs);
        }),
      ]);
      await Promise.allSettled([notifier.stop(left()), events?.flush(left()), handlersDone]);
      clearTimeout(timer);
      if (handlers.size > 0 || alerts.size > 0) {
        stopping.abort();
        await Promise.allSettled([...handlers, ...alerts]);
      }
    },
  };
}
