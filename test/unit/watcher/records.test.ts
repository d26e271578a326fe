// CoreDump records from the watcher: the record's shape, and that a record that cannot be written is retried a
// bounded number of times and never throws into the pipeline.
import { describe, expect, it } from "vitest";
import { buildCoreDump, fallbackFingerprint, recordName } from "../../../src/coredump.js";
import { createLogger } from "../../../controller/log.js";
import { createMetrics } from "../../../controller/watcher/metrics.js";
import { createRecordWriter, factsOf } from "../../../controller/watcher/records.js";
import type { JournalEntry } from "../../../controller/watcher/journal.js";
import type { CoreReport } from "../../../controller/watcher/types.js";
import { parseSettings } from "../../../src/settings.js";

const SHA = "b".repeat(64);
const report: CoreReport = {
  path: "/corefile/shop/api-1/app/core.bash.7.h.1",
  filename: "core.bash.7.h.1",
  node: "node-a",
  namespace: "shop",
  pod: "api-1",
  container: "app",
  image: "debian:12",
  size: 8192,
  core: { threads: 1, executable: "bash", signal: 11, signalName: "SIGSEGV" },
  capturedAt: new Date("2026-12-01T10:00:00.123Z"),
  podInfo: {
    namespace: "shop",
    name: "api-1",
    uid: "uid-1",
    containers: ["app"],
    images: { app: "debian:12" },
    owner: { kind: "Deployment", name: "api" },
  },
};
const entry = {
  id: "x",
  path: report.path,
  namespace: "shop",
  pod: "api-1",
  file: report.filename,
  size: 8192,
  mtimeMs: 0,
  state: "reported",
  capturedAt: report.capturedAt.toISOString(),
  attempts: 0,
  updatedAt: "",
  bucket: "crashes",
  key: "corefiles/shop/api-1/app/20261201-core.bash.7.h.1.zst",
  sha256: SHA,
  storedBytes: 3000,
} as JournalEntry;

function settings() {
  const s = parseSettings(
    "StorageConfig:\n  protocol: s3\n  S3Bucket: crashes\n  compression: zstd\n",
  );
  if (!s.ok) throw new Error(s.errors.join("; "));
  return s.settings;
}

function quietLog(lines: string[]) {
  return createLogger({ write: (l) => lines.push(l) });
}

describe("the CoreDump record of a stored core", () => {
  it("carries pod, uid, node, container, image, workload, time, signal, fingerprint and storage", () => {
    const facts = factsOf(report, entry, settings())!;
    const o = buildCoreDump(facts);
    expect(o.metadata.namespace).toBe("shop");
    expect(o.metadata.name).toBe(recordName("api-1", entry.key!));
    expect(o.metadata.name).toMatch(/^api-1-[0-9a-f]{10}$/);
    expect(o.spec).toMatchObject({
      pod: { name: "api-1", uid: "uid-1" },
      node: "node-a",
      container: "app",
      image: "debian:12",
      workload: { kind: "Deployment", name: "api" },
      crashedAt: "2026-12-01T10:00:00Z",
      signal: { number: 11, name: "SIGSEGV" },
      storage: { bucket: "crashes", key: entry.key, size: 8192, storedBytes: 3000, sha256: SHA },
    });
    expect(o.spec.storage.compression).toBe(settings().storage.compression);
    // No crash report: the fallback fingerprint of workload + executable + signal.
    expect(o.spec.fingerprint).toEqual(
      fallbackFingerprint({
        namespace: "shop",
        owner: { kind: "Deployment", name: "api" },
        pod: "api-1",
        executable: "bash",
        signal: "SIGSEGV",
      }),
    );
    expect(o.metadata.labels).toMatchObject({
      "coredog.io/fingerprint": o.spec.fingerprint.short,
      "coredog.io/workload": "api",
    });
    expect((o as { metadata: Record<string, unknown> }).metadata.ownerReferences).toBeUndefined();
  });

  it("is retried a bounded number of times, then logged; an existing record counts as done", async () => {
    const lines: string[] = [];
    const metrics = createMetrics();
    let calls = 0;
    const failing = createRecordWriter(undefined, quietLog(lines), metrics, {
      attempts: 3,
      backoff: { baseMs: 5, maxMs: 10 },
      create: async () => {
        calls++;
        throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: undefined });
      },
    });
    expect(() => failing.write(report, entry, settings())).not.toThrow();
    await failing.flush(5000);
    expect(calls).toBe(3);
    expect(lines.join("")).toContain("could not create CoreDump shop/api-1-");
    expect(lines.join("")).toContain("the core is stored, only its record is missing");

    let n = 0;
    const flaky = createRecordWriter(undefined, quietLog(lines), metrics, {
      backoff: { baseMs: 5, maxMs: 10 },
      create: async () => {
        if (++n < 2) throw new Error("503 Service Unavailable");
        if (n === 2) throw Object.assign(new Error("AlreadyExists"), { code: 409 });
      },
    });
    flaky.write(report, entry, settings());
    await flaky.flush(5000);
    expect(n).toBe(2);
    const text = await metrics.registry.metrics();
    expect(text).toContain('coredog_watcher_records_total{result="failed"} 1');
    expect(text).toContain('coredog_watcher_records_total{result="exists"} 1');
  });
});
