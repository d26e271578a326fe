// The watchers' Events: what `events` prints and the TUI's events pane shows.
import type { CoreV1Event } from "@kubernetes/client-node";
import {
  EVENT_COMPONENT,
  EVENT_REASON_CAPTURED,
  EVENT_REASON_FAILED,
  EVENT_REASON_UPLOADED,
} from "../../src/names.js";
import type { Cluster } from "./kube.js";
import { age, paint, type Column, type Tone } from "./output.js";
import { errorText } from "../../src/error-text.js";
import { parseCrashShortForm } from "../../src/crash-summary.js";

export const WATCHER_EVENTS = `reportingComponent=${EVENT_COMPONENT}`;
export const CORE_REASONS = [EVENT_REASON_CAPTURED, EVENT_REASON_UPLOADED, EVENT_REASON_FAILED];

export interface EventRow {
  time: string;
  type: string;
  reason: string;
  namespace: string;
  pod: string;
  node: string;
  count: number;
  message: string;
  uid?: string;
  /** The container that dumped the core (the Event's involvedObject.fieldPath), when the watcher knew it. */
  container?: string;
  /** The crash report's short form at the end of the message: `SIGSEGV at 0x0 in app+0x1139 [fp …, new]`. */
  crash?: string;
  /** Its fingerprint's short id. */
  fingerprint?: string;
}

const CONTAINER_FIELD = /^spec\.(?:initContainers|containers)\{([^}]+)\}$/;

/** The container an Event is about, from `spec.containers{name}` / `spec.initContainers{name}`. */
export function eventContainer(e: CoreV1Event): string | undefined {
  return CONTAINER_FIELD.exec(e.involvedObject?.fieldPath ?? "")?.[1];
}

export function eventTime(e: CoreV1Event): Date | undefined {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t) : undefined;
}

export function isWatcherEvent(e: CoreV1Event): boolean {
  return (
    (e.reportingComponent === EVENT_COMPONENT || e.source?.component === EVENT_COMPONENT) &&
    CORE_REASONS.includes(e.reason ?? "")
  );
}

export function eventRow(e: CoreV1Event): EventRow {
  return {
    time: eventTime(e)?.toISOString() ?? "",
    type: e.type ?? "Normal",
    reason: e.reason ?? "",
    namespace: e.involvedObject?.namespace ?? e.metadata?.namespace ?? "",
    pod: e.involvedObject?.name ?? "",
    node: e.reportingInstance || e.source?.host || "",
    count: e.count ?? 1,
    message: e.message ?? "",
    uid: e.metadata?.uid,
    ...(eventContainer(e) ? { container: eventContainer(e) } : {}),
    ...crashParts(e.message ?? ""),
  };
}

function crashParts(message: string): Pick<EventRow, "crash" | "fingerprint"> {
  const c = parseCrashShortForm(message);
  return c ? { crash: c.text, fingerprint: c.fingerprint } : {};
}

/** Events of cores whose crash report fingerprint starts with `prefix` (the short id or part of it). */
export function hasFingerprint(e: CoreV1Event, prefix: string): boolean {
  const fp = parseCrashShortForm(e.message ?? "")?.fingerprint;
  return fp !== undefined && fp.startsWith(prefix.toLowerCase());
}

export function toneOf(reason: string): Tone {
  if (reason === EVENT_REASON_FAILED) return "bad";
  if (reason === EVENT_REASON_UPLOADED) return "ok";
  return "warn";
}

export function eventColumns(now = Date.now(), color = false): Column<EventRow>[] {
  return [
    { header: "LAST SEEN", value: (r) => (r.time ? age(r.time, now) : "<unknown>") },
    { header: "TYPE", value: (r) => r.type },
    { header: "REASON", value: (r) => (color ? paint(toneOf(r.reason), r.reason) : r.reason) },
    { header: "POD", value: (r) => `${r.namespace}/${r.pod}` },
    { header: "NODE", value: (r) => r.node || "<none>" },
    { header: "COUNT", value: (r) => String(r.count) },
    { header: "MESSAGE", value: (r) => r.message.replace(/\s*\n\s*/g, " ") },
  ];
}

export async function listWatcherEvents(
  cluster: Cluster,
  namespace: string | undefined,
): Promise<{ items: CoreV1Event[]; resourceVersion?: string }> {
  const list = namespace
    ? await cluster.core.listNamespacedEvent({ namespace, fieldSelector: WATCHER_EVENTS })
    : await cluster.core.listEventForAllNamespaces({ fieldSelector: WATCHER_EVENTS });
  return {
    items: list.items.filter(isWatcherEvent),
    resourceVersion: list.metadata?.resourceVersion,
  };
}

/**
 * Follows the watchers' Events until the signal aborts: re-lists after the server ends a watch
 * (or answers 410 Gone), so a long `events -f` survives API server restarts.
 */
export async function followWatcherEvents(
  cluster: Cluster,
  namespace: string | undefined,
  fromVersion: string | undefined,
  onEvent: (e: CoreV1Event) => void,
  signal: AbortSignal,
): Promise<void> {
  const path = namespace ? `/api/v1/namespaces/${namespace}/events` : "/api/v1/events";
  const watch = new cluster.k8s.Watch(cluster.kc);
  let version = fromVersion;
  while (!signal.aborted) {
    const ended = await new Promise<unknown>((resolve) => {
      watch
        .watch(
          path,
          { fieldSelector: WATCHER_EVENTS, resourceVersion: version, allowWatchBookmarks: true },
          (phase, obj: CoreV1Event) => {
            if (obj?.metadata?.resourceVersion) version = obj.metadata.resourceVersion;
            if ((phase === "ADDED" || phase === "MODIFIED") && isWatcherEvent(obj)) onEvent(obj);
          },
          resolve,
        )
        .then((controller) =>
          signal.addEventListener("abort", () => controller.abort(), { once: true }),
        )
        .catch(resolve);
    });
    if (signal.aborted) return;
    const gone =
      (ended as { code?: unknown } | null)?.code === 410 ||
      (ended !== undefined && ended !== null && /410|too old/i.test(errorText(ended)));
    if (gone || version === undefined) {
      const fresh = await listWatcherEvents(cluster, namespace).catch(() => undefined);
      version = fresh?.resourceVersion;
    }
    await new Promise((r) => setTimeout(r, ended ? 1000 : 100));
  }
}
