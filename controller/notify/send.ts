// One notice to one channel: the provider's payload, signed when the channel has a secret (afresh for each
// attempt: the signature carries the time), a timeout per attempt, status and errcode checks, bounded retries
// with backoff (not for 4xx other than 429; a Retry-After is waited for), errors that name the channel but not
// its secret, and a security refusal named as such.
import { refusalText, type Refusal } from "../../src/notice-security.js";
import { backoffDelay, sleep } from "../retry.js";
import {
  buildPayload,
  checkResponse,
  contentTypeFor,
  type NoticeChannel,
  type NoticeFields,
} from "./payloads.js";
import { redactIn, redactUrl } from "./redact.js";
import { channelSecret, SecretError } from "./secrets.js";
import { dingtalkSignedUrl, feishuSignature } from "./sign.js";

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
  /** The clock the signatures carry (tests). */
  now?: () => number;
  /** Where Secret coredog-notify is mounted (secretRef); notifySecretDir() by default. */
  secretDir?: string;
}

/** What the provider last answered (for `notify test`). */
export interface ProviderAnswer {
  status: number;
  body: string;
}

export class NoticeError extends Error {
  constructor(
    message: string,
    readonly chan: string,
    readonly attempts: number,
    readonly refusal?: Refusal,
    readonly answer?: ProviderAnswer,
  ) {
    super(message);
    this.name = "NoticeError";
  }
}

const MAX_BACKOFF_MS = 10_000;
/** A provider's Retry-After is honoured up to this; the stop deadline still aborts the wait. */
export const MAX_RETRY_AFTER_MS = 60_000;

export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  if (header.trim() !== "" && Number.isFinite(secs) && secs >= 0)
    return Math.min(secs * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(at - now, 0), MAX_RETRY_AFTER_MS);
}

/** The request for one attempt: DingTalk signs in the query, Feishu in the body. */
function signedRequest(
  channel: NoticeChannel,
  payload: unknown,
  secret: string | undefined,
  nowMs: number,
): { url: string; body: string } {
  if (secret && channel.chan === "dingtalk")
    return {
      url: dingtalkSignedUrl(channel.webhookUrl, secret, nowMs),
      body: JSON.stringify(payload),
    };
  if (secret && channel.chan === "feishu")
    return {
      url: channel.webhookUrl,
      body: JSON.stringify({ ...feishuSignature(secret, nowMs), ...(payload as object) }),
    };
  return { url: channel.webhookUrl, body: JSON.stringify(payload) };
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

/** Send `text` to the channel. Resolves with the provider's answer when it accepted it; throws NoticeError otherwise. */
export async function sendNotice(
  channel: NoticeChannel,
  text: string,
  opts: SendOptions = {},
): Promise<ProviderAnswer> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const retries = Math.max(0, opts.retries ?? 2);
  const backoffMs = opts.backoffMs ?? 500;
  const where = `${channel.chan} (${redactUrl(channel.webhookUrl)})`;
  const payload = buildPayload(channel, text, opts.fields);
  const now = opts.now ?? Date.now;
  let secret: string | undefined;
  try {
    secret = await channelSecret(channel, opts.secretDir);
  } catch (err) {
    if (!(err instanceof SecretError)) throw err;
    throw new NoticeError(`notice to ${where} not sent: ${err.message}`, channel.chan, 0);
  }
  let lastReason: string;
  let refusal: Refusal | undefined;
  let answer: ProviderAnswer | undefined;
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
      const req = signedRequest(channel, payload, secret, now());
      const res = await fetch(req.url, {
        method: "POST",
        headers: { "content-type": contentTypeFor(channel.chan) },
        body: req.body,
        signal,
        redirect: "error",
      });
      const resText = await res.text();
      answer = { status: res.status, body: resText.slice(0, 2000) };
      const verdict = checkResponse(channel.chan, res.status, resText);
      if (verdict.ok) return answer;
      lastReason = verdict.reason ?? "rejected";
      retryable = verdict.retryable ?? false;
      refusal = verdict.refusal;
      if (refusal) lastReason += `: ${refusalText(channel.chan, refusal)}`;
      if (res.status === 429 || res.status === 503)
        waitMs = retryAfterMs(res.headers.get("retry-after"));
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
    refusal,
    answer,
  );
}
