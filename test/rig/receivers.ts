// Local stand-ins for the chat providers' incoming webhooks (WeCom, Slack, DingTalk, Feishu, plain webhook), and
// a CloudEvents 1.0 HTTP receiver (structured mode) that checks the required attributes.
// Each records what it gets and answers as the provider does, including for payloads of the wrong shape; modes
// switch a receiver to failing (500), provider error codes, hanging or slow answers.
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  checkDingTalk,
  checkFeishu,
  checkWeCom,
  type Refused,
  type RobotSecurity,
} from "./robot-security.js";

export type ReceiverKind = "wechat" | "slack" | "dingtalk" | "feishu" | "webhook" | "cloudevents";
export type ReceiverMode = "ok" | "fail" | "errcode" | "hang" | "slow";
export const RECEIVER_KINDS: readonly ReceiverKind[] = [
  "wechat",
  "slack",
  "dingtalk",
  "feishu",
  "webhook",
  "cloudevents",
];

export interface Received {
  body: unknown;
  /** The raw request body (for payloads that are not JSON). */
  raw: string;
  headers: Record<string, string>;
  path: string;
  at: number;
  /** Why the provider would have rejected it; undefined when the shape is right. */
  rejected?: string;
  /** The HTTP status answered (undefined while hanging). */
  status?: number;
  /** The query string's parameters (DingTalk's timestamp and sign). */
  query: Record<string, string>;
  /** Refused by the robot's security or limits, with the provider's code. */
  refused?: Refused;
}

/** Slack under a burst: after `burst` requests, 429 with `Retry-After: retryAfterSec` until that has passed. */
export interface RateLimit {
  burst: number;
  retryAfterSec: number;
}

