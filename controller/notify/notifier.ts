// Which chat channels hear about a core, and what they read: the keyword filter, the operator's
// messageTemplate (pod-side values escaped per provider), and crash-loop grouping (the same owner,
// container, executable and signal within groupWindowSeconds: the first at once, then one summary with a count).
import { keywordMatches as matchesKeyword } from "../../src/keyword.js";
import pLimit from "p-limit";
import { escapeFor, renderMessage, type MessageVars } from "../../src/template.js";
import { truncationText } from "../../src/truncation.js";
import { seenText, topFrames } from "../../src/crash-summary.js";
import type { Logger } from "../log.js";
import type { CoreReport } from "../watcher/types.js";
import { escapeKindFor, type ChannelKind, type NoticeFields } from "./payloads.js";
import { redactUrl } from "./redact.js";
import { NoticeError, sendNotice, type SendOptions } from "./send.js";
import type { Mentions, SecretRef } from "../../src/settings.js";

export interface NotifyChannel {
  chan: ChannelKind;
  webhookUrl: string;
  keyword?: string;
  secret?: string;
  secretRef?: SecretRef;
  mentions?: Mentions;
}

/** How a send to channel number `index` (in NoticeChannel) ended: accepted, or the error. */
export type NoticeOutcome = (index: number, chan: ChannelKind, error?: NoticeError) => void;

/** The channel as the sender takes it (no keyword). */
function target(ch: NotifyChannel) {
  return {
    chan: ch.chan,
    webhookUrl: ch.webhookUrl,
    ...(ch.secret !== undefined ? { secret: ch.secret } : {}),
    ...(ch.secretRef ? { secretRef: ch.secretRef } : {}),
    ...(ch.mentions ? { mentions: ch.mentions } : {}),
  };
}

/** The part of Settings the notifier reads (Settings from src/settings.ts fits). */
export interface NotifySettings {
  noticeChannels: NotifyChannel[];
  messageTemplate?: string;
  watcher: { groupWindowSeconds: number };
}

export type NoticeKind = "uploaded" | "failed";

export interface Notifier {
  /** Queue the notices for one core; returns at once. */
  notify(report: CoreReport, kind: NoticeKind, error?: string): void;
  /** Sends and group summaries not finished yet. */
  pending(): number;
  /** Close every group (its summary is sent now) and wait for the sends, at most `deadlineMs`. */
  stop(deadlineMs?: number): Promise<void>;
}

export interface NotifierDeps {
  log: Logger;
  settings: () => NotifySettings;
  /** Replaceable for tests; sendNotice by default. */
  send?: typeof sendNotice;
  sendOptions?: Omit<SendOptions, "signal" | "fields">;
  /** Concurrent sends, default 4; sends waiting beyond `maxPending` (default 500) are dropped. */
  concurrency?: number;
  maxPending?: number;
  /** Told how each send ended (the watcher publishes the last security refusal per channel). */
  onOutcome?: NoticeOutcome;
}

export function messageVars(report: CoreReport): MessageVars {
  const info = report.podInfo;
  return {
    pod: {
      namespace: info?.namespace || report.namespace,
      name: info?.name || report.pod,
      uid: info?.uid,
      node: info?.node ?? report.node,
      container: report.container,
      image: report.image ?? (report.container ? info?.images[report.container] : undefined),
    },
    host: { ip: report.hostIP ?? info?.hostIP },
    corefile: {
      path: report.path,
      filename: report.filename,
      url: report.url,
      size: report.size,
      ...(report.truncated ? { truncated: truncationText(report.truncated) } : {}),
    },
    core: {
      signal: report.core.signal ?? report.core.signalName,
      executable: report.core.executable,
    },
    ...(report.report
      ? {
          crash: {
            fault: report.report.death.summary,
            frames: topFrames(report.report),
            fingerprint: report.report.fingerprint.short,
            seen: seenText(report.seenBefore, report.seenAtLeast),
          },
        }
      : {}),
  };
}

export function noticeFields(report: CoreReport, kind: NoticeFields["kind"]): NoticeFields {
  const vars = messageVars(report);
  const signal = report.core.signalName ?? report.core.signal;
  return {
    kind,
    namespace: vars.pod.namespace,
    pod: vars.pod.name,
    node: report.node,
    container: report.container,
    image: vars.pod.image,
    file: report.filename,
    path: report.path,
    size: report.size,
    ...(report.truncated
      ? {
          truncated: truncationText(report.truncated),
          ...(report.truncated.expected !== undefined
            ? { expectedSize: report.truncated.expected }
            : {}),
        }
      : {}),
    sha256: report.sha256,
    md5: report.md5,
    key: report.key,
    url: report.url,
    signal: signal === undefined ? undefined : String(signal),
    executable: report.core.executable,
    time: (report.uploadedAt ?? report.capturedAt).toISOString(),
    error: report.error,
    bucket: report.bucket,
    ...crashFields(report),
  };
}

