// The crash report in notices: the fault line, the top three frames, the fingerprint's short id and whether it is
// new, on every channel (payloads checked by the rig's receivers, CloudEvents 1.0 structured mode included); the
// plain webhook's fields; grouping by fingerprint.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createNotifier, sendAlert } from "../../../controller/notify/notifier.js";
import { CLOUDEVENT_TYPES } from "../../../controller/notify/cloudevents.js";
import { RECEIVER_KINDS, startReceivers, type Receivers } from "../../rig/receivers.js";
import { capturingLogger, coreReport, crashReportFixture, podInfo } from "./fixtures.js";

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

const SHORT = "1a2b3c4d5e6f";

function notifier(groupWindowSeconds = 0) {
  const { log, lines } = capturingLogger();
  const n = createNotifier({
    log,
    settings: () => ({
      noticeChannels: RECEIVER_KINDS.map((chan) => ({ chan, webhookUrl: rx.url(chan) })),
      watcher: { groupWindowSeconds },
    }),
  });
  return { n, lines };
}

interface Event {
  specversion: string;
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: string;
  data: {
    kind: string;
    message: string;
    core?: Record<string, unknown>;
    crash: unknown;
    fingerprint?: string;
    seenBefore?: number;
    seen?: string;
  };
}

describe("notices with a crash report", () => {
  it("every channel gets the fault line, the top 3 frames, the short id and 'new', in a well-formed payload", async () => {
    const { n, lines } = notifier();
    n.notify(coreReport({ report: crashReportFixture(), seenBefore: 0 }), "uploaded");
    await n.stop();
    for (const k of RECEIVER_KINDS) {
      const got = rx.received(k);
      expect(got, k).toHaveLength(1);
      expect(got[0]!.rejected, k).toBeUndefined();
      expect(got[0]!.status, k).toBeLessThan(300);
      const raw = got[0]!.raw;
      for (const part of [
        "SIGSEGV: address not mapped",
        "NULL pointer",
        "api+0x1139",
        "api+0x1160",
      ])
        expect(raw, k).toContain(part);
      expect(raw, k).toContain("libc.so.6+0x2724a");
      expect(raw, k).toMatch(new RegExp(`${SHORT}, new`));
    }
    const text = (rx.received("webhook")[0]!.body as { text: string }).text;
    expect(text.split("\n").slice(3, 6)).toEqual([
      "crash: SIGSEGV: address not mapped (SEGV_MAPERR) at 0x0 (NULL pointer)",
      "frames: #0 api+0x1139, #1 api+0x1160, #2 libc.so.6+0x2724a",
      `fingerprint: ${SHORT}, new`,
    ]);
    expect(lines.filter((l) => l.includes("notice sent")).length).toBe(RECEIVER_KINDS.length);
  });

  it("says how often the fingerprint was seen before, or that it is not known", async () => {
    const { n } = notifier();
    n.notify(coreReport({ report: crashReportFixture(), seenBefore: 1 }), "uploaded");
    n.notify(
      coreReport({ report: crashReportFixture(), seenBefore: 10_000, seenAtLeast: true }),
      "uploaded",
    );
    n.notify(coreReport({ report: crashReportFixture() }), "failed", "S3 down");
    await n.stop();
    const texts = rx.received("slack").map((r) => (r.body as { text: string }).text);
    expect(texts.map((t) => /fingerprint: .*/.exec(t)?.[0]).sort()).toEqual([
      `fingerprint: ${SHORT}, seen 10000+ times before`,
      `fingerprint: ${SHORT}, seen count unknown`,
      `fingerprint: ${SHORT}, seen once before`,
    ]);
  });

  it("the plain webhook gets the report's fields, flat, without the whole report", async () => {
    const { n } = notifier();
    n.notify(coreReport({ report: crashReportFixture(), seenBefore: 2 }), "uploaded");
    await n.stop();
    const body = rx.received("webhook")[0]!.body as Record<string, unknown>;
    expect(body).toMatchObject({
      kind: "uploaded",
      fault: "SIGSEGV: address not mapped (SEGV_MAPERR) at 0x0 (NULL pointer)",
      frames: ["api+0x1139", "api+0x1160", "libc.so.6+0x2724a"],
      fingerprint: "1a2b3c4d5e6f".padEnd(64, "0"),
      fingerprintShort: SHORT,
      seenBefore: 2,
      seen: "seen 2 times before",
    });
    expect(body.report).toBeUndefined();
  });

  it("cloudevents: a structured CloudEvent whose data is the report and where the core is; a retry keeps its id", async () => {
    const { n } = notifier();
    const report = coreReport({ report: crashReportFixture(), seenBefore: 0 });
    n.notify(report, "uploaded");
    n.notify(report, "uploaded");
    n.notify(coreReport({ report: crashReportFixture(), error: "S3 down" }), "failed", "S3 down");
    await n.stop();
    const got = rx.received("cloudevents");
    expect(got).toHaveLength(3);
    expect(got[0]!.headers["content-type"]).toBe("application/cloudevents+json; charset=utf-8");
    const [first, again, failed] = got.map((g) => g.body as Event);
    expect(first).toMatchObject({
      specversion: "1.0",
      source: "/coredog/watcher/node-1",
      type: CLOUDEVENT_TYPES.crash,
      subject: "shop/api-7d9f-abcde",
      time: "2026-11-27T06:35:02.000Z",
      datacontenttype: "application/json",
    });
    expect(first!.data.crash).toEqual(crashReportFixture());
    expect(first!.data.core).toMatchObject({
      namespace: "shop",
      pod: "api-7d9f-abcde",
      container: "app",
      node: "node-1",
      bucket: "crashes",
      key: "corefiles/shop/api-7d9f-abcde/20261127T063500Z-core.api.123",
    });
    expect([first!.data.seenBefore, first!.data.seen]).toEqual([0, "new"]);
    expect(again!.id).toBe(first!.id);
    expect(failed!.type).toBe(CLOUDEVENT_TYPES.failed);
    expect(failed!.id).not.toBe(first!.id);
    expect(failed!.data).toMatchObject({ kind: "failed", error: "S3 down" });
  });

  it("cloudevents: a core without a report has crash null and says why; alerts are events too", async () => {
    const { n } = notifier();
    n.notify(coreReport({ crashError: "no crash report: not an ELF core file" }), "uploaded");
    await n.stop();
    const e = rx.received("cloudevents")[0]!.body as Event & { data: { crashError?: string } };
    expect(e.data.crash).toBeNull();
    expect(e.data.crashError).toBe("no crash report: not an ELF core file");
    const { log } = capturingLogger();
    await sendAlert([{ chan: "cloudevents", webhookUrl: rx.url("cloudevents") }], "disk full", log);
    const alert = rx.received("cloudevents")[1]!;
    expect(alert.rejected).toBeUndefined();
    expect((alert.body as Event).type).toBe(CLOUDEVENT_TYPES.alert);
  });

  it("groups a crash loop by fingerprint: the same bug under another executable name groups, another bug does not", async () => {
    const { n, lines } = notifier(60);
    const owner = { podInfo: podInfo({ owner: { kind: "Deployment", name: "api" } }) };
    n.notify(coreReport({ ...owner, report: crashReportFixture() }), "uploaded");
    n.notify(
      coreReport({
        ...owner,
        pod: "api-7d9f-other",
        core: { signal: 11, signalName: "SIGSEGV", executable: "/usr/bin/api-renamed", threads: 1 },
        report: crashReportFixture(),
      }),
      "uploaded",
    );
    n.notify(
      coreReport({ ...owner, report: crashReportFixture({ fingerprint: "ff".repeat(32) }) }),
      "uploaded",
    );
    expect(rx.received("slack")).toHaveLength(0); // sends are queued; the count of dispatches shows in the log
    await n.stop();
    const grouped = lines.filter((l) => l.includes("notice grouped"));
    expect(grouped).toHaveLength(1);
    expect(grouped[0]).toContain(`same owner, container and fingerprint ${SHORT} within 1 min`);
    const texts = rx.received("slack").map((r) => (r.body as { text: string }).text);
    // the first of each fingerprint at once, then the summary of the grouped one
    expect(texts).toHaveLength(3);
    expect(texts.filter((t) => t.includes(`fingerprint: ${SHORT}`))).toHaveLength(2);
    expect(texts.some((t) => t.includes("… and 1 more time"))).toBe(true);
  });
});
