import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { startApiServer } from "../../rig/apiserver/index.js";
import { podInfoFromPod } from "../../../controller/watcher/pod-resolver.js";
import { parseSettings } from "../../../src/settings.js";
import { createReporter, type ReporterSettings } from "../../../controller/watcher/reporter.js";
import { startLocalReceiver, type LocalReceiver } from "../notify/local-receiver.js";
import { capturingLogger, coreReport } from "../notify/fixtures.js";

let rx: LocalReceiver;
let dir: string;
beforeAll(async () => {
  rx = await startLocalReceiver();
  dir = await mkdtemp(join(tmpdir(), "coredog-reporter-test-"));
});
afterAll(async () => {
  await rx.stop();
  await rm(dir, { recursive: true, force: true });
});

function settings(over: Partial<ReporterSettings> = {}): ReporterSettings {
  return {
    noticeChannels: [{ chan: "slack", webhookUrl: rx.url("slack") }],
    watcher: { groupWindowSeconds: 0 },
    customHandler: { enabled: false, timeoutSeconds: 5, skipDefaultNotify: false, script: "" },
    ...over,
  };
}

describe("reporter", () => {
  it("never delays the pipeline: uploaded() returns at once while the chat receiver hangs", async () => {
    rx.behave("slack", "hang");
    const { log, lines } = capturingLogger();
    const reporter = createReporter({
      nodeName: "node-1",
      log,
      settings: () => settings(),
      stopDeadlineMs: 400,
    });
    const before = rx.received("slack").length;
    for (let i = 0; i < 20; i++) reporter.uploaded(coreReport({ filename: `core.api.${i}` }));
    reporter.failed(coreReport(), new Error("S3 down"));
    // Returned while every send still hangs: no notice has ended yet, sent or failed.
    expect(lines.filter((l) => /notice sent|timed out|aborted/.test(l))).toEqual([]);
    await rx.waitFor("slack", before + 1); // the sends really are under way
    const t1 = Date.now();
    await reporter.stop();
    expect(Date.now() - t1).toBeLessThan(8000); // not the 10 s a hanging attempt lasts
    expect(lines.some((l) => l.includes("notice error: stop deadline reached"))).toBe(true);
    rx.behave("slack", "ok");
  });

  it("runs the custom handler and skips the default notice when skipDefaultNotify is set", async () => {
    const { log, lines } = capturingLogger();
    const out = join(dir, "handled.txt");
    const reporter = createReporter({
      nodeName: "node-1",
      log,
      settings: () =>
        settings({
          customHandler: {
            enabled: true,
            timeoutSeconds: 5,
            skipDefaultNotify: true,
            script: `echo "$POD_NAMESPACE/$POD_NAME $COREDUMP_URL" > ${out}`,
          },
        }),
    });
    const before = rx.received("slack").length;
    const report = coreReport();
    reporter.uploaded(report);
    await reporter.stop();
    expect((await readFile(out, "utf8")).trim()).toBe(`shop/api-7d9f-abcde ${report.url}`);
    expect(rx.received("slack").length).toBe(before);
    expect(lines.some((l) => l.includes("notice skipped: CustomHandler.skipDefaultNotify"))).toBe(
      true,
    );
  });

  it("notifies failures with the error, and ignores calls after stop()", async () => {
    const { log, lines } = capturingLogger();
    const reporter = createReporter({ nodeName: "node-1", log, settings: () => settings() });
    const before = rx.received("slack").length;
    reporter.captured(coreReport()); // no kc: no Event, no notice
    reporter.failed(
      coreReport({ url: undefined }),
      new Error("upload failed 5 times: ECONNREFUSED"),
    );
    await reporter.stop();
    expect(rx.received("slack").length).toBe(before + 1);
    const text = (rx.received("slack").at(-1)?.body as { text: string }).text;
    expect(text).toContain("upload failed: upload failed 5 times: ECONNREFUSED");
    reporter.uploaded(coreReport());
    expect(lines.some((l) => l.includes("reporter stopped"))).toBe(true);
  });

  it("survives broken settings without throwing into the caller", async () => {
    const { log, lines } = capturingLogger();
    const reporter = createReporter({
      nodeName: "node-1",
      log,
      settings: () => {
        throw new Error("no settings yet");
      },
    });
    expect(() => reporter.uploaded(coreReport())).not.toThrow();
    expect(() => reporter.failed(coreReport(), new Error("x"))).not.toThrow();
    await reporter.stop();
    expect(lines.filter((l) => l.includes("error")).length).toBeGreaterThan(0);
  });

  it("works with the settings as parsed from the ConfigMap (the original CoreDog keys)", async () => {
    const parsed = parseSettings(
      [
        "NoticeChannel:",
        "  - chan: webhook",
        `    webhookurl: ${rx.url("webhook")}`,
        "    keyword: shop",
        "messageTemplate: |",
        "  crash in {pod.namespace}/{pod.name}: {corefile.filename}",
        "Watcher:",
        "  groupWindowSeconds: 0",
      ].join("\n"),
    );
    if (!parsed.ok) throw new Error(parsed.errors.join("; "));
    const { log } = capturingLogger();
    const reporter = createReporter({ nodeName: "node-1", log, settings: () => parsed.settings });
    const before = rx.received("webhook").length;
    reporter.uploaded(coreReport());
    await reporter.stop();
    expect(rx.received("webhook").length).toBe(before + 1);
    const body = rx.received("webhook").at(-1)?.body as Record<string, unknown>;
    expect(body.message).toBe("crash in shop/api-7d9f-abcde: core.api.123.node-1.1700000000");
  });

  it("with a KubeConfig: Events for captured and uploaded on the pod, and the notice", async () => {
    const server = await startApiServer({ dir: join(dir, "apiserver") });
    try {
      const kc = new KubeConfig();
      kc.loadFromFile(server.kubeconfigPath);
      const api = kc.makeApiClient(CoreV1Api);
      const pod = await api.createNamespacedPod({
        namespace: "default",
        body: {
          metadata: { name: "worker-0" },
          spec: { nodeName: "node-1", containers: [{ name: "app", image: "busybox" }] },
        },
      });
      const { log } = capturingLogger();
      const reporter = createReporter({ kc, nodeName: "node-1", log, settings: () => settings() });
      const report = coreReport({
        namespace: "default",
        pod: "worker-0",
        podInfo: podInfoFromPod(pod),
      });
      const before = rx.received("slack").length;
      reporter.captured(report);
      reporter.uploaded({ ...report, uploadedAt: new Date() });
      await reporter.stop();
      const events = await api.listNamespacedEvent({
        namespace: "default",
        fieldSelector: "involvedObject.name=worker-0",
      });
      expect(events.items.map((e) => e.reason).sort()).toEqual([
        "CoreDumpCaptured",
        "CoreDumpUploaded",
      ]);
      expect(rx.received("slack").length).toBe(before + 1);
    } finally {
      await server.stop();
    }
  });

  it("alert(): sends a node alert to every channel, rate-limited, logged as a notice", async () => {
    const { log, lines } = capturingLogger();
    const reporter = createReporter({
      nodeName: "node-1",
      log,
      settings: () =>
        settings({
          noticeChannels: [
            { chan: "slack", webhookUrl: rx.url("slack") },
            // a keyword is about pods: a node alert is not filtered by it
            { chan: "webhook", webhookUrl: rx.url("webhook"), keyword: "shop" },
          ],
        }),
      alertMinGapMs: 150,
      alertRepeatMs: 10_000,
    });
    const slack = rx.received("slack").length;
    const hook = rx.received("webhook").length;
    const full =
      "disk guard error: the node directory holds 900 bytes in 3 files, above the limit of 500 bytes";
    reporter.alert!(full);
    reporter.alert!(full); // the same text again at once: dropped
    reporter.alert!("another alarm"); // within the minimum gap: dropped
    await rx.waitFor("slack", slack + 1);
    await rx.waitFor("webhook", hook + 1);
    const text = (rx.received("slack").at(-1)?.body as { text: string }).text;
    expect(text).toContain(
      "[coredog-watcher node-1] disk guard error: the node directory holds 900",
    );
    await new Promise((r) => setTimeout(r, 200));
    reporter.alert!(full); // past the gap but within the repeat window: still dropped
    reporter.alert!("another alarm"); // past the gap: sent
    await reporter.stop();
    expect(rx.received("slack").length).toBe(slack + 2);
    expect((rx.received("slack").at(-1)?.body as { text: string }).text).toContain("another alarm");
    expect(lines.filter((l) => l.includes("notice: alert to 2 channel(s)")).length).toBe(2);
    expect(lines.filter((l) => l.includes("notice skipped: alert rate-limited")).length).toBe(3);
    expect(lines.filter((l) => l.includes("notice sent: channel=slack (alert)")).length).toBe(2);
  });

  it("alert(): without channels it only logs, and a failing receiver is logged, never thrown", async () => {
    const { log, lines } = capturingLogger();
    const none = createReporter({
      nodeName: "node-1",
      log,
      settings: () => settings({ noticeChannels: [] }),
    });
    expect(() => none.alert!("disk guard error: full")).not.toThrow();
    await none.stop();
    expect(lines.some((l) => l.includes("notice skipped: no NoticeChannel configured"))).toBe(true);
    rx.behave("feishu", "fail");
    const failing = createReporter({
      nodeName: "node-1",
      log,
      settings: () =>
        settings({ noticeChannels: [{ chan: "feishu", webhookUrl: rx.url("feishu") }] }),
      sendOptions: { retries: 0 },
    });
    failing.alert!("disk guard error: full");
    await failing.stop();
    expect(lines.some((l) => l.includes("notice failed: channel=feishu"))).toBe(true);
    rx.behave("feishu", "ok");
  });
});
