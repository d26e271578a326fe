// One notice to one channel: the provider's payload, a timeout per attempt, status and errcode checks,
// bounded retries with backoff (not for 4xx other than 429), errors that name the channel but not its secret.
import { backoffDelay, sleep } from "../retry.js";
import {
  buildPayload,
  checkResponse,
  contentTypeFor,
  type NoticeChannel,
  type NoticeFields,
} from "./payloads.js";
import { redactIn, redactUrl } from "./redact.js";

export interface SendOptions {
  /** Per attempt, default 10 s. */
  timeoutMs?: number;
  /** Further attempts after the first, default 2. */
  retries?: number;
  /** Aborts the whole send (all attempts). */
  signal?: AbortSignal;
  /** The core report, for the plain JSON `webhook` channel. */
  fields?: NoticeFields;
  /** First backoff delay, doubled each retry (with jitter), default 500 ms. */
  backoffMs?: number;
}

export class NoticeError extends Error {
  constructor(
    message: string,
    readonly chan: string,
    readonly attempts: number,
  ) {
    super(message);
    this.name = "NoticeError";
  }
}

const MAX_BACKOFF_MS = 10_000;

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  if (Number.isFinite(secs) && secs >= 0) return Math.min(secs * 1000, MAX_BACKOFF_MS);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(at - Date.now(), 0), MAX_BACKOFF_MS);
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error) {
    if (err.name === "TimeoutError") return `timed out after ${timeoutMs} ms`;
    if (err.name === "AbortError") return "aborted";
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code || cause?.message) return `${err.message}: ${cause.code ?? cause.message}`;
    return err.message;
  }
  return String(err);
}

/** Send `text` to the channel. Resolves when the provider accepted it; throws NoticeError otherwise. */
export async function sendNotice(
  channel: NoticeChannel,
  text: string,
  opts: SendOptions = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const retries = Math.max(0, opts.retries ?? 2);
  const backoffMs = opts.backoffMs ?? 500;
  const where = `${channel.chan} (${redactUrl(channel.webhookUrl)})`;
  const body = JSON.stringify(buildPayload(channel.chan, text, opts.fields));
  let lastReason: string;
  let attempts = 0;
  for (;;) {
    if (opts.signal?.aborted) {
      lastReason = "aborted";
      break;
    }
    attempts++;
    let retryable = true;
    let waitMs: number | undefined;
    try {
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
      const res = await fetch(channel.webhookUrl, {
        method: "POST",
        headers: { "content-type": contentTypeFor(channel.chan) },
        body,
        signal,
        redirect: "error",
      });
      const resText = await res.text();
      const verdict = checkResponse(channel.chan, res.status, resText);
      if (verdict.ok) return;
      lastReason = verdict.reason ?? "rejected";
      retryable = verdict.retryable ?? false;
      if (res.status === 429) waitMs = retryAfterMs(res.headers.get("retry-after"));
    } catch (err) {
      lastReason = opts.signal?.aborted ? "aborted" : describeFetchError(err, timeoutMs);
    }
    if (!retryable || attempts > retries || opts.signal?.aborted) break;

    try {
      await sleep(
        waitMs ?? backoffDelay(attempts, { baseMs: backoffMs, maxMs: MAX_BACKOFF_MS }),
        opts.signal,
      );
    } catch {
      lastReason = "aborted";
      break;
    }
  }
  throw new NoticeError(
    redactIn(
      `notice to ${where} failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${lastReason}`,
      channel.webhookUrl,
    ),
    channel.chan,
    attempts,
  );
}