export interface Receivers {
  url(kind: ReceiverKind): string;
  /** Every request so far, including rejected ones. */
  received(kind: ReceiverKind): Received[];
  /** Waits for a request matching predicate (already received ones count). */
  waitFor(
    kind: ReceiverKind,
    predicate: (r: Received) => boolean,
    timeoutMs: number,
  ): Promise<Received>;
  behave(kind: ReceiverKind, mode: ReceiverMode, opts?: { delayMs?: number }): void;
  /** The robot's security settings (DingTalk, Feishu); undefined: none. */
  secure(kind: "dingtalk" | "feishu", security: RobotSecurity | undefined): void;
  /** Rate limiting as Slack does it (429 + Retry-After); undefined: none. */
  rateLimit(kind: ReceiverKind, limit: RateLimit | undefined): void;
  clear(kind?: ReceiverKind): void;
  stop(): Promise<void>;
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

const json = (status: number, v: unknown): Answer => ({
  status,
  contentType: "application/json; charset=utf-8",
  body: JSON.stringify(v),
});
const text = (status: number, s: string): Answer => ({
  status,
  contentType: "text/plain; charset=utf-8",
  body: s,
});

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function nonEmptyString(v: unknown): v is string {
  return typeof v === "string" && v.length > 0;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A CloudEvent in the HTTP binding's structured mode (CloudEvents 1.0): Content-Type application/cloudevents+json,
 * the required attributes specversion "1.0", id, source (a URI-reference) and type as non-empty strings, and the
 * optional ones well formed when present (time RFC 3339, subject and datacontenttype strings, data JSON).
 */
export function checkCloudEvent(body: unknown, contentType: string | undefined): string | null {
  if (!/^application\/cloudevents\+json(\s*;|$)/i.test(contentType ?? ""))
    return `Content-Type ${contentType ?? "(none)"} is not application/cloudevents+json (structured mode)`;
  if (!isObj(body)) return "body is not a JSON object";
  if (body.specversion !== "1.0")
    return `specversion ${JSON.stringify(body.specversion)} is not "1.0"`;
  for (const a of ["id", "source", "type"])
    if (!nonEmptyString(body[a])) return `required attribute ${a} missing or empty`;
  if (/\s/.test(body.source as string)) return "source is not a URI-reference";
  if (body.time !== undefined && !(nonEmptyString(body.time) && RFC3339.test(body.time)))
    return "time is not an RFC 3339 timestamp";
  for (const a of ["subject", "datacontenttype"])
    if (body[a] !== undefined && !nonEmptyString(body[a])) return `${a} must be a non-empty string`;
  if (body.data_base64 !== undefined && body.data !== undefined)
    return "data and data_base64 are exclusive";
  for (const name of Object.keys(body))
    if (!/^[a-z0-9]{1,20}$/.test(name) && name !== "data_base64")
      return `attribute name ${name} is not lower-case letters and digits`;
  return null;
}

/** null when the payload has the provider's shape, else why it would be rejected. */
export function checkShape(kind: ReceiverKind, body: unknown, contentType?: string): string | null {
  if (kind === "webhook") return body === undefined ? "body is not JSON" : null;
  if (kind === "cloudevents") return checkCloudEvent(body, contentType);
  if (!isObj(body)) return "body is not a JSON object";
  switch (kind) {
    case "wechat": {
      if (body.msgtype === "text") {
        return isObj(body.text) && nonEmptyString(body.text.content)
          ? null
          : "text.content missing";
      }
      if (body.msgtype === "markdown") {
        return isObj(body.markdown) && nonEmptyString(body.markdown.content)
          ? null
          : "markdown.content missing";
      }
      return `invalid msgtype ${JSON.stringify(body.msgtype)}`;
    }
    case "dingtalk": {
      if (body.at !== undefined && !isObj(body.at)) return "at must be an object";
      if (body.msgtype === "text") {
        return isObj(body.text) && nonEmptyString(body.text.content)
          ? null
          : "text.content missing";
      }
      if (body.msgtype === "markdown") {
        const m = body.markdown;
        return isObj(m) && nonEmptyString(m.title) && nonEmptyString(m.text)
          ? null
          : "markdown.title/text missing";
      }
      return `invalid msgtype ${JSON.stringify(body.msgtype)}`;
    }
    case "slack": {
      const hasText = nonEmptyString(body.text);
      const blocks = body.blocks;
      if (blocks !== undefined && !Array.isArray(blocks)) return "blocks must be an array";
      if (!hasText && !(Array.isArray(blocks) && blocks.length > 0)) return "no text";
      return null;
    }
    case "feishu": {
      if (body.msg_type === "text") {
        return isObj(body.content) && nonEmptyString(body.content.text)
          ? null
          : "content.text missing";
      }
      if (body.msg_type === "interactive") return isObj(body.card) ? null : "card missing";
      if (body.msg_type === "post")
        return isObj(body.content) && isObj(body.content.post) ? null : "content.post missing";
      return `invalid msg_type ${JSON.stringify(body.msg_type)}`;
    }
  }
}

function goodAnswer(kind: ReceiverKind): Answer {
  switch (kind) {
    case "wechat":
    case "dingtalk":
      return json(200, { errcode: 0, errmsg: "ok" });
    case "slack":
      return text(200, "ok");
    case "feishu":
      return json(200, {
        StatusCode: 0,
        StatusMessage: "success",
        code: 0,
        data: {},
        msg: "success",
      });
    case "webhook":
      return json(200, { ok: true });
    case "cloudevents":
      return text(202, "");
  }
}

function rejectAnswer(kind: ReceiverKind, why: string): Answer {
  switch (kind) {
    case "wechat":
      return json(200, { errcode: 40008, errmsg: `invalid message type, hint: [rig] ${why}` });
    case "dingtalk":
      return json(200, { errcode: 300001, errmsg: `param error: ${why}` });
    case "slack":
      return text(400, why === "no text" ? "no_text" : "invalid_payload");
    case "feishu":
      return json(200, { code: 19002, msg: `params error, ${why}`, data: {} });
    case "webhook":
    case "cloudevents":
      return json(400, { error: why });
  }
}

function errcodeAnswer(kind: ReceiverKind): Answer {
  switch (kind) {
    case "wechat":
      return json(200, { errcode: 93000, errmsg: "invalid webhook url, hint: [rig]" });
    case "dingtalk":
      return json(200, { errcode: 310000, errmsg: "keywords not in content" });
    case "slack":
      return text(403, "invalid_token");
    case "feishu":
      return json(200, {
        code: 19021,
        msg: "sign match fail or timestamp is not within one hour from current time",
      });
    case "webhook":
    case "cloudevents":
      return json(400, { error: "rejected" });
  }
}

function refusedAnswer(kind: ReceiverKind, r: Refused): Answer {
  return kind === "feishu"
    ? json(200, { code: r.code, data: {}, msg: r.message })
    : json(200, { errcode: r.code, errmsg: r.message });
}

export async function startReceivers(): Promise<Receivers> {
  const security = new Map<ReceiverKind, RobotSecurity>();
  const limits = new Map<ReceiverKind, RateLimit & { count: number; until: number }>();
  const log = new Map<ReceiverKind, Received[]>(RECEIVER_KINDS.map((k) => [k, []]));
  const modes = new Map<ReceiverKind, { mode: ReceiverMode; delayMs: number }>(
    RECEIVER_KINDS.map((k) => [k, { mode: "ok", delayMs: 2000 }]),
  );
  const waiters = new Set<() => void>();
  const hanging = new Set<http.ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0]!;
      const kind = path.split("/")[1] as ReceiverKind;
      if (!log.has(kind)) {
        res.writeHead(404).end("no such receiver");
        return;
      }
      const raw = Buffer.concat(chunks).toString("utf8");
      let body: unknown;
      try {
        body = raw.length > 0 ? JSON.parse(raw) : undefined;
      } catch {
        body = undefined;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        headers[k] = Array.isArray(v) ? v.join(", ") : (v ?? "");
      const url = new URL(req.url ?? "/", "http://receiver");
      const rec: Received = {
        body,
        raw,
        headers,
        path,
        at: Date.now(),
        query: Object.fromEntries(url.searchParams),
      };
      const why =
        req.method !== "POST"
          ? `method ${req.method} not allowed`
          : checkShape(kind, body, req.headers["content-type"]);
      if (why) rec.rejected = why;
      const ip = (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
      const sec = security.get(kind);
      if (!why && isObj(body)) {
        const refused =
          kind === "dingtalk" && sec
            ? checkDingTalk(sec, url.searchParams, body, ip)
            : kind === "feishu" && sec
              ? checkFeishu(sec, body, ip)
              : kind === "wechat"
                ? checkWeCom(body)
                : null;
        if (refused) rec.refused = refused;
      }
      const limit = limits.get(kind);
      let limited: number | undefined;
      if (limit) {
        const now = Date.now();
        if (now < limit.until) limited = Math.ceil((limit.until - now) / 1000);
        else if (++limit.count > limit.burst) {
          limit.count = 0;
          limit.until = now + limit.retryAfterSec * 1000;
          limited = limit.retryAfterSec;
        }
      }
      log.get(kind)!.push(rec);
      for (const w of [...waiters]) w();

      const { mode, delayMs } = modes.get(kind)!;
      let answer: Answer;
      if (mode === "fail") answer = text(500, "Internal Server Error");
      else if (limited !== undefined) answer = text(429, "rate_limited");
      else if (why) answer = rejectAnswer(kind, why);
      else if (rec.refused) answer = refusedAnswer(kind, rec.refused);
      else if (mode === "errcode") answer = errcodeAnswer(kind);
      else answer = goodAnswer(kind);
      const send = (): void => {
        rec.status = answer.status;
        res
          .writeHead(answer.status, {
            "content-type": answer.contentType,
            ...(limited !== undefined ? { "retry-after": String(limited) } : {}),
          })
          .end(answer.body);
      };
      if (mode === "hang") {
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
      } else if (mode === "slow") {
        const t = setTimeout(() => {
          timers.delete(t);
          send();
        }, delayMs);
        timers.add(t);
      } else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: (kind) => `http://127.0.0.1:${port}/${kind}/hook`,
    received: (kind) => [...log.get(kind)!],
    waitFor(kind, predicate, timeoutMs) {
      return new Promise<Received>((resolve, reject) => {
        const check = (): boolean => {
          const hit = log.get(kind)!.find(predicate);
          if (!hit) return false;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(hit);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const got = log.get(kind)!.map((r) => r.raw);
          reject(
            new Error(
              `receiver ${kind}: no matching request within ${timeoutMs} ms; got ${JSON.stringify(got)}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    behave(kind, mode, opts) {
      modes.set(kind, { mode, delayMs: opts?.delayMs ?? modes.get(kind)!.delayMs });
    },
    secure(kind, sec) {
      if (sec) security.set(kind, sec);
      else security.delete(kind);
    },
    rateLimit(kind, limit) {
      if (limit) limits.set(kind, { ...limit, count: 0, until: 0 });
      else limits.delete(kind);
    },
    clear(kind) {
      for (const k of kind ? [kind] : RECEIVER_KINDS) log.set(k, []);
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      for (const r of hanging) r.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