function crashFields(report: CoreReport): Partial<NoticeFields> {
  const r = report.report;
  if (!r) return report.crashError ? { crashError: report.crashError } : {};
  const seen = seenText(report.seenBefore, report.seenAtLeast);
  return {
    fault: r.death.summary,
    frames: topFrames(r),
    fingerprint: r.fingerprint.id,
    fingerprintShort: r.fingerprint.short,
    ...(report.seenBefore !== undefined ? { seenBefore: report.seenBefore } : {}),
    ...(seen ? { seen } : {}),
    report: r,
  };
}

/** The text of a core's notice for one channel: the template filled, values escaped for the channel. */
export function noticeText(
  chan: NotifyChannel,
  template: string | undefined,
  report: CoreReport,
  kind: NoticeKind,
  error?: string,
  suffix = "",
): string {
  const esc = escapeKindFor(chan);
  let t = renderMessage(template, messageVars(report), esc);
  if (kind === "failed")
    t += `\nupload failed: ${escapeFor(esc, error ?? report.error ?? "unknown error")}`;
  return t + suffix;
}

/** A channel's keyword matches when the core's path, namespace or pod contains it. */
export function keywordMatches(keyword: string | undefined, report: CoreReport): boolean {
  const ns = report.podInfo?.namespace || report.namespace || "";
  const pod = report.podInfo?.name || report.pod || "";
  return matchesKeyword(keyword, [report.path, ns, pod]);
}

/**
 * Cores of one crash loop: the same owner (or pod) and the same crash report fingerprint; without a report, the
 * same owner, container, executable and signal.
 */
export function groupKey(report: CoreReport, kind: NoticeKind): string {
  const ns = report.podInfo?.namespace || report.namespace || "";
  const owner = report.podInfo?.owner;
  const who = owner
    ? `${owner.kind}/${owner.name}`
    : `Pod/${report.podInfo?.name || report.pod || report.path}`;
  // The container too: two containers of one pod are two programs to their owners, even with one bug.
  if (report.report)
    return `${kind}|${ns}|${who}|${report.container ?? ""}|fingerprint ${report.report.fingerprint.id}`;
  const signal = report.core.signalName ?? report.core.signal ?? "";
  return `${kind}|${ns}|${who}|${report.container ?? ""}|${report.core.executable ?? ""}|${signal}`;
}

