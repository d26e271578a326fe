import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sendNotice, NoticeError } from "../../../controller/notify/send.js";
import { buildPayload, checkResponse } from "../../../controller/notify/payloads.js";
import { startLocalReceiver, type Kind, type LocalReceiver } from "./local-receiver.js";

let rx: LocalReceiver;
beforeAll(async () => {
  rx = await startLocalReceiver();
});
afterAll(async () => {
  await rx.stop();
});
const kinds: Kind[] = ["wechat", "slack", "dingtalk", "feishu", "webhook"];
beforeEach(() => {
  for (const k of kinds) rx.behave(k, "ok");
});

async function failure(p: Promise<unknown>): Promise<NoticeError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(NoticeError);
    return err as NoticeError;
  }
  throw new Error("expected a failure");
}

describe("sendNotice payloads", () => {
  it("sends each provider the body it expects", async () => {
    const text = "[shop/api-1] core: core.api.1";
    for (const chan of kinds) {
      await sendNotice({ chan, webhookUrl: rx.url(chan) }, text, {
        fields: { namespace: "shop", pod: "api-1", file: "core.api.1", size: 42, sha256: "ab" },
      });
    }
    expect(rx.received("wechat").at(-1)?.body).toEqual({
      msgtype: "markdown",
      markdown: { content: text },
    });
    expect(rx.received("slack").at(-1)?.body).toEqual({ text });
    expect(rx.received("dingtalk").at(-1)?.body).toEqual({
      msgtype: "markdown",
      markdown: { title: "CoreDog: core dump", text },
    });
    expect(rx.received("feishu").at(-1)?.body).toEqual({ msg_type: "text", content: { text } });
    expect(rx.received("webhook").at(-1)?.body).toMatchObject({
      namespace: "shop",
      pod: "api-1",
      file: "core.api.1",
      size: 42,
      sha256: "ab",
      message: text,
    });
    expect(rx.received("slack").at(-1)?.headers["content-type"]).toMatch(/application\/json/);
  });

  it("truncates WeCom content to its 4096-byte limit without splitting a character", () => {
    const long = "崩".repeat(3000); // 9000 bytes
    const cut = (buildPayload("wechat", long) as { markdown: { content: string } }).markdown
      .content;
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(4096);
    expect(cut).not.toContain("\uFFFD");
    expect(cut.endsWith("(truncated)")).toBe(true);
  });
});

