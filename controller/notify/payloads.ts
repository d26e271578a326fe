// What each chat provider expects in the request body (size limits and mentions included), and how it says
// "accepted".
import type { CrashReport } from "../../src/crash-report.js";
import { fitMessage, utf8Bytes } from "../../src/message-fit.js";
import { securityRefusal, type Refusal } from "../../src/notice-security.js";
import type { Mentions, SecretRef } from "../../src/settings.js";
import { cloudEvent } from "./cloudevents.js";

export type ChannelKind = "wechat" | "slack" | "dingtalk" | "feishu" | "webhook" | "cloudevents";

export interface NoticeChannel {
  chan: ChannelKind;
  webhookUrl: string;
  mentions?: Mentions;
  secret?: string;
  secretRef?: SecretRef;
}

/** What shapes a payload: the provider and who it mentions. */
export type PayloadChannel = ChannelKind | { chan: ChannelKind; mentions?: Mentions };

function hasMentions(m: Mentions | undefined): m is Mentions {
  return !!m && (m.userIds.length > 0 || m.mobiles.length > 0 || m.all);
}

/** WeCom's markdown messages cannot @ by phone number or @all: a WeCom channel with mentions sends text. */
function wecomText(ch: { chan: ChannelKind; mentions?: Mentions }): boolean {
  return ch.chan === "wechat" && hasMentions(ch.mentions);
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
export function escapeKindFor(channel: PayloadChannel): "markdown" | "slack" | "plain" {
  const ch = typeof channel === "string" ? { chan: channel } : channel;
  if (wecomText(ch)) return "plain";
  switch (ch.chan) {
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

/**
 * The providers' limits on the message: WeCom text content 2048 bytes and markdown content 4096 bytes (UTF-8);
 * Feishu's request body 20 KB (measured as JSON, with room for the signature and mentions); DingTalk's
 * messages about 20 000 bytes; Slack truncates text over 40 000 characters. Kept a little below each.
 */
export const MESSAGE_LIMITS = {
  wechatText: 2048,
  wechatMarkdown: 4096,
  dingtalk: 18_000,
  feishu: 18_000,
  slack: 35_000,
  webhook: 60_000,
} as const;

const jsonBytes = (s: string) => utf8Bytes(JSON.stringify(s));

/** DingTalk's markdown shows an @ only when the text carries `@<mobile>`/`@<userId>` too. */
function dingtalkAtLine(m: Mentions): string {
  return [...m.mobiles, ...m.userIds].map((x) => `@${x}`).join(" ");
}

function feishuAt(m: Mentions): string {
  const tags = m.userIds.map((id) => `<at user_id="${id.replace(/["<>]/g, "")}"></at>`);
  if (m.all) tags.push('<at user_id="all">所有人</at>');
  return tags.join(" ");
}

export function buildPayload(
  channel: PayloadChannel,
  text: string,
  fields: NoticeFields = {},
): unknown {
  const ch = typeof channel === "string" ? { chan: channel } : channel;
  const m = hasMentions(ch.mentions) ? ch.mentions : undefined;
  switch (ch.chan) {
    case "wechat":
      if (m)
        return {
          msgtype: "text",
          text: {
            content: fitMessage(text, MESSAGE_LIMITS.wechatText),
            ...(m.userIds.length > 0 || m.all
              ? { mentioned_list: [...m.userIds, ...(m.all ? ["@all"] : [])] }
              : {}),
            ...(m.mobiles.length > 0 ? { mentioned_mobile_list: m.mobiles } : {}),
          },
        };
      return {
        msgtype: "markdown",
        markdown: { content: fitMessage(text, MESSAGE_LIMITS.wechatMarkdown) },
      };
    case "slack":
      return { text: fitMessage(text, MESSAGE_LIMITS.slack) };
    case "dingtalk": {
      const at = m ? dingtalkAtLine(m) : "";
      const body = fitMessage(text, MESSAGE_LIMITS.dingtalk - (at ? utf8Bytes(at) + 2 : 0));
      return {
        msgtype: "markdown",
        markdown: { title: TITLE, text: at ? `${body}\n\n${at}` : body },
        ...(m
          ? {
              at: {
                ...(m.mobiles.length > 0 ? { atMobiles: m.mobiles } : {}),
                ...(m.userIds.length > 0 ? { atUserIds: m.userIds } : {}),
                isAtAll: m.all,
              },
            }
          : {}),
      };
    }
    case "feishu": {
      const at = m ? feishuAt(m) : "";
      const body = fitMessage(text, MESSAGE_LIMITS.feishu - (at ? jsonBytes(at) : 0), jsonBytes);
      return { msg_type: "text", content: { text: at ? `${body}\n${at}` : body } };
    }
    case "webhook": {
      const body = fitMessage(text, MESSAGE_LIMITS.webhook);
      const { report: _report, ...flat } = fields;
      return { ...flat, message: body, text: body };
    }
    case "cloudevents":
      return cloudEvent(fitMessage(text, MESSAGE_LIMITS.webhook), fields);
  }
}

export interface Verdict {
  ok: boolean;
  /** Why not, for the error message. */
  reason?: string;
  /** Worth another attempt (rate limits, server errors). */
  retryable?: boolean;
  /** Refused by the robot's security settings (signature, keyword, IP allowlist). */
  refusal?: Refusal;
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
        const refusal = securityRefusal(chan, code, String(json.errmsg ?? ""));
        return {
          ok: false,
          retryable: RATE_LIMIT_CODES.has(code),
          reason: `errcode=${code} errmsg=${String(json.errmsg ?? "")}`,
          ...(refusal ? { refusal } : {}),
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
        const msg = String(json.msg ?? json.StatusMessage ?? "");
        const refusal = securityRefusal(chan, code, msg);
        return {
          ok: false,
          retryable: RATE_LIMIT_CODES.has(code),
          reason: `code=${code} msg=${msg}`,
          ...(refusal ? { refusal } : {}),
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
