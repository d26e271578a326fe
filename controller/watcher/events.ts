// Kubernetes Events on the crashed pod (what `kubectl describe pod` and `kubectl get events` show):
// CoreDumpCaptured / CoreDumpUploaded / CoreDumpFailed, repeats of the same reason and message counted
// on one Event (PATCH, as kube's own recorder does), a bounded queue, never throws.
import { randomBytes } from "node:crypto";
import type {
  CoreV1Api,
  CoreV1Event,
  KubeConfig,
  V1ObjectReference,
} from "@kubernetes/client-node";
import pLimit from "p-limit";
import {
  EVENT_COMPONENT,
  EVENT_REASON_CAPTURED,
  EVENT_REASON_DELETED,
  EVENT_REASON_FAILED,
  EVENT_REASON_SKIPPED,
  EVENT_REASON_TOO_LARGE,
  EVENT_REASON_UPLOADED,
} from "../../src/names.js";
import type { Logger } from "../log.js";
import type * as K8s from "./k8s.js";
import { truncationText } from "../../src/truncation.js";
import { crashShortForm, seenText } from "../../src/crash-summary.js";
import type { CoreReport } from "./types.js";
import { errorText } from "../../src/error-text.js";

export type EventKind = "captured" | "uploaded" | "failed" | LimitEventKind;
/** Events of the limits (controller/watcher/limits.ts); their messages come from there. */
export type LimitEventKind = "skipped" | "deleted" | "too-large";

export interface EventRecorder {
  record(report: CoreReport, kind: EventKind, message: string): Promise<void>;
  /** Wait for queued events (at most `deadlineMs`). */
  flush(deadlineMs?: number): Promise<void>;
}

export interface EventRecorderOptions {
  /** Repeats within this window are counted on one Event, default 10 min. */
  aggregateWindowMs?: number;
  /** Events waiting or in flight; more are dropped (and logged), default 500. */
  maxQueue?: number;
  concurrency?: number;
}

const REASONS: Record<EventKind, string> = {
  captured: EVENT_REASON_CAPTURED,
  uploaded: EVENT_REASON_UPLOADED,
  failed: EVENT_REASON_FAILED,
  skipped: EVENT_REASON_SKIPPED,
  deleted: EVENT_REASON_DELETED,
  "too-large": EVENT_REASON_TOO_LARGE,
};

const MAX_MESSAGE = 1024;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** The Event message for a core (the object key, never the presigned URL: it is long and a credential). */
export function eventMessage(report: CoreReport, kind: EventKind, error?: string): string {
  const details: string[] = [];
  const sig =
    report.core.signalName ??
    (report.core.signal !== undefined ? `signal ${report.core.signal}` : undefined);
  if (sig) details.push(`signal ${sig.replace(/^signal /, "")}`);
  if (report.core.executable) details.push(`executable ${report.core.executable}`);
  if (report.container) details.push(`container ${report.container}`);
  details.push(`size ${formatBytes(report.size)}`);
  if (report.truncated) details.push(`truncated: ${truncationText(report.truncated)}`);
  const tail = details.length ? ` (${details.join(", ")})` : "";
  let text: string;
  switch (kind) {
    case "captured":
      text = `Core dump ${report.filename} captured${tail}`;
      break;
    case "uploaded": {
      const where = report.key
        ? ` to ${report.bucket ? `${report.bucket}/` : ""}${report.key}`
        : "";
      text = `Core dump ${report.filename} uploaded${where}${tail}`;
      break;
    }
    case "failed":
      text = `Core dump ${report.filename} not stored: ${error ?? report.error ?? "unknown error"}${tail}`;
      break;
    default:
      text = `Core dump ${report.filename}: ${error ?? kind}${tail}`;
  }
  // The crash report in short: `; SIGSEGV at 0x0 in app+0x1139 [fp 1a2b3c4d5e6f, new]`.
  if (report.report)
    text += `; ${crashShortForm(report.report, seenText(report.seenBefore, report.seenAtLeast))}`;
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}

interface Aggregate {
  name: string;
  namespace: string;
  count: number;
  until: number;
}

