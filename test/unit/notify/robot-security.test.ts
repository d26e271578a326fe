// CoreDog's notices against receivers that check what the real robots check: DingTalk's and Feishu's signatures,
// timestamps, keywords and IP allowlists (with their error codes), WeCom's size limits, Slack's 429 + Retry-After.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createNotifier } from "../../../controller/notify/notifier.js";
import { RefusalBook } from "../../../controller/notify/refusals.js";
import { NoticeError, sendNotice } from "../../../controller/notify/send.js";
import { dingtalkSign, feishuSign } from "../../../controller/notify/sign.js";
import { RECEIVER_KINDS, startReceivers, type Receivers } from "../../rig/receivers.js";
import { capturingLogger, coreReport } from "./fixtures.js";

let rx: Receivers;
let secretDir: string;
beforeAll(async () => {
  rx = await startReceivers();
  secretDir = mkdtempSync(join(tmpdir(), "coredog-notify-secret-"));
  writeFileSync(join(secretDir, "ding"), "SECding-robot-secret\n");
  writeFileSync(join(secretDir, "lark"), "lark-robot-secret");
});
afterAll(async () => {
  await rx.stop();
  rmSync(secretDir, { recursive: true, force: true });
});
beforeEach(() => {
  for (const k of RECEIVER_KINDS) {
    rx.behave(k, "ok");
    rx.clear(k);
    rx.rateLimit(k, undefined);
  }
  rx.secure("dingtalk", undefined);
  rx.secure("feishu", undefined);
});

async function until(ok: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const fast = { backoffMs: 5, timeoutMs: 3000 };

async function refusal(p: Promise<unknown>): Promise<NoticeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NoticeError);
  return err as NoticeError;
}

describe("signatures as the providers document them", () => {
  it("DingTalk: base64(HMAC-SHA256(secret, timestamp\\nsecret)), the published example", () => {
    // The value published for timestamp 1700000000000 and secret "secret", URL-encoded.
    expect(encodeURIComponent(dingtalkSign("secret", 1700000000000))).toBe(
      "OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D",
    );
  });
  it("Feishu: the key is timestamp\\nsecret and the message empty", () => {
    expect(feishuSign("secret", 1599360473)).not.toBe(dingtalkSign("secret", 1599360473));
    expect(feishuSign("secret", 1599360473)).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });
});

describe("DingTalk robot security", () => {
  const url = () => rx.url("dingtalk");

  it("a signed message is taken; timestamp and sign travel in the query", async () => {
    rx.secure("dingtalk", { secret: "SECding-robot-secret" });
    await sendNotice(
      { chan: "dingtalk", webhookUrl: url(), secretRef: { name: "coredog-notify", key: "ding" } },
      "core dumped",
      {
        ...fast,
        secretDir,
      },
    );
    const got = rx.received("dingtalk").at(-1)!;
    expect(got.refused).toBeUndefined();
    expect(got.query.timestamp).toMatch(/^\d{13}$/);
    expect(got.query.sign).toBeTruthy();
  });

  it("an unsigned message, a wrong secret and an expired timestamp are refused with errcode 310000, named", async () => {
    rx.secure("dingtalk", { secret: "SECding-robot-secret" });
    const unsigned = await refusal(sendNotice({ chan: "dingtalk", webhookUrl: url() }, "x", fast));
    expect(unsigned.refusal?.kind).toBe("signature");
    const wrong = await refusal(
      sendNotice({ chan: "dingtalk", webhookUrl: url(), secret: "SECwrong" }, "x", fast),
    );
    expect(wrong.attempts).toBe(1);
    expect(wrong.refusal?.kind).toBe("signature");
    expect(wrong.message).toContain("errcode=310000");
    expect(wrong.message).toContain("refused by DingTalk's security (signature)");
    expect(wrong.message).toContain("coredog-notify");
    expect(wrong.message).not.toContain("SECwrong");
    const expired = await refusal(
      sendNotice({ chan: "dingtalk", webhookUrl: url(), secret: "SECding-robot-secret" }, "x", {
        ...fast,
        now: () => Date.now() - 2 * 3_600_000,
      }),
    );
    expect(expired.refusal?.kind).toBe("timestamp");
    expect(expired.message).toMatch(/clock/);
  });

  it("a keyword robot refuses a message without its keyword; the template's fixed text carries it", async () => {
    rx.secure("dingtalk", { keywords: ["告警"] });
    const { log, lines } = capturingLogger();
    const book = new RefusalBook();
    let template = "[{pod.namespace}/{pod.name}] core: {corefile.filename}";
    const n = createNotifier({
      log,
      settings: () => ({
        noticeChannels: [{ chan: "dingtalk", webhookUrl: url() }],
        messageTemplate: template,
        watcher: { groupWindowSeconds: 0 },
      }),
      sendOptions: fast,
      onOutcome: book.outcome,
    });
    n.notify(coreReport(), "uploaded");
    await until(() => lines.some((l) => l.includes("notice failed")));
    const failed = lines.find((l) => l.includes("notice failed"));
    expect(failed).toContain("refused by DingTalk's security (keyword)");
    expect(failed).toContain("messageTemplate");
    expect(book.list()).toMatchObject([{ channel: 0, chan: "dingtalk", kind: "keyword" }]);

    template = "告警 " + template;
    n.notify(coreReport({ filename: "core.other.1" }), "uploaded");
    await n.stop();
    expect(rx.received("dingtalk").at(-1)!.refused).toBeUndefined();
    expect(lines.filter((l) => l.includes("notice sent"))).toHaveLength(1);
    expect(book.list()).toEqual([]);
  });

  it("an IP allowlist that lacks the node's address is named", async () => {
    rx.secure("dingtalk", { allowIps: ["10.9.9.9"] });
    const e = await refusal(sendNotice({ chan: "dingtalk", webhookUrl: url() }, "x", fast));
    expect(e.refusal?.kind).toBe("ip");
    expect(e.message).toContain("allowlist");
  });

  it("mentions: at.atMobiles/atUserIds/isAtAll and the @ in the text", async () => {
    await sendNotice(
      {
        chan: "dingtalk",
        webhookUrl: url(),
        mentions: { mobiles: ["13800001111"], userIds: ["manager7"], all: false },
      },
      "core dumped",
      fast,
    );
    const body = rx.received("dingtalk").at(-1)!.body as {
      at: Record<string, unknown>;
      markdown: { text: string };
    };
    expect(body.at).toEqual({
      atMobiles: ["13800001111"],
      atUserIds: ["manager7"],
      isAtAll: false,
    });
    expect(body.markdown.text).toMatch(/@13800001111 @manager7$/);
  });
});

