// Request signing of chat robots with the "加签"/signature security setting, as each provider documents it.
// DingTalk: `timestamp` (ms) and `sign` in the query; sign = urlencode(base64(HMAC-SHA256(key=secret,
// msg=timestamp+"\n"+secret))). Feishu/Lark: `timestamp` (s) and `sign` in the JSON body;
// sign = base64(HMAC-SHA256(key=timestamp+"\n"+secret, msg="")). Both refuse a timestamp more than an hour off.
import { createHmac } from "node:crypto";

export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac("sha256", secret).update(`${timestampMs}\n${secret}`).digest("base64");
}

/** The webhook URL with `timestamp` and `sign` added (URLSearchParams encodes the sign's + / =). */
export function dingtalkSignedUrl(webhookUrl: string, secret: string, nowMs: number): string {
  const url = new URL(webhookUrl);
  url.searchParams.set("timestamp", String(nowMs));
  url.searchParams.set("sign", dingtalkSign(secret, nowMs));
  return url.toString();
}

export function feishuSign(secret: string, timestampSec: number): string {
  return createHmac("sha256", `${timestampSec}\n${secret}`).update("").digest("base64");
}

/** The fields Feishu reads from the body: `timestamp` as a string of seconds, and `sign`. */
export function feishuSignature(
  secret: string,
  nowMs: number,
): { timestamp: string; sign: string } {
  const ts = Math.floor(nowMs / 1000);
  return { timestamp: String(ts), sign: feishuSign(secret, ts) };
}
