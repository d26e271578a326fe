// The rows of `kubectl coredog ls`: opted-in pods, whether the directory is really there, their cores.
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { parseInjectedAnnotation } from "../../src/injection.js";
import {
  ANNOTATION_CONTAINER,
  ANNOTATION_INJECT,
  ANNOTATION_INJECTED,
  ANNOTATION_PATH,
  EVENT_REASON_CAPTURED,
  NODE_DUMP_DIR,
  VOLUME_NAME,
  containerDumpDir,
  podDumpDir,
} from "../../src/names.js";
import { blockedUsers } from "../../src/dir-write.js";
import type { DirAccess } from "../../src/node-state.js";
import { eventContainer } from "./events.js";
import { age, type Column } from "./output.js";

export interface CoreCount {
  count: number;
  last?: Date;
  /** Cores per container, for the Events that name one. */
  containers: Record<string, number>;
}

export interface PodRow {
  namespace: string;
  pod: string;
  uid?: string;
  path: string;
  /** The containers that have the directory (or, when not injected, the annotated ones). */
  containers: string[];
  injected: boolean;
  node: string;
  phase: string;
  /** Injected containers whose user cannot create its core (the node directory's mode); empty when fine or unknown. */
  cannotWrite?: string[];
  cores: number;
  /** Cores per container, for those whose container is known. */
  coresByContainer?: Record<string, number>;
  lastCore?: string;
  created?: string;
  owner?: string;
}

export function isOptedIn(pod: V1Pod): boolean {
  return pod.metadata?.annotations?.[ANNOTATION_INJECT] === "true";
}

/** Containers that really mount the node directory. */
export function mountedContainers(pod: V1Pod): string[] {
  const volume = pod.spec?.volumes?.find((v) => v.name === VOLUME_NAME);
  if (volume?.hostPath?.path !== NODE_DUMP_DIR) return [];
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  return all.filter((c) => c.volumeMounts?.some((m) => m.name === VOLUME_NAME)).map((c) => c.name);
}

/**
 * Where each injected container's cores land on the node: its own `<namespace>/<pod>/<container>/`, or the
 * pod's directory for a pod admitted before each container had its own (`own: false`).
 */
export function containerDumpDirs(pod: V1Pod): { container: string; dir: string; own: boolean }[] {
  const ns = pod.metadata?.namespace ?? "";
  const name = pod.metadata?.name ?? "";
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const out: { container: string; dir: string; own: boolean }[] = [];
  if (mountedContainers(pod).length === 0) return out;
  for (const c of all) {
    const m = c.volumeMounts?.find((v) => v.name === VOLUME_NAME);
    if (!m) continue;
    const own = (m.subPathExpr ?? "").endsWith(`)/${c.name}`);
    const dir = own ? containerDumpDir(ns, name, c.name) : podDumpDir(ns, name);
    out.push({ container: c.name, dir: `${dir}/`, own });
  }
  return out;
}

/** Captured cores per pod uid (or namespace/name), from the watchers' Events. */
export function countCores(events: CoreV1Event[]): Map<string, CoreCount> {
  const counts = new Map<string, CoreCount>();
  for (const e of events) {
    if (e.reason !== EVENT_REASON_CAPTURED) continue;
    const o = e.involvedObject;
    const keys = [o.uid, `${o.namespace}/${o.name}`].filter((k): k is string => Boolean(k));
    const when =
      e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
    const container = eventContainer(e);
    for (const key of keys) {
      const c = counts.get(key) ?? { count: 0, containers: {} };
      c.count += e.count ?? 1;
      if (container) c.containers[container] = (c.containers[container] ?? 0) + (e.count ?? 1);
      const at = when ? new Date(when) : undefined;
      if (at && (!c.last || at > c.last)) c.last = at;
      counts.set(key, c);
    }
  }
  return counts;
}

/**
 * `dumpDirs`: the node directory's mode and owner per node, from the watchers' node state; containers whose
 * known user cannot create a core there are listed in `cannotWrite`.
 */
export function podRow(
  pod: V1Pod,
  cores: Map<string, CoreCount>,
  dumpDirs?: Map<string, DirAccess>,
): PodRow {
  const a = pod.metadata?.annotations ?? {};
  const mounted = mountedContainers(pod);
  const recorded = parseInjectedAnnotation(a[ANNOTATION_INJECTED]);
  const namespace = pod.metadata?.namespace ?? "";
  const name = pod.metadata?.name ?? "";
  const c =
    (pod.metadata?.uid ? cores.get(pod.metadata.uid) : undefined) ??
    cores.get(`${namespace}/${name}`);
  const owner =
    pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  const dir = dumpDirs?.get(pod.spec?.nodeName ?? "");
  const blocked =
    dir && mounted.length > 0
      ? blockedUsers(pod, dir)
          .filter((b) => !b.unknown)
          .map((b) => b.user.container)
      : [];
  return {
    namespace,
    pod: name,
    uid: pod.metadata?.uid,
    path: recorded?.path ?? a[ANNOTATION_PATH] ?? "",
    containers:
      mounted.length > 0
        ? mounted
        : (a[ANNOTATION_CONTAINER] ?? "")
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
    injected: mounted.length > 0,
    ...(blocked.length > 0 ? { cannotWrite: blocked } : {}),
    node: pod.spec?.nodeName ?? "",
    phase: pod.status?.phase ?? "",
    cores: c?.count ?? 0,
    coresByContainer: { ...c?.containers },
    lastCore: c?.last?.toISOString(),
    created: pod.metadata?.creationTimestamp
      ? new Date(pod.metadata.creationTimestamp).toISOString()
      : undefined,
    owner: owner ? `${owner.kind}/${owner.name}` : undefined,
  };
}

/** `3 (worker:2,migrate:1)`: the count, and per container where the Events name one. */
export function coresText(r: Pick<PodRow, "cores" | "coresByContainer">): string {
  const per = Object.entries(r.coresByContainer ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([c, n]) => `${c}:${n}`);
  return per.length > 0 ? `${r.cores} (${per.join(",")})` : String(r.cores);
}

export function lsColumns(now = Date.now()): Column<PodRow>[] {
  return [
    { header: "NAMESPACE", value: (r) => r.namespace },
    { header: "POD", value: (r) => r.pod },
    { header: "PATH", value: (r) => r.path || "<none>" },
    {
      header: "CONTAINERS",
      value: (r) => (r.containers.length ? r.containers.join(",") : "<all>"),
    },
    {
      header: "INJECTED",
      value: (r) =>
        !r.injected
          ? "no"
          : r.cannotWrite?.length
            ? `yes, ${r.cannotWrite.join(",")} cannot write`
            : "yes",
    },
    { header: "NODE", value: (r) => r.node || "<none>" },
    { header: "CORES", value: coresText },
    { header: "LAST CORE", value: (r) => (r.lastCore ? age(r.lastCore, now) : "<none>") },
    { header: "AGE", value: (r) => age(r.created, now) },
    { header: "STATUS", value: (r) => r.phase || "<unknown>", wide: true },
    { header: "OWNER", value: (r) => r.owner ?? "<none>", wide: true },
  ];
}
