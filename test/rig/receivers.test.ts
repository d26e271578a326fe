import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceivers, type ReceiverKind, type Receivers } from "./receivers.js";

async function post(
  url: string,
  body: unknown,
  timeoutMs = 3000,
  contentType = "application/json",
) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

const good: Record<ReceiverKind, unknown[]> = {
  wechat: [
    { msgtype: "text", text: { content: "core dumped" } },
    { msgtype: "markdown", markdown: { content: "**core**" } },
  ],
  dingtalk: [
    { msgtype: "text", text: { content: "core dumped" }, at: { isAtAll: false } },
    { msgtype: "markdown", markdown: { title: "core", text: "**core**" } },
  ],
  slack: [
    { text: "core dumped" },
    { text: "x", blocks: [{ type: "section", text: { type: "mrkdwn", text: "*c*" } }] },
  ],
  feishu: [
    { msg_type: "text", content: { text: "core dumped" } },
    { msg_type: "interactive", card: { elements: [] } },
  ],
  webhook: [{ anything: 1 }],
  cloudevents: [
    {
      specversion: "1.0",
      id: "1",
      source: "/coredog/watcher/node-1",
      type: "io.coredog.crash.v1",
      time: "2026-12-04T17:00:00.123Z",
      subject: "shop/api",
      datacontenttype: "application/json",
      data: { crash: null },
    },
  ],
};
const bad: Record<Exclude<ReceiverKind, "webhook">, unknown> = {
  wechat: { msgtype: "text", content: "flat" },
  dingtalk: { msgtype: "markdown", markdown: { text: "no title" } },
  slack: { message: "no text field" },
  feishu: { msg_type: "text", text: "flat" },
  cloudevents: { specversion: "0.3", id: "1", source: "/x", type: "t" },
};

const CE = "application/cloudevents+json; charset=utf-8";

describe("rig chat receivers", () => {
  let r: Receivers;
  beforeAll(async () => {
    r = await startReceivers();
  });
  afterAll(async () => {
    await r?.stop();
  });

  it("answers good payloads the way each provider does", async () => {
    for (const body of good.wechat)
      expect((await post(r.url("wechat"), body)).json()).toEqual({ errcode: 0, errmsg: "ok" });
    for (const body of good.dingtalk)
      expect((await post(r.url("dingtalk"), body)).json()).toEqual({ errcode: 0, errmsg: "ok" });
    for (const body of good.slack) {
      const res = await post(r.url("slack"), body);
      expect([res.status, res.text]).toEqual([200, "ok"]);
    }
    for (const body of good.feishu) {
      const j = (await post(r.url("feishu"), body)).json();
      expect([j.code, j.msg, j.StatusCode]).toEqual([0, "success", 0]);
    }
    expect((await post(r.url("webhook"), good.webhook[0])).status).toBe(200);
    for (const k of ["wechat", "dingtalk", "slack", "feishu"] as const) {
      expect(r.received(k).map((x) => x.rejected)).toEqual([undefined, undefined]);
    }
    expect(r.received("wechat")[0]!.headers["content-type"]).toBe("application/json");
    const ce = await post(r.url("cloudevents"), good.cloudevents[0], 3000, CE);
    expect([ce.status, r.received("cloudevents").at(-1)!.rejected]).toEqual([202, undefined]);
  });

  it("takes only well-formed structured CloudEvents 1.0", async () => {
    const event = good.cloudevents[0] as Record<string, unknown>;
    const cases: [unknown, string, RegExp][] = [
      [bad.cloudevents, CE, /specversion "0.3"/],
      [event, "application/json", /not application\/cloudevents\+json/],
      [{ ...event, id: "" }, CE, /required attribute id/],
      [{ ...event, source: undefined }, CE, /required attribute source/],
      [{ ...event, type: 3 }, CE, /required attribute type/],
      [{ ...event, time: "yesterday" }, CE, /RFC 3339/],
      [{ ...event, Subject: "x" }, CE, /attribute name Subject/],
    ];
    for (const [body, type, why] of cases) {
      const res = await post(r.url("cloudevents"), body, 3000, type);
      expect(res.status).toBe(400);
      expect(r.received("cloudevents").at(-1)!.rejected).toMatch(why);
    }
  });

  it("rejects payloads of the wrong shape as the provider would", async () => {
    const w = await post(r.url("wechat"), bad.wechat);
    expect(w.status).toBe(200);
    expect(w.json().errcode).not.toBe(0);
    const d = await post(r.url("dingtalk"), bad.dingtalk);
    expect(d.status).toBe(200);
    expect(d.json().errcode).not.toBe(0);
    const s = await post(r.url("slack"), bad.slack);
    expect(s.status).toBe(400);
    expect(s.text).toBe("no_text");
    const s2 = await post(r.url("slack"), "not json");
    expect([s2.status, s2.text]).toEqual([400, "invalid_payload"]);
    const f = await post(r.url("feishu"), bad.feishu);
    expect(f.json().code).not.toBe(0);
    for (const k of ["wechat", "dingtalk", "slack", "feishu"] as const) {
      expect(r.received(k).at(-1)!.rejected).toBeTruthy();
    }
  });

  it("fails, returns error codes, hangs and answers slowly on demand; waitFor sees requests", async () => {
    r.behave("wechat", "fail");
    expect((await post(r.url("wechat"), good.wechat[0])).status).toBe(500);
    r.behave("wechat", "errcode");
    const e = await post(r.url("wechat"), good.wechat[0]);
    expect([e.status, e.json().errcode]).toEqual([200, 93000]);
    r.behave("slack", "hang");
    await expect(post(r.url("slack"), { text: "hang" }, 500)).rejects.toThrow();
    r.behave("dingtalk", "slow", { delayMs: 300 });
    const t0 = Date.now();
    expect((await post(r.url("dingtalk"), good.dingtalk[0])).json().errcode).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    r.behave("wechat", "ok");

    const waiting = r.waitFor("feishu", (x) => JSON.stringify(x.body).includes("later"), 2000);
    setTimeout(
      () => void post(r.url("feishu"), { msg_type: "text", content: { text: "later" } }),
      50,
    );
    expect(((await waiting).body as { content: { text: string } }).content.text).toBe("later");
    await expect(r.waitFor("webhook", () => false, 100)).rejects.toThrow(/no matching request/);
  });
});
