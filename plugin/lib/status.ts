// `kubectl coredog status`: the webhook's health and each node's watcher, from what diagnose.ts read.
import type { V1Pod } from "@kubernetes/client-node";
import type { DoctorInput } from "./doctor.js";
import { nodeStateOf, settingsFrom } from "./doctor.js";
import { isPaused } from "./emergency.js";
import { imagePullFailures, type PullFailure } from "./image-pull.js";
import { age, type Column } from "./output.js";
import { formatBytes } from "../../src/template.js";

export interface NodeRow {
  node: string;
  watcher: string;
  ready: boolean;
  corePattern: string;
  filesWaiting?: number;
  bytesWaiting?: number;
  lastUpload?: string;
  lastError?: string;
  /** The last upload's failure in the store's words; absent once an upload succeeds. */
  storageError?: string;
  updatedAt?: string;
  /** Bytes under the node directory and its limit, as the watcher measured them. */
  dirBytes?: number;
  maxUseBytes?: number;
  /** Limits acting on the node now, each `<limit>: <why> (since <time>)`. */
  limits?: string[];
}

export interface Status {
  webhook: {
    configured: boolean;
    failurePolicy: string[];
    ready: number;
    pods: number;
    readError?: string;
  };
  watcher: { installed: boolean; paused: boolean; readError?: string };
  settings: { valid: boolean; errors: string[] };
  /** CoreDog's own pods (webhook, watchers) that cannot get their image. */
  imagePull: PullFailure[];
  nodes: NodeRow[];
}

function ready(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

export function buildStatus(input: Omit<DoctorInput, "now" | "pod" | "podNamespace">): Status {
  const cfg = input.webhookConfig.ok ? input.webhookConfig.value : undefined;
  const webhookPods = input.webhookPods.ok ? input.webhookPods.value : [];
  const ds = input.watcher.ok ? input.watcher.value : undefined;
  const watcherPods = input.watcherPods.ok ? input.watcherPods.value : [];
  const settings =
    input.configMap.ok && input.configMap.value ? settingsFrom(input.configMap.value) : undefined;
  const nodes = watcherPods
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p): NodeRow => {
      const state = nodeStateOf(p);
      return {
        node: p.spec?.nodeName ?? "<unscheduled>",
        watcher: p.metadata?.name ?? "",
        ready: ready(p),
        corePattern: state ? (state.corePattern ?? "<unreadable>") : "<unknown>",
        filesWaiting: state?.filesWaiting,
        bytesWaiting: state?.bytesWaiting,
        lastUpload: state?.lastUpload?.at,
        lastError: state?.lastError
          ? `${state.lastError.at} ${state.lastError.message}`
          : state?.settingsError,
        storageError: state?.storageError
          ? `${state.storageError.at} ${state.storageError.message}`
          : undefined,
        updatedAt: state?.updatedAt,
        ...(state?.limits
          ? {
              dirBytes: state.limits.dirBytes,
              ...(state.limits.maxUseBytes !== undefined
                ? { maxUseBytes: state.limits.maxUseBytes }
                : {}),
              limits: state.limits.active.map((a) => `${a.limit}: ${a.why} (since ${a.since})`),
            }
          : {}),
      };
    })
    .sort((a, b) => a.node.localeCompare(b.node));
  return {
    webhook: {
      configured: Boolean(cfg),
      failurePolicy: (cfg?.webhooks ?? []).map((h) => h.failurePolicy ?? "Fail"),
      ready: webhookPods.filter(ready).length,
      pods: webhookPods.length,
      readError: !input.webhookConfig.ok
        ? input.webhookConfig.reason
        : !input.webhookPods.ok
          ? input.webhookPods.reason
          : undefined,
    },
    watcher: {
      installed: Boolean(ds),
      paused: ds ? isPaused(ds) : false,
      readError: !input.watcher.ok
        ? input.watcher.reason
        : !input.watcherPods.ok
          ? input.watcherPods.reason
          : undefined,
    },
    settings: {
      valid: Boolean(settings?.settings),
      errors:
        settings?.errors ??
        (input.configMap.ok ? ["configmap coredog not found"] : [input.configMap.reason]),
    },
    imagePull: imagePullFailures([...webhookPods, ...watcherPods]),
    nodes,
  };
}

export function nodeColumns(now = Date.now()): Column<NodeRow>[] {
  return [
    { header: "NODE", value: (r) => r.node },
    { header: "WATCHER", value: (r) => `${r.watcher} (${r.ready ? "ready" : "not ready"})` },
    { header: "CORE_PATTERN", value: (r) => r.corePattern },
    {
      header: "WAITING",
      value: (r) =>
        r.filesWaiting === undefined
          ? "?"
          : `${r.filesWaiting} (${formatBytes(r.bytesWaiting ?? 0)})`,
    },
    { header: "LAST UPLOAD", value: (r) => (r.lastUpload ? age(r.lastUpload, now) : "<none>") },
    { header: "LAST ERROR", value: (r) => r.lastError ?? "<none>" },
  ];
}
