// The notifier against the rig's chat receivers (test/rig/receivers.ts), which check each provider's
// payload shape and answer as the provider does.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RECEIVER_KINDS, startReceivers, type Receivers } from "../../rig/receivers.js";
import { NoticeError, sendNotice } from "../../../controller/notify/send.js";
import { createNotifier } from "../../../controller/notify/notifier.js";
import { capturingLogger, coreReport } from "./fixtures.js";

let rx: Receivers;
beforeAll(async () => {
  rx = await startReceivers();
});
afterAll(async () => {
  await rx.stop();
});
beforeEach(() => {
  for (const k of RECEIVER_KINDS) rx.behave(k, "ok");
  rx.clear();
});

describe("notices against the rig's provider receivers", () => {
  it("every provider accepts the payload's shape", async () => {
    const { log, lines } = capturingLogger();
    const n = createNotifier({
      log,
      settings: () => ({
        noticeChannels: RECEIVER_KINDS.map((chan) => ({ chan, webhookUrl: rx.url(chan) })),
        watcher: { groupWindowSeconds: 0 },
      }),
    });
    n.notify(coreReport(), "uploaded");
    await n.stop();
    for (const k of RECEIVER_KINDS) {
      const got = rx.received(k);
      expect(got, k).toHaveLength(1);
      expect(got[0]!.rejected, k).toBeUndefined();
      expect(got[0]!.status, k).toBe(k === "cloudevents" ? 202 : 200);
      expect(got[0]!.raw, k).toContain(
        "[shop/api-7d9f-abcde] core: core.api.123.node-1.1700000000",
      );
    }
    expect(lines.filter((l) => l.includes("notice sent")).length).toBe(RECEIVER_KINDS.length);
  });

  it("provider error codes fail without retries; 500 is retried; hang times out; slow succeeds", async () => {
    for (const k of RECEIVER_KINDS.filter((k) => k !== "webhook")) {
      rx.behave(k, "errcode");
      await expect(
        sendNotice({ chan: k, webhookUrl: rx.url(k) }, "x", { retries: 2, backoffMs: 10 }),
      ).rejects.toBeInstanceOf(NoticeError);
      expect(rx.received(k), k).toHaveLength(1);
    }
    rx.behave("wechat", "fail");
    rx.clear("wechat");
    await expect(
      sendNotice({ chan: "wechat", webhookUrl: rx.url("wechat") }, "x", {
        retries: 2,
        backoffMs: 10,
      }),
    ).rejects.toThrow(/notice to wechat .* failed after 3 attempts: HTTP 500/);
    expect(rx.received("wechat")).toHaveLength(3);

    rx.behave("feishu", "hang");
    await expect(
      sendNotice({ chan: "feishu", webhookUrl: rx.url("feishu") }, "x", {
        timeoutMs: 200,
        retries: 0,
      }),
    ).rejects.toThrow(/timed out after 200 ms/);

    rx.behave("dingtalk", "slow", { delayMs: 300 });
    rx.clear("dingtalk");
    await sendNotice({ chan: "dingtalk", webhookUrl: rx.url("dingtalk") }, "x", {
      timeoutMs: 2000,
    });
    expect(rx.received("dingtalk")[0]!.status).toBe(200);
  });
});