describe("Feishu robot security", () => {
  const url = () => rx.url("feishu");

  it("a signed message is taken; timestamp (s) and sign travel in the body", async () => {
    rx.secure("feishu", { secret: "lark-robot-secret" });
    await sendNotice(
      { chan: "feishu", webhookUrl: url(), secretRef: { name: "coredog-notify", key: "lark" } },
      "core dumped",
      { ...fast, secretDir },
    );
    const got = rx.received("feishu").at(-1)!;
    expect(got.refused).toBeUndefined();
    expect((got.body as { timestamp: string }).timestamp).toMatch(/^\d{10}$/);
  });

  it("19021 for a wrong or expired signature, 19024 without the keyword, 19022 from outside the allowlist", async () => {
    rx.secure("feishu", { secret: "lark-robot-secret" });
    const wrong = await refusal(
      sendNotice({ chan: "feishu", webhookUrl: url(), secret: "nope" }, "x", fast),
    );
    expect(wrong.message).toContain("code=19021");
    expect(wrong.refusal?.kind).toBe("signature");
    expect(wrong.message).toContain("refused by Feishu's security (signature)");
    const expired = await refusal(
      sendNotice({ chan: "feishu", webhookUrl: url(), secret: "lark-robot-secret" }, "x", {
        ...fast,
        now: () => Date.now() - 2 * 3_600_000,
      }),
    );
    expect(expired.message).toContain("code=19021");
    expect(expired.message).toMatch(/clock/);
    rx.secure("feishu", { keywords: ["CoreDog"] });
    const kw = await refusal(
      sendNotice({ chan: "feishu", webhookUrl: url() }, "core dumped", fast),
    );
    expect(kw.message).toContain("code=19024");
    expect(kw.refusal?.kind).toBe("keyword");
    await sendNotice({ chan: "feishu", webhookUrl: url() }, "CoreDog: core dumped", fast);
    rx.secure("feishu", { allowIps: ["10.9.9.9"] });
    const ip = await refusal(sendNotice({ chan: "feishu", webhookUrl: url() }, "x", fast));
    expect(ip.message).toContain("code=19022");
    expect(ip.refusal?.kind).toBe("ip");
  });

  it("mentions are <at user_id> tags in the text", async () => {
    await sendNotice(
      {
        chan: "feishu",
        webhookUrl: url(),
        mentions: { userIds: ["ou_abc"], mobiles: [], all: true },
      },
      "core dumped",
      fast,
    );
    const text = (rx.received("feishu").at(-1)!.body as { content: { text: string } }).content.text;
    expect(text).toContain('<at user_id="ou_abc"></at>');
    expect(text).toContain('<at user_id="all">所有人</at>');
  });

  it("a secretRef key missing from the Secret is said so, and nothing is sent", async () => {
    const before = rx.received("feishu").length;
    const e = await refusal(
      sendNotice(
        { chan: "feishu", webhookUrl: url(), secretRef: { name: "coredog-notify", key: "absent" } },
        "x",
        { ...fast, secretDir },
      ),
    );
    expect(e.message).toContain('secretRef key "absent" is not in Secret coredog-notify');
    expect(rx.received("feishu").length).toBe(before);
  });
});

