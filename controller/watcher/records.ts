// CoreDump records: one per stored core, created after the verified upload. Never blocks or loses the core:
// a record that cannot be written is retried a bounded number of times in the background, then logged.
import type { KubeConfig } from "@kubernetes/client-node";
import pLimit from "p-limit";
import {
  COREDUMP_GROUP,
  COREDUMP_PLURAL,
  COREDUMP_VERSION,
  buildCoreDump,
  type StoredCoreFacts,
} from "../../src/coredump.js";
import { errorText } from "../../src/error-text.js";
import { truncationText } from "../../src/truncation.js";
import type { Logger } from "../log.js";
import { backoffDelay, sleep, type Backoff } from "../retry.js";
import type { Metrics } from "./metrics.js";
import type { CoreReport } from "./types.js";
import type { JournalEntry } from "./journal.js";
import type { Settings } from "../../src/settings.js";

export interface RecordWriter {
  /** Queues the record of a stored core; returns at once. */
  write(report: CoreReport, entry: JournalEntry, settings: Settings): void;
  /** Waits for queued records, at most `deadlineMs`. */
  flush(deadlineMs?: number): Promise<void>;
}

export interface RecordWriterOptions {
  attempts?: number;
  backoff?: Backoff;
  maxQueue?: number;
  /** Creates the object; default: the CustomObjects API of `kc`. */
  create?: (namespace: string, body: object) => Promise<void>;
}

/** What the pipeline's report and journal entry say about a stored core, as record facts. */
export function factsOf(
  report: CoreReport,
  entry: JournalEntry,
  settings: Settings,
): StoredCoreFacts | undefined {
  if (!report.namespace || !report.pod || !entry.key || !entry.sha256) return undefined;
  const executable = report.core.executable;
  return {
    namespace: report.namespace,
    pod: report.pod,
    ...(report.podInfo?.uid ? { podUid: report.podInfo.uid } : {}),
    node: report.node,
    ...(report.container ? { container: report.container } : {}),
    ...(report.image ? { image: report.image } : {}),
    ...(report.podInfo?.owner ? { workload: report.podInfo.owner } : {}),
    capturedAt: report.capturedAt,
    ...(executable ? { executable } : {}),
    filename: report.filename,
    ...(report.core.signal !== undefined ? { signal: report.core.signal } : {}),
    ...(report.core.signalName ? { signalName: report.core.signalName } : {}),
    ...(report.truncated ? { truncated: truncationText(report.truncated) } : {}),
    ...(entry.bucket ? { bucket: entry.bucket } : {}),
    key: entry.key,
    ...(entry.bucket ? { location: `s3://${entry.bucket}/${entry.key}` } : {}),
    size: entry.size,
    ...(entry.storedBytes !== undefined ? { storedBytes: entry.storedBytes } : {}),
    sha256: entry.sha256,
    compression: settings.storage.compression,
    ...(report.report ? { crash: report.report } : {}),
  };
}

export function createRecordWriter(
  kc: KubeConfig | undefined,
  log: Logger,
  metrics: Metrics,
  o: RecordWriterOptions = {},
): RecordWriter {
  const attempts = o.attempts ?? 6;
  const backoff = o.backoff ?? { baseMs: 1000, maxMs: 30_000 };
  const maxQueue = o.maxQueue ?? 1000;
  const limit = pLimit(4);
  const pending = new Set<Promise<void>>();
  let notServedSaid = false;
  let api: Promise<(ns: string, body: object) => Promise<void>> | undefined;
  const create =
    o.create ??
    (async (namespace: string, body: object) => {
      api ??= import("./k8s.js").then((mod) => {
        const c = kc!.makeApiClient(mod.CustomObjectsApi);
        return async (ns: string, b: object) => {
          await c.createNamespacedCustomObject({
            group: COREDUMP_GROUP,
            version: COREDUMP_VERSION,
            namespace: ns,
            plural: COREDUMP_PLURAL,
            body: b,
          });
        };
      });
      await (
        await api
      )(namespace, body);
    });

  const one = async (facts: StoredCoreFacts) => {
    const body = buildCoreDump(facts);
    const what = `CoreDump ${facts.namespace}/${body.metadata.name}`;
    for (let i = 1; ; i++) {
      try {
        await create(facts.namespace, body);
        metrics.records.inc({ result: "created" });
        log.info(
          { key: facts.key, record: body.metadata.name },
          `record created: ${what} for ${facts.key}`,
        );
        return;
      } catch (err) {
        const code = (err as { code?: number }).code;
        if (code === 409) {
          metrics.records.inc({ result: "exists" });
          log.info({ key: facts.key }, `record already there: ${what}`);
          return;
        }
        const text = errorText(err);
        if (code === 404) {
          // The definition is not installed: nothing to retry until it is.
          metrics.records.inc({ result: "failed" });
          if (!notServedSaid)
            log.warn(
              `CoreDump records are off: the API server does not serve coredumps.coredog.io (install it: kubectl apply -k manifests); not recorded: ${facts.key}`,
            );
          notServedSaid = true;
          return;
        }
        if (i >= attempts || code === 422) {
          metrics.records.inc({ result: "failed" });
          log.error(
            { key: facts.key },
            `error: could not create ${what} for ${facts.key} after ${i} attempts: ${text}; the core is stored, only its record is missing`,
          );
          return;
        }
        const delay = backoffDelay(i, backoff);
        log.warn(
          { key: facts.key },
          `creating ${what} failed (attempt ${i}): ${text}; retrying in ${(delay / 1000).toFixed(1)}s`,
        );
        await sleep(delay);
      }
    }
  };

  return {
    write(report, entry, settings) {
      if (!kc && !o.create) return;
      const facts = factsOf(report, entry, settings);
      if (!facts) return;
      if (pending.size >= maxQueue) {
        metrics.records.inc({ result: "failed" });
        log.error(`error: too many CoreDump records waiting; not recording ${entry.key}`);
        return;
      }
      const p = limit(() => one(facts)).catch((err: unknown) =>
        log.error(`error: recording ${entry.key}: ${errorText(err)}`),
      );
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
    async flush(deadlineMs = 5000) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...pending]),
        new Promise((r) => (timer = setTimeout(r, deadlineMs))),
      ]);
      clearTimeout(timer);
    },
  };
}
