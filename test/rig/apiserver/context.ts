// What every handler works with: the server's shared state, and the storage behind a route.
import type { ServerResponse } from "node:http";
import type { ClusterIps } from "./cluster-ip.js";
import type { Authorizer, Tokens } from "./rbac.js";
import { findResource, apiVersionOf, type ResourceInfo } from "./resources.js";
import { notFound } from "./status.js";
import { toEventsV1, type KubeObject, type Store } from "./store.js";

export type AnyObj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ServerContext {
  store: Store;
  tokens: Tokens;
  authorizer: Authorizer;
  logsDir: string;
  caPem: string;
  address: () => string; // "127.0.0.1:PORT"
  log: (msg: string) => void;
  /** Open streaming responses (watches, log follows), ended by stop(). */
  streams: Set<ServerResponse>;
}

/** The server context plus the state the handlers own. */
export interface ApiContext extends ServerContext {
  clusterIps: ClusterIps;
}

const CORE_EVENTS = findResource("", "v1", "events")!;

/** Storage info for a route: events.k8s.io/v1 reads and writes core/v1 Events. */
export function storageOf(info: ResourceInfo): ResourceInfo {
  return info.storageKey === "events" ? CORE_EVENTS : info;
}

/** A stored object as the route's group/version shows it. */
export function render(info: ResourceInfo, o: KubeObject): KubeObject {
  const out = info.storageKey === "events" ? toEventsV1(structuredClone(o)) : structuredClone(o);
  out.apiVersion = apiVersionOf(info);
  out.kind = info.kind;
  return out;
}

export function getStored(
  ctx: ServerContext,
  info: ResourceInfo,
  namespace: string | undefined,
  name: string,
): KubeObject {
  const o = ctx.store.get(storageOf(info), namespace, name);
  if (!o) throw notFound(info.resource, info.group, name);
  return o;
}

/** Update that may set deletionTimestamp (which the store otherwise keeps from the old object). */
export function markDeleting(
  ctx: ServerContext,
  info: ResourceInfo,
  old: KubeObject,
  next: KubeObject,
): KubeObject {
  const dt = next.metadata.deletionTimestamp;
  const g = next.metadata.deletionGracePeriodSeconds;
  // The store keeps deletionTimestamp from the stored object; set it through a copy that has it.
  const withMeta = {
    ...next,
    metadata: { ...next.metadata, resourceVersion: old.metadata.resourceVersion },
  };
  return ctx.store.updateDeleting(info, withMeta, dt!, g);
}

/** A timestamp the way the API writes them: seconds, no fraction. */
export function timestamp(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}