export function formatWindow(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds * 10) / 10} s`;
  return `${Math.round((seconds / 60) * 10) / 10} min`;
}

interface Group {
  key: string;
  windowSeconds: number;
  count: number;
  last?: { report: CoreReport; kind: NoticeKind; error?: string };
  timer: NodeJS.Timeout;
}

export function createNotifier(deps: NotifierDeps): Notifier {
  const { log } = deps;
  const send = deps.send ?? sendNotice;
  const limit = pLimit(deps.concurrency ?? 4);
  const maxPending = deps.maxPending ?? 500;
  const groups = new Map<string, Group>();
  const inflight = new Set<Promise<void>>();
  const abort = new AbortController();
  let stopped = false;

  function dispatch(
    report: CoreReport,
    kind: NoticeKind,
    error: string | undefined,
    summary?: { count: number; windowSeconds: number },
  ) {
    const s = deps.settings();
    const ns = report.podInfo?.namespace || report.namespace || "";
    const pod = report.podInfo?.name || report.pod || "";
    const where = { pod: `${ns}/${pod}`, file: report.filename };
    if (s.noticeChannels.length === 0) {
      log.info(where, "notice skipped: no NoticeChannel configured");
      return;
    }
    const suffix = summary
      ? `\n… and ${summary.count} more time${summary.count === 1 ? "" : "s"} in the last ${formatWindow(summary.windowSeconds)}`
      : "";
    for (const [index, ch] of s.noticeChannels.entries()) {
      if (!keywordMatches(ch.keyword, report)) {
        log.info(
          { ...where, channel: ch.chan, path: report.path },
          `notice skipped: keyword "${ch.keyword}" not in path/namespace/pod (channel=${ch.chan})`,
        );
        continue;
      }
      if (inflight.size >= maxPending) {
        log.error(
          { ...where, channel: ch.chan },
          `notice failed: channel=${ch.chan} error=queue full (${maxPending}), dropped`,
        );
        continue;
      }
      const body = noticeText(ch, s.messageTemplate, report, kind, error, suffix);
      const fields = noticeFields(report, summary ? "summary" : kind);
      if (summary) fields.count = summary.count;
      const url = redactUrl(ch.webhookUrl);
      const p: Promise<void> = limit(async () => {
        try {
          await send(target(ch), body, {
            ...deps.sendOptions,
            fields,
            signal: abort.signal,
          });
          deps.onOutcome?.(index, ch.chan);
          log.info(
            { ...where, channel: ch.chan, url, ...(summary ? { grouped: summary.count } : {}) },
            `notice sent: channel=${ch.chan}${summary ? ` (summary of ${summary.count} more)` : ""}`,
          );
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          if (err instanceof NoticeError) deps.onOutcome?.(index, ch.chan, err);
          log.error(
            {
              ...where,
              channel: ch.chan,
              url,
              ...(err instanceof NoticeError && err.refusal ? { refusal: err.refusal.kind } : {}),
            },
            `notice failed: channel=${ch.chan} error=${msg}`,
          );
        }
      }).finally(() => inflight.delete(p));
      inflight.add(p);
    }
  }

  function closeGroup(g: Group) {
    clearTimeout(g.timer);
    if (g.count > 0 && g.last) {
      const { report, kind, error } = g.last;
      const count = g.count;
      if (stopped) {
        groups.delete(g.key);
      } else {
        // the loop may go on: keep counting for another window instead of sending each core again
        g.count = 0;
        g.last = undefined;
        g.timer = setTimeout(() => closeGroup(g), g.windowSeconds * 1000);
        g.timer.unref();
      }
      dispatch(report, kind, error, { count, windowSeconds: g.windowSeconds });
    } else {
      groups.delete(g.key);
    }
  }

  return {
    notify(report, kind, error) {
      try {
        if (stopped) {
          log.warn({ file: report.filename }, "notice skipped: notifier stopped");
          return;
        }
        const windowSeconds = deps.settings().watcher.groupWindowSeconds;
        if (windowSeconds > 0) {
          const key = groupKey(report, kind);
          const g = groups.get(key);
          if (g) {
            g.count++;
            g.last = { report, kind, error };
            log.info(
              { file: report.filename, group: key, count: g.count },
              `notice grouped: ${report.report ? `same owner, container and fingerprint ${report.report.fingerprint.short}` : "same owner, container, executable and signal"} within ${formatWindow(g.windowSeconds)} (${g.count} so far)`,
            );
            return;
          }
          const ng: Group = {
            key,
            windowSeconds,
            count: 0,
            timer: setTimeout(() => closeGroup(ng), windowSeconds * 1000),
          };
          ng.timer.unref();
          groups.set(key, ng);
        }
        dispatch(report, kind, error);
      } catch (err) {
        log.error(
          { file: report.filename },
          `notice failed: error=${err instanceof Error ? err.message : String(err)}`,
        );
      }
    },
    pending: () => inflight.size + [...groups.values()].filter((g) => g.count > 0).length,
    async stop(deadlineMs = 10_000) {
      stopped = true;
      for (const g of [...groups.values()]) closeGroup(g);
      groups.clear();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<"deadline">((r) => {
        timer = setTimeout(() => r("deadline"), deadlineMs);
      });
      const done = await Promise.race([
        Promise.allSettled([...inflight]).then(() => "done" as const),
        deadline,
      ]);
      clearTimeout(timer);
      if (done === "deadline") {
        log.warn(
          { pending: inflight.size },
          "notice error: stop deadline reached, aborting unfinished notices",
        );
        abort.abort(new Error("watcher stopping"));
        await Promise.allSettled([...inflight]);
      }
    },
  };
}

export interface AlertOptions {
  /** Strings a channel's keyword is matched against (e.g. namespace and pod); no keyword check without them. */
  subjects?: string[];
  sendOptions?: Omit<SendOptions, "fields">;
}

/**
 * An alert (the webhook's "could not patch a pod"): `text` (ours, not a template; every line escaped for
 * the provider, since it quotes names from the request) to each channel. Never throws; logs
 * `notice sent` / `notice failed` / `notice skipped`.
 */
export async function sendAlert(
  channels: NotifyChannel[],
  text: string,
  log: Logger,
  opts: AlertOptions = {},
): Promise<void> {
  await Promise.all(
    channels.map(async (ch) => {
      const subjects = opts.subjects;
      if (subjects && !matchesKeyword(ch.keyword, subjects)) {
        log.info(
          { channel: ch.chan },
          `notice skipped: keyword "${ch.keyword}" not in ${subjects.join("/")} (channel=${ch.chan})`,
        );
        return;
      }
      const esc = escapeKindFor(ch);
      const body = text
        .split("\n")
        .map((l) => escapeFor(esc, l, 4000))
        .join("\n");
      const url = redactUrl(ch.webhookUrl);
      try {
        await sendNotice(target(ch), body, {
          ...opts.sendOptions,
          fields: { kind: "alert" },
        });
        log.info({ channel: ch.chan, url }, `notice sent: channel=${ch.chan} (alert)`);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        log.error({ channel: ch.chan, url }, `notice failed: channel=${ch.chan} error=${msg}`);
      }
    }),
  );
}