describe("sendNotice failures", () => {
  it("treats errcode != 0 (WeCom, DingTalk), code != 0 (Feishu) and a non-ok Slack body as failures, without retrying", async () => {
    for (const chan of ["wechat", "dingtalk", "feishu", "slack"] as const) {
      rx.behave(chan, "errcode");
      const before = rx.received(chan).length;
      const err = await failure(
        sendNotice({ chan, webhookUrl: rx.url(chan) }, "x", { retries: 3, backoffMs: 10 }),
      );
      expect(rx.received(chan).length - before).toBe(1);
      expect(err.message).toContain(`notice to ${chan}`);
      expect(err.attempts).toBe(1);
    }
    const e = await failure(sendNotice({ chan: "wechat", webhookUrl: rx.url("wechat") }, "x"));
    expect(e.message).toContain("errcode=93000");
  });

  it("retries a 500 with backoff and gives up after the bounded number of attempts", async () => {
    rx.behave("slack", "fail");
    const before = rx.received("slack").length;
    const err = await failure(
      sendNotice({ chan: "slack", webhookUrl: rx.url("slack") }, "x", {
        retries: 2,
        backoffMs: 20,
      }),
    );
    expect(rx.received("slack").length - before).toBe(3);
    expect(err.message).toMatch(/failed after 3 attempts: HTTP 500/);
    const times = rx
      .received("slack")
      .slice(-3)
      .map((r) => r.at);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(15); // the second backoff is 20..40 ms
  });

  it("succeeds when a retry gets through", async () => {
    rx.behave("feishu", "fail-once");
    const before = rx.received("feishu").length;
    await sendNotice({ chan: "feishu", webhookUrl: rx.url("feishu") }, "x", { backoffMs: 10 });
    expect(rx.received("feishu").length - before).toBe(2);
  });

  it("does not retry a 4xx, but retries 429", async () => {
    rx.behave("webhook", "400");
    let before = rx.received("webhook").length;
    await failure(
      sendNotice({ chan: "webhook", webhookUrl: rx.url("webhook") }, "x", { backoffMs: 10 }),
    );
    expect(rx.received("webhook").length - before).toBe(1);
    rx.behave("webhook", "429");
    before = rx.received("webhook").length;
    const err = await failure(
      sendNotice({ chan: "webhook", webhookUrl: rx.url("webhook") }, "x", {
        retries: 2,
        backoffMs: 10,
      }),
    );
    expect(rx.received("webhook").length - before).toBe(3);
    expect(err.message).toContain("HTTP 429");
  });

  it("times out a hanging receiver per attempt", async () => {
    rx.behave("dingtalk", "hang");
    const t0 = Date.now();
    const err = await failure(
      sendNotice({ chan: "dingtalk", webhookUrl: rx.url("dingtalk") }, "x", {
        timeoutMs: 200,
        retries: 1,
        backoffMs: 10,
      }),
    );
    const took = Date.now() - t0;
    expect(err.message).toContain("timed out after 200 ms");
    expect(err.attempts).toBe(2);
    expect(took).toBeGreaterThanOrEqual(380);
    expect(took).toBeLessThan(2000);
  });

  it("waits for a slow receiver that answers within the timeout", async () => {
    rx.behave("wechat", "slow");
    await sendNotice({ chan: "wechat", webhookUrl: rx.url("wechat") }, "x", { timeoutMs: 3000 });
  });

  it("stops at once when aborted", async () => {
    rx.behave("slack", "hang");
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    const err = await failure(
      sendNotice({ chan: "slack", webhookUrl: rx.url("slack") }, "x", {
        signal: ac.signal,
        retries: 5,
      }),
    );
    expect(Date.now() - t0).toBeLessThan(5000); // the abort, not the retries' timeouts
    expect(err.message).toContain("aborted");
  });

  it("names the channel but never prints the secret of its URL", async () => {
    rx.behave("wechat", "fail");
    const secret = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";
    const err = await failure(
      sendNotice(
        { chan: "wechat", webhookUrl: rx.url("wechat", `/cgi-bin/webhook/send?key=${secret}`) },
        "x",
        {
          retries: 0,
        },
      ),
    );
    expect(err.message).toContain("notice to wechat (http://127.0.0.1:");
    expect(err.message).toContain("key=***");
    expect(err.message).not.toContain(secret);
    expect(err.chan).toBe("wechat");
  });

  it("reports an unreachable receiver clearly", async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const err = await failure(
      sendNotice({ chan: "slack", webhookUrl: `http://127.0.0.1:${port}/hook` }, "x", {
        retries: 0,
      }),
    );
    expect(err.message).toBe(
      `notice to slack (http://127.0.0.1:${port}/hook) failed after 1 attempt: fetch failed: ECONNREFUSED`,
    );
  });
});

describe("checkResponse", () => {
  it("judges provider answers", () => {
    expect(checkResponse("wechat", 200, '{"errcode":0,"errmsg":"ok"}').ok).toBe(true);
    expect(
      checkResponse("wechat", 200, '{"errcode":45009,"errmsg":"api freq out of limit"}'),
    ).toMatchObject({
      ok: false,
      retryable: true,
    });
    expect(checkResponse("dingtalk", 200, "not json").ok).toBe(false);
    expect(checkResponse("feishu", 200, '{"StatusCode":0}').ok).toBe(true);
    expect(checkResponse("slack", 200, '{"ok":true}').ok).toBe(true);
    expect(checkResponse("slack", 200, "").ok).toBe(false);
    expect(checkResponse("webhook", 204, "").ok).toBe(true);
    expect(checkResponse("webhook", 503, "down")).toMatchObject({ ok: false, retryable: true });
    expect(checkResponse("webhook", 404, "")).toMatchObject({ ok: false, retryable: false });
  });
});
