import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createNotifier,
  sendAlert,
  type NotifySettings,
  type NotifyChannel,
} from "../../../controller/notify/notifier.js";
import { startLocalReceiver, type Kind, type LocalReceiver } from "./local-receiver.js";
import { capturingLogger, coreReport, podInfo } from "./fixtures.js";

let rx: LocalReceiver;
beforeAll(async () => {
  rx = await startLocalReceiver();
});
afterAll(async () => {
  await rx.stop();
});
beforeEach(() => {
  for (const k of ["wechat", "slack", "dingtalk", "feishu", "webhook"] as Kind[])
    rx.behave(k, "ok");
});

function settings(channels: NotifyChannel[], over: Partial<NotifySettings> = {}): NotifySettings {
  return { noticeChannels: channels, watcher: { groupWindowSeconds: 0 }, ...over };
}

function textOf(kind: Kind, i = -1): string {
  const body = rx.received(kind).at(i)?.body as Record<string, unknown>;
  switch (kind) {
    case "wechat":
      return (body.markdown as { content: string }).content;
    case "dingtalk":
      return (body.markdown as { text: string }).text;
    case "feishu":
      return (body.content as { text: string }).text;
    default:
      return body.text as string;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("notifier", () => {
  it("renders the default message and logs 'notice sent' without the URL's secret", async () => {
    const { log, lines } = capturingLogger();
    const url = rx.url("slack", "/services/T1/B1/abcdefghijklmnopqrstuvwx");
    const n = createNotifier({
      log,
      settings: () => settings([{ chan: "slack", webhookUrl: url }]),
    });
    const before = rx.received("slack").length;
    n.notify(coreReport(), "uploaded");
    await n.stop();
    expect(rx.received("slack").length).toBe(before + 1);
    const text = textOf("slack");
    expect(text.split("\n")[0]).toBe("[shop/api-7d9f-abcde] core: core.api.123.node-1.1700000000");
    expect(text).toContain("SIGSEGV");
    const sent = lines.find((l) => l.includes("notice sent"));
    expect(sent).toContain("channel=slack");
    expect(sent).not.toContain("abcdefghijklmnopqrstuvwx");
  });

  it("says [/] only when the pod is unknown", async () => {
    const { log } = capturingLogger();
    const n = createNotifier({
      log,
      settings: () => settings([{ chan: "feishu", webhookUrl: rx.url("feishu") }]),
    });
    n.notify(
      coreReport({
        namespace: undefined,
        pod: undefined,
        podInfo: undefined,
        path: "/corefile/core.x.1",
        filename: "core.x.1",
      }),
      "uploaded",
    );
    await n.stop();
    expect(textOf("feishu").split("\n")[0]).toBe("[/] core: core.x.1");
  });

  it("applies the keyword filter per channel and logs why a channel was skipped", async () => {
    const { log, lines } = capturingLogger();
    const n = createNotifier({
      log,
      settings: () =>
        settings([
          { chan: "wechat", webhookUrl: rx.url("wechat"), keyword: "shop" },
          { chan: "dingtalk", webhookUrl: rx.url("dingtalk"), keyword: "production" },
        ]),
    });
    const w = rx.received("wechat").length;
    const d = rx.received("dingtalk").length;
    n.notify(coreReport(), "uploaded");
    await n.stop();
    expect(rx.received("wechat").length).toBe(w + 1);
    expect(rx.received("dingtalk").length).toBe(d);
    const skipped = lines.find((l) => /notice skipped: keyword/i.test(l));
    expect(skipped).toContain("production");
    expect(skipped).toContain("dingtalk");
  });

  it("logs when no channel is configured", async () => {
    const { log, lines } = capturingLogger();
    const n = createNotifier({ log, settings: () => settings([]) });
    n.notify(coreReport(), "uploaded");
    await n.stop();
    expect(lines.some((l) => l.includes("notice skipped: no NoticeChannel configured"))).toBe(true);
  });

  it("uses messageTemplate and escapes pod-side values so nobody can be mentioned", async () => {
    const { log } = capturingLogger();
    const chans: Kind[] = ["slack", "wechat", "dingtalk", "feishu"];
    const n = createNotifier({
      log,
      settings: () =>
        settings(
          chans.map((chan) => ({ chan, webhookUrl: rx.url(chan) })),
          {
            messageTemplate:
              "*crash* {pod.namespace}/{pod.name}: {corefile.filename} ({core.executable})",
          },
        ),
    });
    n.notify(
      coreReport({
        filename: "core.<!channel>.1",
        core: { threads: 1, executable: '@all <at user_id="all">x</at> <@U123>' },
      }),
      "uploaded",
    );
    await n.stop();
    const slack = textOf("slack");
    expect(slack.startsWith("*crash* shop/api-7d9f-abcde: ")).toBe(true); // the operator's markup stays
    expect(slack).not.toContain("<!channel>");
    expect(slack).not.toContain("<@U123>");
    expect(slack).toContain("&lt;!channel&gt;");
    for (const k of chans) {
      const t = textOf(k);
      expect(t).not.toMatch(/@all/);
      expect(t).not.toContain('<at user_id="all">');
    }
  });

  it("sends a failure notice with the error text", async () => {
    const { log } = capturingLogger();
    const n = createNotifier({
      log,
      settings: () => settings([{ chan: "webhook", webhookUrl: rx.url("webhook") }]),
    });
    n.notify(coreReport({ url: undefined }), "failed", "S3 unavailable: connect ECONNREFUSED");
    await n.stop();
    const body = rx.received("webhook").at(-1)?.body as Record<string, unknown>;
    expect(body.kind).toBe("failed");
    expect(body.message).toContain("upload failed: S3 unavailable: connect ECONNREFUSED");
    expect(body).toMatchObject({
      namespace: "shop",
      pod: "api-7d9f-abcde",
      signal: "SIGSEGV",
      executable: "/usr/bin/api",
    });
  });

  it("logs 'notice failed' with the reason and keeps going", async () => {
    const { log, lines } = capturingLogger();
    rx.behave("wechat", "errcode");
    const n = createNotifier({
      log,
      settings: () =>
        settings([{ chan: "wechat", webhookUrl: rx.url("wechat", "?key=sekrit-123456") }]),
    });
    n.notify(coreReport(), "uploaded");
    await n.stop();
    const failed = lines.find((l) => l.includes("notice failed"));
    expect(failed).toContain("errcode=93000");
    expect(failed).toContain("error=");
    expect(failed).not.toContain("sekrit-123456");
  });

  it("groups a crash loop: the first at once, one summary with the count when the window closes", async () => {
    const { log, lines } = capturingLogger();
    const n = createNotifier({
      log,
      settings: () =>
        settings([{ chan: "webhook", webhookUrl: rx.url("webhook") }], {
          watcher: { groupWindowSeconds: 0.8 },
        }),
    });
    const start = rx.received("webhook").length;
    const pods = ["api-1", "api-2", "api-3", "api-4", "api-5"];
    for (const [i, pod] of pods.entries()) {
      n.notify(
        coreReport({ pod, podInfo: podInfo({ name: pod }), filename: `core.api.${i}` }),
        "uploaded",
      );
    }
    // another executable of the same owner is another loop
    n.notify(
      coreReport({ core: { threads: 1, signal: 11, executable: "/usr/bin/other" } }),
      "uploaded",
    );
    await rx.waitFor("webhook", start + 2);
    await sleep(150);
    expect(rx.received("webhook").length).toBe(start + 2); // nothing else before the window closes
    const first = rx.received("webhook")[start]?.body as Record<string, unknown>;
    expect(first.file).toBe("core.api.0");
    const all = await rx.waitFor("webhook", start + 3, 2000);
    const summary = all[start + 2]?.body as Record<string, unknown>;
    expect(summary.kind).toBe("summary");
    expect(summary.count).toBe(4);
    expect(summary.file).toBe("core.api.4");
    expect(summary.message).toContain("and 4 more times in the last 0.8 s");
    expect(lines.filter((l) => l.includes("notice grouped")).length).toBe(4);
    // the loop is still being watched: one more core is counted, not sent at once
    n.notify(coreReport({ filename: "core.api.9" }), "uploaded");
    await sleep(100);
    expect(rx.received("webhook").length).toBe(start + 3);
    await n.stop(); // stop() sends what is still counted
    const last = rx.received("webhook").at(-1)?.body as Record<string, unknown>;
    expect(last.message).toContain("and 1 more time in the last");
    expect(rx.received("webhook").length).toBe(start + 4);
  });

  it("stop() gives up on a hanging receiver at its deadline", async () => {
    const { log, lines } = capturingLogger();
    rx.behave("slack", "hang");
    const n = createNotifier({
      log,
      settings: () => settings([{ chan: "slack", webhookUrl: rx.url("slack") }]),
    });
    n.notify(coreReport(), "uploaded");
    const t0 = Date.now();
    await n.stop(300);
    expect(Date.now() - t0).toBeLessThan(5000); // the deadline, not the hang
    expect(lines.some((l) => l.includes("notice failed") && l.includes("aborted"))).toBe(true);
  });
});

describe("sendAlert", () => {
  it("sends the webhook's alert to every channel whose keyword matches, escaped, and never throws", async () => {
    const { log, lines } = capturingLogger();
    rx.behave("dingtalk", "fail");
    const before = { slack: rx.received("slack").length, wechat: rx.received("wechat").length };
    await sendAlert(
      [
        { chan: "slack", webhookUrl: rx.url("slack") },
        { chan: "wechat", webhookUrl: rx.url("wechat"), keyword: "other-team" },
        { chan: "dingtalk", webhookUrl: rx.url("dingtalk") },
      ],
      "coredog webhook could not patch pod shop/<!here>\nreason: timeout",
      log,
      { subjects: ["shop", "api-1"], sendOptions: { retries: 0 } },
    );
    expect(rx.received("slack").length).toBe(before.slack + 1);
    expect(rx.received("wechat").length).toBe(before.wechat);
    const text = (rx.received("slack").at(-1)?.body as { text: string }).text;
    expect(text).toBe("coredog webhook could not patch pod shop/&lt;!here&gt;\nreason: timeout");
    expect(lines.some((l) => l.includes("notice skipped: keyword") && l.includes("wechat"))).toBe(
      true,
    );
    expect(lines.some((l) => l.includes("notice failed: channel=dingtalk"))).toBe(true);
  });
});
