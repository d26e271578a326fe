// Chat robots' security settings: what a refusal by DingTalk's or Feishu's security means and what to change
// (one wording for the watcher's log, `notify test` and `kubectl coredog doctor`), and which fixed words of the
// message template a "custom keywords" robot can match.
import { NOTIFY_SECRET } from "./names.js";
import type { ChannelKind, NoticeChannelSettings } from "./settings/types.js";
import { DEFAULT_MESSAGE_TEMPLATE } from "./template.js";

/** signature: the sign is wrong or missing; timestamp: the signed time is off by more than an hour. */
export type RefusalKind = "signature" | "timestamp" | "keyword" | "ip";

export interface Refusal {
  kind: RefusalKind;
  /** The provider's code and message, e.g. `errcode 310000 "sign not match"`. */
  said: string;
  /** What the refusal means, in a few words. */
  what: string;
  /** What to change. */
  fix: string;
}

const PROVIDER: Partial<Record<ChannelKind, string>> = { dingtalk: "DingTalk", feishu: "Feishu" };

function explain(chan: ChannelKind, kind: RefusalKind): { what: string; fix: string } {
  const robot = `the ${PROVIDER[chan] ?? chan} robot`;
  switch (kind) {
    case "signature":
      return {
        what: `${robot} checks signatures ("加签"/signature verification) and this one does not match`,
        fix: `put the robot's secret (${chan === "dingtalk" ? "the SEC… string under 加签" : "the key under 签名校验"}) in Secret ${NOTIFY_SECRET} and point the channel's secretRef.key at it (or set secret); if it is set, copy it again: it changes when the robot's security is reset`,
      };
    case "timestamp":
      return {
        what: `${robot} refused the signed timestamp: it is more than an hour away from the provider's clock`,
        fix: "the node's clock is off: check NTP/chrony on the node the watcher runs on",
      };
    case "keyword":
      return {
        what: `${robot} uses custom keywords ("自定义关键词") and the message contains none of them`,
        fix: "put one of the robot's keywords as fixed text in messageTemplate (configmap coredog), or switch the robot to signing and set the channel's secretRef",
      };
    case "ip":
      return {
        what: `${robot} has an IP allowlist ("IP地址(段)") and the request came from an address not on it`,
        fix: "add the nodes' egress (NAT) addresses to the robot's IP allowlist, or switch the robot to signing and set the channel's secretRef",
      };
  }
}

function kindFromText(msg: string): RefusalKind | undefined {
  if (/keyword|关键词/i.test(msg)) return "keyword";
  if (/whitelist|white list|allowlist|ip.*not.*allow|not.*allow.*ip|白名单|\bip\b/i.test(msg))
    return "ip";
  if (/sign|签名/i.test(msg)) return "signature";
  if (/timestamp|时间戳|expired|过期/i.test(msg)) return "timestamp";
  return undefined;
}

/**
 * The provider's answer as a security refusal, or undefined when it is something else. DingTalk answers
 * errcode 310000 for every security failure and says which in errmsg ("sign not match", "keywords not in
 * content", "ip … not in whitelist", "invalid timestamp", or the Chinese `description:…` form); Feishu answers
 * 19021 (sign match fail or timestamp not within one hour), 19022 (IP not allowed), 19024 (keywords not found).
 */
export function securityRefusal(
  chan: ChannelKind,
  code: number,
  message: string,
): Refusal | undefined {
  let kind: RefusalKind | undefined;
  const said = `${chan === "feishu" ? "code" : "errcode"} ${code} ${JSON.stringify(message)}`;
  if (chan === "dingtalk") {
    if (code !== 310000) return undefined;
    kind = kindFromText(message) ?? "signature";
  } else if (chan === "feishu") {
    if (code === 19021)
      kind =
        /timestamp.*not within|expired|过期/i.test(message) && !/sign/i.test(message)
          ? "timestamp"
          : "signature";
    else if (code === 19022) kind = "ip";
    else if (code === 19024) kind = "keyword";
    else return undefined;
  } else return undefined;
  const e = explain(chan, kind);
  if (chan === "feishu" && code === 19021 && kind === "signature")
    e.fix += "; Feishu says the same when the node's clock is more than an hour off";
  return { kind, said, ...e };
}

/** One line for the log: `refused by DingTalk's security (keyword): … ; fix: …`. */
export function refusalText(chan: ChannelKind, r: Refusal): string {
  return `refused by ${PROVIDER[chan] ?? chan}'s security (${r.kind}): ${r.what} [${r.said}]; fix: ${r.fix}`;
}

/**
 * The words of the template a keyword robot could match: its fixed text with the placeholders taken out (the
 * values change with every core). The default template's fixed words are "core", "signal", "node"…
 */
export function templateFixedText(template: string | undefined): string {
  return (template ?? DEFAULT_MESSAGE_TEMPLATE).replace(/\{[a-zA-Z]+\.[a-zA-Z]+\}/g, " ");
}

/** True when the channel signs its messages (a secret or a secretRef). */
export function hasSecret(ch: NoticeChannelSettings): boolean {
  return ch.secret !== undefined || ch.secretRef !== undefined;
}

/** DingTalk and Feishu robots must have a security setting: signing, keywords or an IP allowlist. */
export function needsSecurity(chan: ChannelKind): boolean {
  return chan === "dingtalk" || chan === "feishu";
}