describe("WeCom's size limits", () => {
  const long = (n: number) => "崩".repeat(n); // 3 bytes each in UTF-8
  const link = "download: [core](https://s3.example/crashes/core.1?X-Amz-Signature=abcdef)";

  it("the receiver refuses a markdown message over 4096 bytes (the check can fail)", async () => {
    const res = await fetch(rx.url("wechat"), {
      method: "POST",
      body: JSON.stringify({ msgtype: "markdown", markdown: { content: long(1500) } }),
    });
    expect(((await res.json()) as { errcode: number }).errcode).toBe(40058);
  });

  it("a long markdown message is cut to 4096 bytes with the download link whole", async () => {
    await sendNotice(
      { chan: "wechat", webhookUrl: rx.url("wechat") },
      `**core** in \`shop\`\n${long(3000)}\n${link}`,
      fast,
    );
    const got = rx.received("wechat").at(-1)!;
    expect(got.refused).toBeUndefined();
    const content = (got.body as { markdown: { content: string } }).markdown.content;
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(4096);
    expect(content).toContain(link);
    expect(content).toContain("…(truncated)");
  });

  it("with mentions it sends text (2048 bytes) with mentioned_list and mentioned_mobile_list", async () => {
    await sendNotice(
      {
        chan: "wechat",
        webhookUrl: rx.url("wechat"),
        mentions: { userIds: ["wangqing"], mobiles: ["13800001111"], all: true },
      },
      `core\n${long(2000)}\n${link}`,
      fast,
    );
    const got = rx.received("wechat").at(-1)!;
    expect(got.refused).toBeUndefined();
    const text = (got.body as { text: Record<string, unknown> }).text;
    expect(Buffer.byteLength(text.content as string)).toBeLessThanOrEqual(2048);
    expect(text.content).toContain(link);
    expect(text.mentioned_list).toEqual(["wangqing", "@all"]);
    expect(text.mentioned_mobile_list).toEqual(["13800001111"]);
  });
});

describe("Slack's 429 and Retry-After", () => {
  it("waits as long as Retry-After says, then the retry is taken", async () => {
    rx.rateLimit("slack", { burst: 1, retryAfterSec: 1 });
    const url = rx.url("slack");
    await sendNotice({ chan: "slack", webhookUrl: url }, "first", fast);
    await sendNotice({ chan: "slack", webhookUrl: url }, "second", fast);
    const got = rx.received("slack");
    expect(got.map((r) => r.status)).toEqual([200, 429, 200]);
    expect(got[2]!.at - got[1]!.at).toBeGreaterThanOrEqual(950);
  });

  it("gives up after the bounded retries when the limit lasts", async () => {
    rx.rateLimit("slack", { burst: 0, retryAfterSec: 1 });
    const e = await refusal(
      sendNotice({ chan: "slack", webhookUrl: rx.url("slack") }, "x", { ...fast, retries: 1 }),
    );
    expect(e.attempts).toBe(2);
    expect(e.message).toContain("HTTP 429");
  });
});

describe("one book of refusals per channel", () => {
  it("keeps the last refusal of each channel and drops it once the channel accepts", () => {
    const book = new RefusalBook();
    const err = new NoticeError("x", "feishu", 1, {
      kind: "ip",
      said: "code 19022",
      what: "w",
      fix: "f",
    });
    book.outcome(2, "feishu", err);
    book.outcome(0, "dingtalk", new NoticeError("timeout", "dingtalk", 3));
    expect(book.list().map((r) => [r.channel, r.kind])).toEqual([[2, "ip"]]);
    book.outcome(2, "feishu");
    expect(book.list()).toEqual([]);
  });
});