export function createEventRecorder(
  kc: KubeConfig,
  nodeName: string,
  log: Logger,
  opts: EventRecorderOptions = {},
): EventRecorder {
  // client-node is loaded with the first Event, not at start (k8s.ts)
  let k8s: Promise<{ api: CoreV1Api; mod: typeof K8s }> | undefined;
  const client = () =>
    (k8s ??= import("./k8s.js").then((mod) => ({ api: kc.makeApiClient(mod.CoreV1Api), mod })));
  const windowMs = opts.aggregateWindowMs ?? 10 * 60_000;
  const maxQueue = opts.maxQueue ?? 500;
  const limit = pLimit(opts.concurrency ?? 4);
  const aggregates = new Map<string, Aggregate>();
  // one chain per aggregation key, so two repeats never both create an Event
  const chains = new Map<string, Promise<void>>();
  const all = new Set<Promise<void>>();
  let queued = 0;

  async function write(report: CoreReport, kind: EventKind, message: string, key: string) {
    const namespace = (report.podInfo?.namespace || report.namespace)!;
    const podName = (report.podInfo?.name || report.pod)!;
    const reason = REASONS[kind];
    const { api, mod } = await client();
    const now = new Date();
    const agg = aggregates.get(key);
    if (agg && agg.until > now.getTime()) {
      try {
        await api.patchNamespacedEvent(
          {
            name: agg.name,
            namespace: agg.namespace,
            body: { count: agg.count + 1, lastTimestamp: now.toISOString() },
          },
          mod.setHeaderOptions("Content-Type", mod.PatchStrategy.MergePatch),
        );
        agg.count++;
        agg.until = now.getTime() + windowMs;
        log.debug({ namespace, pod: podName, reason, count: agg.count }, "event updated");
        return;
      } catch (err) {
        aggregates.delete(key);
        log.warn(
          { namespace, pod: podName, reason },
          `event patch failed (${errorText(err)}), creating a new one`,
        );
      }
    }
    const involvedObject: V1ObjectReference = {
      apiVersion: "v1",
      kind: "Pod",
      namespace,
      name: podName,
    };
    if (report.podInfo?.uid) involvedObject.uid = report.podInfo.uid;
    if (report.container) {
      const init = report.podInfo?.initContainers?.includes(report.container) ?? false;
      involvedObject.fieldPath = `spec.${init ? "initContainers" : "containers"}{${report.container}}`;
    }
    const body: CoreV1Event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: {
        name: `${podName}.${now.getTime().toString(16)}${randomBytes(2).toString("hex")}`,
        namespace,
      },
      involvedObject,
      reason,
      message,
      type: kind === "captured" || kind === "uploaded" ? "Normal" : "Warning",
      source: { component: EVENT_COMPONENT, host: nodeName },
      reportingComponent: EVENT_COMPONENT,
      reportingInstance: nodeName,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    const created = await api.createNamespacedEvent({ namespace, body });
    aggregates.set(key, {
      name: created.metadata?.name ?? body.metadata.name!,
      namespace,
      count: 1,
      until: now.getTime() + windowMs,
    });
    if (aggregates.size > 2000) {
      const now2 = Date.now();
      for (const [k, a] of aggregates)
        if (a.until < now2 || aggregates.size > 2000) aggregates.delete(k);
    }
    log.debug({ namespace, pod: podName, reason }, "event recorded");
  }

  return {
    record(report, kind, message) {
      const namespace = report.podInfo?.namespace || report.namespace;
      const podName = report.podInfo?.name || report.pod;
      if (!namespace || !podName) {
        log.debug({ file: report.path }, "no pod for this core: no event");
        return Promise.resolve();
      }
      if (queued >= maxQueue) {
        log.error(
          { namespace, pod: podName, reason: REASONS[kind] },
          `event error: queue full (${maxQueue}), event dropped`,
        );
        return Promise.resolve();
      }
      const key = `${namespace}/${podName}/${report.podInfo?.uid ?? ""}|${REASONS[kind]}|${message}`;
      queued++;
      const prev = chains.get(key) ?? Promise.resolve();
      const p: Promise<void> = prev
        .then(() => limit(() => write(report, kind, message, key)))
        .catch((err: unknown) => {
          log.error(
            { namespace, pod: podName, reason: REASONS[kind] },
            `event error: ${errorText(err)}`,
          );
        })
        .finally(() => {
          queued--;
          all.delete(p);
          if (chains.get(key) === p) chains.delete(key);
        });
      chains.set(key, p);
      all.add(p);
      return p;
    },
    async flush(deadlineMs = 5000) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...all]),
        new Promise<void>((r) => {
          timer = setTimeout(r, deadlineMs);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}
