// The watcher's Prometheus metrics (its own registry, served at /metrics).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type FailureStage =
  "open" | "resolve" | "parse" | "upload" | "verify" | "delete" | "journal";

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "coredog_watcher_process_" });
  const m = {
    registry,
    captured: new Counter({
      name: "coredog_watcher_cores_captured_total",
      help: "Complete core files accepted for upload",
      registers: [registry],
    }),
    uploaded: new Counter({
      name: "coredog_watcher_cores_uploaded_total",
      help: "Cores stored and verified",
      registers: [registry],
    }),
    uploadedBytes: new Counter({
      name: "coredog_watcher_uploaded_bytes_total",
      help: "Bytes written to storage (after compression)",
      registers: [registry],
    }),
    failures: new Counter({
      name: "coredog_watcher_failures_total",
      help: "Failures by pipeline stage (each failed attempt counts)",
      labelNames: ["stage"] as const,
      registers: [registry],
    }),
    refused: new Counter({
      name: "coredog_watcher_refused_files_total",
      help: "Files refused and left alone, by reason",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    crashReports: new Counter({
      name: "coredog_watcher_crash_reports_total",
      help: "Crash reports read from cores before their upload: complete, incomplete (see the report's problems) or none",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "coredog_watcher_queue_depth",
      help: "Complete cores waiting for or in upload",
      registers: [registry],
    }),
    latency: new Histogram({
      name: "coredog_watcher_upload_latency_seconds",
      help: "From the file's completion to its verified upload",
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers: [registry],
    }),
    records: new Counter({
      name: "coredog_watcher_records_total",
      help: "CoreDump records by result (created, exists, failed)",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    skipped: new Counter({
      name: "coredog_watcher_cores_skipped_total",
      help: "Cores not uploaded because of a limit (rate: over Limits.perFingerprint; size: over Limits.maxCoreSize); reported and deleted",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    deleted: new Counter({
      name: "coredog_watcher_cores_deleted_total",
      help: "Local cores deleted to keep Limits.maxUse / Limits.keepFree, by limit",
      labelNames: ["limit"] as const,
      registers: [registry],
    }),
    dirBytes: new Gauge({
      name: "coredog_watcher_dir_bytes",
      help: "Bytes of the files under the node directory",
      registers: [registry],
    }),
    fsFreeBytes: new Gauge({
      name: "coredog_watcher_fs_free_bytes",
      help: "Free bytes on the node directory's filesystem",
      registers: [registry],
    }),
    limitActive: new Gauge({
      name: "coredog_watcher_limit_active",
      help: "1 while a limit is crossed or acting (max_use, keep_free: the node directory; rate: a crash over its rate)",
      labelNames: ["limit"] as const,
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
