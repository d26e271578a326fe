import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig, type CoreV1Event } from "@kubernetes/client-node";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiServer } from "../../rig/apiserver/index.js";
import { createEventRecorder, eventMessage } from "../../../controller/watcher/events.js";
import { podInfoFromPod } from "../../../controller/watcher/pod-resolver.js";
import type { CoreReport } from "../../../controller/watcher/types.js";
import { capturingLogger, coreReport, crashReportFixture } from "../notify/fixtures.js";

let server: Awaited<ReturnType<typeof startApiServer>>;
let dir: string;
let kc: KubeConfig;
let api: CoreV1Api;
let report: CoreReport;

async function kubectlEvents(pod: string): Promise<CoreV1Event[]> {
  const r = await execa("kubectl", [
    "--kubeconfig",
    server.kubeconfigPath,
    "get",
    "events",
    "-n",
    "shop",
    "--field-selector",
    `involvedObject.name=${pod}`,
    "-o",
    "json",
  ]);
  return (JSON.parse(r.stdout) as { items: CoreV1Event[] }).items;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "coredog-events-"));
  server = await startApiServer({ dir });
  kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  api = kc.makeApiClient(CoreV1Api);
  await api.createNamespace({ body: { metadata: { name: "shop" } } }).catch(() => undefined);
  const created = await api.createNamespacedPod({
    namespace: "shop",
    body: {
      metadata: { name: "api-7d9f-abcde", namespace: "shop" },
      spec: {
        nodeName: "node-1",
        containers: [{ name: "app", image: "registry.example/api:1.2" }],
      },
    },
  });
  report = coreReport({ podInfo: podInfoFromPod(created) });
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("event recorder against the rig's API server", () => {
  it("records an Event on the pod that kubectl finds by involvedObject.name", async () => {
    const { log } = capturingLogger();
    const rec = createEventRecorder(kc, "node-1", log);
    await rec.record(report, "uploaded", eventMessage(report, "uploaded"));
    const events = await kubectlEvents("api-7d9f-abcde");
    expect(events).toHaveLength(1);
    const ev = events[0]!;
    expect(ev).toMatchObject({
      reason: "CoreDumpUploaded",
      type: "Normal",
      reportingComponent: "coredog-watcher",
      reportingInstance: "node-1",
      source: { component: "coredog-watcher", host: "node-1" },
      count: 1,
      involvedObject: {
        kind: "Pod",
        namespace: "shop",
        name: "api-7d9f-abcde",
        uid: report.podInfo!.uid,
        fieldPath: "spec.containers{app}",
      },
    });
    expect(ev.metadata?.name).toMatch(/^api-7d9f-abcde\.[0-9a-f]+$/);
    expect(ev.message).toContain("core.api.123.node-1.1700000000");
    expect(ev.message).toContain(report.key!);
    expect(ev.message).toContain("signal SIGSEGV");
    expect(ev.message).toContain("executable /usr/bin/api");
    expect(ev.message).not.toContain("X-Amz-Signature"); // the key, never the presigned URL
    expect(ev.firstTimestamp).toBeTruthy();
  });

  it("counts repeats of the same reason and message on one Event", async () => {
    const { log } = capturingLogger();
    const rec = createEventRecorder(kc, "node-1", log);
    const r2 = { ...report, pod: "api-7d9f-abcde", filename: "core.api.777" };
    const msg = eventMessage(r2, "failed", "S3 unavailable");
    await Promise.all([
      rec.record(r2, "failed", msg),
      rec.record(r2, "failed", msg),
      rec.record(r2, "failed", msg),
    ]);
    await rec.record(r2, "captured", eventMessage(r2, "captured"));
    const events = (await kubectlEvents("api-7d9f-abcde")).filter((e) =>
      e.message?.includes("core.api.777"),
    );
    const failed = events.filter((e) => e.reason === "CoreDumpFailed");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ type: "Warning", count: 3 });
    expect(failed[0]!.message).toContain("not stored: S3 unavailable");
    expect(new Date(String(failed[0]!.lastTimestamp)).getTime()).toBeGreaterThanOrEqual(
      new Date(String(failed[0]!.firstTimestamp)).getTime(),
    );
    expect(events.filter((e) => e.reason === "CoreDumpCaptured")).toHaveLength(1);
  });

  it("shows in kubectl describe pod", async () => {
    const r = await execa("kubectl", [
      "--kubeconfig",
      server.kubeconfigPath,
      "describe",
      "pod",
      "-n",
      "shop",
      "api-7d9f-abcde",
    ]);
    expect(r.stdout).toMatch(/CoreDumpUploaded/);
  });

  it("never throws: an unreachable API server or a pod-less core only logs", async () => {
    const { log, lines } = capturingLogger();
    const closed = createServer();
    await new Promise<void>((res) => closed.listen(0, "127.0.0.1", res));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((res) => closed.close(() => res()));
    const bad = new KubeConfig();
    bad.loadFromOptions({
      clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${port}` })),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    const rec = createEventRecorder(bad, "node-1", log);
    await expect(rec.record(report, "captured", "x")).resolves.toBeUndefined();
    expect(lines.some((l) => l.includes("event error"))).toBe(true);
    const orphan = coreReport({ namespace: undefined, pod: undefined, podInfo: undefined });
    await expect(rec.record(orphan, "captured", "x")).resolves.toBeUndefined();
  });

  it("drops events beyond its bounded queue instead of growing without limit", async () => {
    const { log, lines } = capturingLogger();
    const rec = createEventRecorder(kc, "node-1", log, { maxQueue: 2, concurrency: 1 });
    const ps = Array.from({ length: 5 }, (_, i) => rec.record(report, "captured", `burst ${i}`));
    await Promise.all(ps);
    expect(lines.filter((l) => l.includes("event error: queue full")).length).toBe(3);
    const burst = (await kubectlEvents("api-7d9f-abcde")).filter((e) =>
      e.message?.startsWith("burst"),
    );
    expect(burst).toHaveLength(2);
  });

  it("says a truncated core is truncated, with both sizes and the reason, in the Event kubectl shows", async () => {
    const { log } = capturingLogger();
    const rec = createEventRecorder(kc, "node-1", log);
    const r: CoreReport = {
      ...report,
      filename: "core.bash.17.api.1700000001",
      size: 118784,
      truncated: {
        bytes: 118784,
        expected: 565248,
        cause: "core-size-limit",
        reason: "the process's core size limit (ulimit -c) was 102400 bytes",
      },
    };
    await rec.record(r, "uploaded", eventMessage(r, "uploaded"));
    const ev = (await kubectlEvents("api-7d9f-abcde")).find((e) =>
      e.message?.includes("core.bash.17."),
    );
    expect(ev?.message).toContain(
      "truncated: 118784 of 565248 bytes: the process's core size limit (ulimit -c) was 102400 bytes",
    );
    expect(eventMessage({ ...r, truncated: undefined }, "uploaded")).not.toContain("truncated");
  });

  it("ends with the crash report's short form: signal, fault address, the crash site, the fingerprint and if it is new", async () => {
    const crash = crashReportFixture();
    const r: CoreReport = { ...report, filename: "core.api.18.x", report: crash, seenBefore: 0 };
    const uploaded = eventMessage(r, "uploaded");
    expect(uploaded).toMatch(
      /^Core dump core\.api\.18\.x uploaded to crashes\/corefiles\/.* \(signal SIGSEGV, executable \/usr\/bin\/api, container app, size 121 KiB\); SIGSEGV at 0x0 in api\+0x1139 \[fp 1a2b3c4d5e6f, new\]$/,
    );
    expect(eventMessage({ ...r, seenBefore: 1 }, "uploaded")).toMatch(
      /; SIGSEGV at 0x0 in api\+0x1139 \[fp 1a2b3c4d5e6f, seen once before\]$/,
    );
    // before the upload the count is not known yet
    expect(eventMessage({ ...r, seenBefore: undefined }, "captured")).toMatch(
      /^Core dump core\.api\.18\.x captured .*; SIGSEGV at 0x0 in api\+0x1139 \[fp 1a2b3c4d5e6f\]$/,
    );
    // abort(): the site is the first frame outside the C runtime, and no fault address
    const aborted = {
      ...crash,
      death: { ...crash.death, signal: 6, signalName: "SIGABRT", faultAddress: undefined },
      crashingThread: {
        ...crash.crashingThread,
        backtrace: [crash.crashingThread.backtrace[2]!, ...crash.crashingThread.backtrace],
      },
    };
    expect(eventMessage({ ...r, report: aborted, seenBefore: 3 }, "uploaded")).toMatch(
      /; SIGABRT in api\+0x1139 \[fp 1a2b3c4d5e6f, seen 3 times before\]$/,
    );
    // recorded as is: kubectl shows it
    const rec = createEventRecorder(kc, "node-1", capturingLogger().log);
    await rec.record(r, "uploaded", uploaded);
    const ev = (await kubectlEvents("api-7d9f-abcde")).find((e) =>
      e.message?.includes("core.api.18.x"),
    );
    expect(ev?.message).toBe(uploaded);
  });
});
