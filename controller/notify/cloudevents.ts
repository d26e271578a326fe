// The `cloudevents` channel: CloudEvents 1.0 over HTTP in structured mode (the whole event is the JSON body, sent
// as application/cloudevents+json), what Knative, Argo Events and most event routers take. The data is the crash
// report with where the core is (pod, node, object key, link).
import { createHash, randomUUID } from "node:crypto";
import type { NoticeFields } from "./payloads.js";

export const CLOUDEVENTS_SPECVERSION = "1.0";
export const CLOUDEVENT_TYPES = {
  crash: "io.coredog.crash.v1",
  failed: "io.coredog.crash.failed.v1",
  alert: "io.coredog.alert.v1",
} as const;

export interface CloudEvent {
  specversion: typeof CLOUDEVENTS_SPECVERSION;
  id: string;
  source: string;
  type: string;
  subject?: string;
  time: string;
  datacontenttype: "application/json";
  data: Record<string, unknown>;
}

function typeOf(kind: NoticeFields["kind"]): string {
  if (kind === "failed") return CLOUDEVENT_TYPES.failed;
  if (kind === "alert" || kind === undefined) return CLOUDEVENT_TYPES.alert;
  return CLOUDEVENT_TYPES.crash;
}

/**
 * One event per core and kind: its id is derived from them, so a notice sent again (a retry) keeps its id and a
 * receiver can drop the duplicate; a summary also counts, alerts get a fresh id.
 */
function idOf(f: NoticeFields): string {
  if (f.kind === "alert" || f.kind === undefined || !(f.key ?? f.path)) return randomUUID();
  const basis = [f.kind, f.node ?? "", f.key ?? f.path ?? "", f.time ?? "", String(f.count ?? "")];
  return createHash("sha256").update(basis.join("\n")).digest("hex").slice(0, 32);
}

export function cloudEvent(message: string, f: NoticeFields): CloudEvent {
  const subject = f.namespace && f.pod ? `${f.namespace}/${f.pod}` : f.file;
  const core =
    f.kind === "alert" || f.kind === undefined
      ? undefined
      : {
          namespace: f.namespace,
          pod: f.pod,
          container: f.container,
          image: f.image,
          node: f.node,
          file: f.file,
          path: f.path,
          size: f.size,
          truncated: f.truncated,
          sha256: f.sha256,
          bucket: f.bucket,
          key: f.key,
          url: f.url,
          executable: f.executable,
          signal: f.signal,
        };
  return {
    specversion: CLOUDEVENTS_SPECVERSION,
    id: idOf(f),
    source: `/coredog/watcher/${encodeURIComponent(f.node ?? "unknown")}`,
    type: typeOf(f.kind),
    ...(subject ? { subject } : {}),
    time: f.time ?? new Date().toISOString(),
    datacontenttype: "application/json",
    data: {
      kind: f.kind ?? "alert",
      message,
      ...(core ? { core } : {}),
      ...(f.kind !== "alert" && f.kind !== undefined
        ? {
            crash: f.report ?? null,
            ...(f.crashError ? { crashError: f.crashError } : {}),
            ...(f.fingerprint ? { fingerprint: f.fingerprint } : {}),
            ...(f.seenBefore !== undefined ? { seenBefore: f.seenBefore, seen: f.seen } : {}),
          }
        : {}),
      ...(f.error ? { error: f.error } : {}),
      ...(f.count !== undefined ? { count: f.count } : {}),
    },
  };
}
