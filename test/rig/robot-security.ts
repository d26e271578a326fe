// What the chat providers check before they take a robot message, written from their documentation and not from
// the product's code: DingTalk's and Feishu's signatures and timestamps, custom keywords and IP allowlists, WeCom's
// size limits and mention lists. Each check answers as the provider does (its error code and wording).
import { createHmac, timingSafeEqual } from "node:crypto";

export interface RobotSecurity {
  /** "加签"/signature verification with this secret. */
  secret?: string;
  /** Custom keywords: the message must contain one. */
  keywords?: string[];
  /** IP allowlist: the request must come from one of these addresses. */
  allowIps?: string[];
}

export interface Refused {
  code: number;
  message: string;
}

const HOUR_MS = 3_600_000;

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every string in the message a keyword may be found in (DingTalk and Feishu look at the content shown). */
function shownText(body: Record<string, unknown>): string {
  const parts: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === "string") parts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (isObj(v)) Object.values(v).forEach(walk);
  };
  walk(body.text);
  walk(body.markdown);
  walk(body.content);
  walk(body.card);
  return parts.join("\n");
}

/**
 * DingTalk: `timestamp` (ms, within an hour of now) and `sign` in the query,
 * sign = base64(HmacSHA256(key=secret, timestamp+"\n"+secret)), URL-encoded; errcode 310000 for every refusal.
 */
export function checkDingTalk(
  sec: RobotSecurity,
  query: URLSearchParams,
  body: Record<string, unknown>,
  remoteIp: string,
  now = Date.now(),
): Refused | null {
  if (sec.allowIps && !sec.allowIps.includes(remoteIp))
    return { code: 310000, message: `ip ${remoteIp} not in whitelist` };
  if (sec.secret !== undefined) {
    const ts = query.get("timestamp");
    const sign = query.get("sign");
    if (!ts || !sign || !/^\d+$/.test(ts)) return { code: 310000, message: "sign not match" };
    if (Math.abs(now - Number(ts)) > HOUR_MS) return { code: 310000, message: "invalid timestamp" };
    const want = createHmac("sha256", sec.secret).update(`${ts}\n${sec.secret}`).digest("base64");
    if (!same(sign, want)) return { code: 310000, message: "sign not match" };
  }
  if (sec.keywords && !sec.keywords.some((k) => shownText(body).includes(k)))
    return { code: 310000, message: "keywords not in content" };
  return null;
}

/**
 * Feishu/Lark: `timestamp` (s, within an hour) and `sign` in the body,
 * sign = base64(HmacSHA256(key=timestamp+"\n"+secret, message="")); 19021 sign, 19022 IP, 19024 keywords.
 */
export function checkFeishu(
  sec: RobotSecurity,
  body: Record<string, unknown>,
  remoteIp: string,
  now = Date.now(),
): Refused | null {
  if (sec.allowIps && !sec.allowIps.includes(remoteIp))
    return { code: 19022, message: "Ip Not Allowed" };
  if (sec.secret !== undefined) {
    const ts = body.timestamp;
    const sign = body.sign;
    const fail = {
      code: 19021,
      message: "sign match fail or timestamp is not within one hour from current time",
    };
    if ((typeof ts !== "string" && typeof ts !== "number") || typeof sign !== "string") return fail;
    const secs = Number(ts);
    if (!Number.isInteger(secs) || Math.abs(now - secs * 1000) > HOUR_MS) return fail;
    const want = createHmac("sha256", `${ts}\n${sec.secret}`).update("").digest("base64");
    if (!same(sign, want)) return fail;
  }
  if (sec.keywords && !sec.keywords.some((k) => shownText(body).includes(k)))
    return { code: 19024, message: "Key Words Not Found" };
  return null;
}

/** WeCom: text content at most 2048 bytes, markdown content at most 4096 bytes (UTF-8); mention lists of strings. */
export function checkWeCom(body: Record<string, unknown>): Refused | null {
  const section = body.msgtype === "text" ? body.text : body.markdown;
  if (!isObj(section)) return null;
  const limit = body.msgtype === "text" ? 2048 : 4096;
  const content = typeof section.content === "string" ? section.content : "";
  const bytes = Buffer.byteLength(content);
  if (bytes > limit)
    return {
      code: 40058,
      message: `${String(body.msgtype)}.content exceed max length ${limit}. invalid Request Parameter`,
    };
  for (const key of ["mentioned_list", "mentioned_mobile_list"]) {
    const list = section[key];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((x) => typeof x !== "string"))
      return { code: 40058, message: `${key} must be a list of strings` };
  }
  return null;
}
