// Clients and small helpers shared by the rig's controllers (the rig's kube-controller-manager + kube-scheduler).
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1OwnerReference,
  type V1Pod,
  type V1PodTemplateSpec,
} from "@kubernetes/client-node";
import { matchesWorkloadSelector } from "../label-selector.js";

export interface Clients {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  objects: KubernetesObjectApi;
}

export type Log = (msg: string) => void;

export function makeClients(kc: KubeConfig): Clients {
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
  };
}

export const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
export const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

export function errorCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

export function errorText(err: unknown): string {
  const e = err as { code?: unknown; body?: unknown; message?: unknown } | null;
  if (e && typeof e.code === "number") {
    let msg: string;
    try {
      const body = typeof e.body === "string" ? JSON.parse(e.body) : e.body;
      msg = (body as { message?: string } | undefined)?.message ?? "";
    } catch {
      msg = String(e.body);
    }
    return `HTTP ${e.code}${msg ? `: ${msg}` : ""}`;
  }
  return e && typeof e.message === "string" ? e.message : String(err);
}

/** Runs a write; a 404 (already gone) is fine. */
export async function ignoreNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (errorCode(err) === 404) return undefined;
    throw err;
  }
}

export function key(obj: KubernetesObject): string {
  return `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
}

export function splitKey(k: string): { namespace: string; name: string } {
  const i = k.indexOf("/");
  return { namespace: k.slice(0, i), name: k.slice(i + 1) };
}

export function controllerRef(obj: KubernetesObject): V1OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

export function ownedBy(obj: KubernetesObject, owner: KubernetesObject): boolean {
  const ref = controllerRef(obj);
  return !!ref && !!owner.metadata?.uid && ref.uid === owner.metadata.uid;
}

export function ownerRefFor(
  owner: KubernetesObject,
  apiVersion: string,
  kind: string,
): V1OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata!.name!,
    uid: owner.metadata!.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function isDeleting(obj: KubernetesObject): boolean {
  return !!obj.metadata?.deletionTimestamp;
}

export function isTerminal(pod: V1Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

/** Counts towards a controller's replicas: not finished, not being deleted. */
export function isActive(pod: V1Pod): boolean {
  return !isTerminal(pod) && !isDeleting(pod);
}

export function isReady(pod: V1Pod): boolean {
  return !!pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
}

export function timeOf(t: unknown): number {
  if (t instanceof Date) return t.getTime();
  if (typeof t === "string") return Date.parse(t);
  return 0;
}

export function creationTime(obj: KubernetesObject): number {
  return timeOf(obj.metadata?.creationTimestamp);
}

/** Label selector (matchLabels + matchExpressions) → predicate. Empty/absent selector matches nothing, as for workloads. */
export function selectorMatches(
  selector:
    | {
        matchLabels?: Record<string, string>;
        matchExpressions?: { key: string; operator: string; values?: string[] }[];
      }
    | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  return matchesWorkloadSelector(selector, labels);
}

/** A plain JSON copy of a (possibly typed, with Dates) object, so raw watch objects and typed list objects look alike. */
export function plain<T>(obj: T): T {
  return JSON.parse(JSON.stringify(obj ?? null)) as T;
}

function canonical(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined && x !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** The template without the labels the controllers add, normalized (typed or raw, dates, empty fields). */
export function normalizedTemplate(
  template: V1PodTemplateSpec | undefined,
  dropLabels: string[] = [],
): string {
  const t = plain(template ?? {}) as V1PodTemplateSpec;
  if (t.metadata) {
    delete t.metadata.creationTimestamp;
    if (t.metadata.labels) {
      for (const l of dropLabels) delete t.metadata.labels[l];
    }
  }
  return canonical(t);
}

const SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

/** Like Kubernetes' ComputeHash: fnv32a of the template, rendered with rand.SafeEncodeString. */
export function templateHash(
  template: V1PodTemplateSpec | undefined,
  dropLabels: string[] = [],
  collisionCount = 0,
): string {
  let h = 0x811c9dc5;
  const text =
    normalizedTemplate(template, dropLabels) + (collisionCount ? String(collisionCount) : "");
  const bytes = Buffer.from(text, "utf8");
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)]
    .map((c) => SAFE_ALPHANUMS[c.charCodeAt(0) % SAFE_ALPHANUMS.length])
    .join("");
}

/** A pod made from a workload's template, as the Kubernetes controllers make it (GetPodFromTemplate). */
export function podFromTemplate(
  template: V1PodTemplateSpec | undefined,
  namespace: string,
  owner: V1OwnerReference,
  naming: { name: string } | { generateName: string },
  extraLabels: Record<string, string> = {},
): V1Pod {
  const t = plain(template ?? {}) as V1PodTemplateSpec;
  const meta = t.metadata ?? {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...naming,
      namespace,
      labels: { ...(meta.labels ?? {}), ...extraLabels },
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [owner],
    },
    spec: t.spec ?? { containers: [] },
  };
}

/** Percent or absolute intstr, as Kubernetes' GetScaledValueFromIntOrPercent. */
export function scaledValue(
  v: number | string | undefined,
  total: number,
  roundUp: boolean,
  dflt: string,
): number {
  const val = v ?? dflt;
  if (typeof val === "number") return val;
  const m = /^(\d+)%$/.exec(val);
  if (m) {
    const x = (Number(m[1]) * total) / 100;
    return roundUp ? Math.ceil(x) : Math.floor(x);
  }
  const n = Number(val);
  return Number.isFinite(n) ? n : 0;
}

export type Condition = {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: unknown;
  lastUpdateTime?: unknown;
};

/** Sets a condition, keeping lastTransitionTime when the status did not change. */
export function setCondition<C extends Condition>(conds: C[] | undefined, c: C): C[] {
  const now = new Date().toISOString();
  const out = (conds ?? []).map((x) => ({ ...x }));
  const i = out.findIndex((x) => x.type === c.type);
  if (i >= 0) {
    const old = out[i]!;
    const same = old.status === c.status;
    out[i] = {
      ...c,
      lastTransitionTime: same ? (old.lastTransitionTime ?? now) : now,
      ...("lastUpdateTime" in old || "lastUpdateTime" in c
        ? { lastUpdateTime: same && old.reason === c.reason ? (old.lastUpdateTime ?? now) : now }
        : {}),
    };
  } else {
    out.push({ ...c, lastTransitionTime: now });
  }
  return out;
}

export function sameJSON(a: unknown, b: unknown): boolean {
  return canonical(plain(a)) === canonical(plain(b));
}
