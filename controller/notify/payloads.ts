// What each chat provider expects in the request body, and how it says "accepted".
import type { CrashReport } from "../../src/crash-report.js";
import { cloudEvent } from "./cloudevents.js";

export type ChannelKind = "wechat" | "slack" | "dingtalk" | "feishu" | "webhook" | "cloudevents";

export interface NoticeChannel {
  chan: ChannelKind;
  webhookUrl: string;
}

/** The core report as the plain JSON webhook receives it (all optional: alerts carry only a message). */
export interface NoticeFields {
  kind?: "uploaded" | "failed" | "summary" | "alert";
  namespace?: string;
  pod?: string;
  node?: string;
  container?: string;
  image?: string;
  file?: string;
  path?: string;
  size?: number;
  /** `<n> of <expected> bytes: <reason>` for a core shorter than its headers say. */
  truncated?: string;
  expectedSize?: number;
  sha256?: string;
  md5?: string;
  key?: string;
  url?: string;
  signal?: string;
  executable?: string;
  time?: string;
  error?: string;
  /** For kind "summary": how many more cores of this crash loop came since the last message. */
  count?: number;
  bucket?: string;
  /** The crash report's fault line (`death.summary`). */
  fault?: string;
  /** The crashing thread's top frames as module+offset. */
  frames?: string[];
  /** The crash report's fingerprint id (sha256 hex) and its short form. */
  fingerprint?: string;
  fingerprintShort?: string;
  /** Cores with this fingerprint stored before this one, cluster-wide; absent when not known. */
  seenBefore?: number;
  /** The same in words: `new`, `seen once before`, `seen 3 times before`. */
  seen?: string;
  /** The whole crash report: the data of a `cloudevents` notice (not in the plain webhook's body). */
  report?: CrashReport;
  /** Why there is no crash report. */
  crashError?: string;
}

/** How pod-side values must be escaped for the channel's payload (see src/template.ts escapeFor). */
export function escapeKindFor(chan: ChannelKind): "markdown" | "slack" | "plain" {
  switch (chan) {
    case "wechat":
    case "dingtalk":
      return "markdown";
    case "slack":
      return "slack";
    case "feishu":
    case "webhook":
    case "cloudevents":
      return "plain";
  }
}

/** The request's Content-Type: CloudEvents in structured mode have their own. */
export function contentTypeFor(chan: ChannelKind): string {
  return chan === "cloudevents"
    ? "application/cloudevents+json; charset=utf-8"
    : "application/json; charset=utf-8";
}

const TITLE = "CoreDog: core dump";
/** WeCom rejects markdown content over 4096 bytes; DingTalk and Feishu allow ~20 KB. */
const MAX_BYTES: Record<ChannelKind, number> = {
  wechat: 4000,
  dingtalk: 18000,
  feishu: 18000,
  slack: 35000,
  webhook: 60000,
  cloudevents: 60000,
};

export function truncateBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const suffix = " …(truncated)";
  let cut = Buffer.from(text)
    .subarray(0, maxBytes - Buffer.byteLength(suffix))
    .toString("utf8");
  // a cut in the middle of a multi-byte character leaves U+FFFD at the end
  cut = cut.replace(/\uFFFD+$/, "");
  return cut + suffix;
}

export function buildPayload(chan: ChannelKind, text: string, fields: NoticeFields = {}): unknown {
  const body = truncateBytes(text, MAX_BYTES[chan]);
  switch (chan) {
    case "wechat":
      return { msgtype: "markdown", markdown: { content: body } };
    case "slack":
      return { text: body };
    case "dingtalk":
      return { msgtype: "markdown", markdown: { title: TITLE, text: body } };
    case "feishu":
      return { msg_type: "text", content: { text: body } };
    case "webhook": {
      const { report: _report, ...flat } = fields;
      return { ...flat, message: body, text: body };
    }
    case "cloudevents":
      return cloudEvent(body, fields);
  }
}

export interface Verdict {
  ok: boolean;
  /** Why not, for the error message. */
  reason?: string;
  /** Worth another attempt (rate limits, server errors). */
  retryable?: boolean;
}

// Provider error codes that mean "too fast, try later".
const RATE_LIMIT_CODES = new Set([45009, 130101, 11232, 9499]);

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function snippet(text: string): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > 200 ? `${one.slice(0, 200)}…` : one;
}

/** Judge a provider's answer: HTTP status first, then the body's own error code. */
export function checkResponse(chan: ChannelKind, status: number, bodyText: string): Verdict {
  if (status < 200 || status > 299) {
    const retryable = status === 429 || status >= 500 || status === 408;
    return {
      ok: false,
      retryable,
      reason: `HTTP ${status}${bodyText ? `: ${snippet(bodyText)}` : ""}`,
    };
  }
  switch (chan) {
    case "wechat":
    case "dingtalk": {
      const json = parseJson(bodyText);
      if (!json)
        return {
          ok: false,
          retryable: false,
          reason: `unexpected response: ${snippet(bodyText) || "(empty)"}`,
        };
      const code = Number(json.errcode ?? 0);
      if (code !== 0) {
        return {
          ok: false,
          retryable: RATE_LIMIT_CODES.has(code),
          reason: `errcode=${code} errmsg=${String(json.errmsg ?? "")}`,
        };
      }
      return { ok: true };
    }
    case "feishu": {
      const json = parseJson(bodyText);
      if (!json)
        return {
          ok: false,
          retryable: false,
          reason: `unexpected response: ${snippet(bodyText) || "(empty)"}`,
        };
      const code = Number(json.code ?? json.StatusCode ?? 0);
      if (code !== 0) {
        return {
          ok: false,
          retryable: RATE_LIMIT_CODES.has(code),
          reason: `code=${code} msg=${String(json.msg ?? json.StatusMessage ?? "")}`,
        };
      }
      return { ok: true };
    }
    case "slack": {
      const trimmed = bodyText.trim();
      if (trimmed === "ok") return { ok: true };
      const json = parseJson(trimmed);
      if (json && json.ok === true) return { ok: true };
      return {
        ok: false,
        retryable: false,
        reason: `slack answered: ${snippet(bodyText) || "(empty)"}`,
      };
    }
    case "webhook":
    case "cloudevents":
      return { ok: true };
  }
}
