// In-memory object storage with a global resourceVersion counter, bounded watch history and watchers.
import { randomUUID } from "node:crypto";
import { alreadyExists, conflict, gone, notFound } from "./status.js";
import { apiVersionOf, keyOf, resolveResource, type ResourceInfo } from "./resources.js";

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: {
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }[];
  finalizers?: string[];
  [k: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [k: string]: unknown;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";
export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  object: T;
  /** The previous state for MODIFIED events (not part of the wire format). */
  old?: T;
}

interface HistoryEntry {
  rv: number;
  key: string;
  type: WatchEventType;
  object: KubeObject;
  old?: KubeObject;
}

interface Watcher {
  key: string;
  namespace?: string;
  cb: (ev: WatchEvent) => void;
}

export type ResourceRef = string | ResourceInfo;

const DEFAULT_HISTORY_LIMIT = 20000;

function clone<T>(v: T): T {
  return structuredClone(v);
}

function randomSuffix(n = 5): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

/** JSON with sorted object keys: equality that ignores key order. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableStringify(x)}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

function specOf(o: KubeObject): string {
  const { apiVersion: _a, kind: _k, metadata: _m, status: _s, ...rest } = o;
  return stableStringify(rest);
}

/**
 * Typed CRUD + watch on the rig's storage. Objects go in and come out as copies. This layer does no admission,
 * defaulting or validation: the HTTP server does that before calling it.
 */
export class Store {
  private rv = 0;
  private readonly data = new Map<string, Map<string, KubeObject>>();
  private readonly history: HistoryEntry[] = [];
  private readonly watchers = new Set<Watcher>();

  /** `historyLimit`: how many changes a watch can resume across (older resourceVersions get 410 Expired). */
  constructor(private readonly historyLimit = DEFAULT_HISTORY_LIMIT) {}

  private info(ref: ResourceRef): ResourceInfo {
    return typeof ref === "string" ? resolveResource(ref) : ref;
  }

  private bucket(key: string): Map<string, KubeObject> {
    let b = this.data.get(key);
    if (!b) this.data.set(key, (b = new Map()));
    return b;
  }

  private id(info: ResourceInfo, namespace: string | undefined, name: string): string {
    return info.namespaced ? `${namespace ?? ""}/${name}` : name;
  }

  currentResourceVersion(): string {
    return String(this.rv);
  }

  /** Oldest resourceVersion a watch can resume from. */
  oldestResourceVersion(): number {
    return this.history.length ? this.history[0]!.rv - 1 : this.rv;
  }

  get<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
  ): T | undefined {
    const info = this.info(ref);
    const o = this.bucket(keyOf(info)).get(this.id(info, namespace, name));
    return o ? (this.present(info, o) as T) : undefined;
  }

  /** Objects sorted by namespace/name; all namespaces when `namespace` is undefined. */
  list<T extends KubeObject = KubeObject>(ref: ResourceRef, namespace?: string): T[] {
    const info = this.info(ref);
    const out: T[] = [];
    for (const o of this.bucket(keyOf(info)).values()) {
      if (info.namespaced && namespace !== undefined && o.metadata.namespace !== namespace)
        continue;
      out.push(this.present(info, o) as T);
    }
    return out.sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
  }

  /** Stores a new object: resolves generateName, sets uid, resourceVersion, creationTimestamp, generation. */
  create<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: T): T {
    const info = this.info(ref);
    const o = clone(obj) as KubeObject;
    o.metadata ??= {};
    const b = this.bucket(keyOf(info));
    if (!o.metadata.name && o.metadata.generateName) {
      let candidate = o.metadata.generateName + randomSuffix();
      while (b.has(this.id(info, o.metadata.namespace, candidate)))
        candidate = o.metadata.generateName + randomSuffix();
      o.metadata.name = candidate;
    }
    const name = o.metadata.name ?? "";
    const id = this.id(info, o.metadata.namespace, name);
    if (b.has(id)) throw alreadyExists(info.resource, info.group, name);
    if (!info.namespaced) delete o.metadata.namespace;
    o.metadata.uid ||= randomUUID();
    o.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    if (info.hasGeneration) o.metadata.generation = 1;
    delete o.metadata.deletionTimestamp;
    o.metadata.resourceVersion = String(++this.rv);
    o.apiVersion = apiVersionOf(info);
    o.kind = info.kind;
    b.set(id, o);
    this.emit(info, "ADDED", o);
    return this.present(info, o) as T;
  }

  /**
   * Replaces an object. A set metadata.resourceVersion must match (409 Conflict otherwise). Immutable metadata is
   * kept; generation is bumped when anything outside metadata/status changes.
   */
  update<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: T): T {
    const info = this.info(ref);
    const o = clone(obj) as KubeObject;
    const name = o.metadata?.name ?? "";
    const b = this.bucket(keyOf(info));
    const id = this.id(info, o.metadata.namespace, name);
    const old = b.get(id);
    if (!old) throw notFound(info.resource, info.group, name);
    if (o.metadata.resourceVersion && o.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(info.resource, info.group, name);
    }
    o.metadata.uid = old.metadata.uid;
    o.metadata.creationTimestamp = old.metadata.creationTimestamp;
    if (!info.namespaced) delete o.metadata.namespace;
    if (old.metadata.deletionTimestamp) {
      o.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
      if (old.metadata.deletionGracePeriodSeconds !== undefined)
        o.metadata.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
    }
    if (info.hasGeneration) {
      o.metadata.generation = (old.metadata.generation ?? 1) + (specOf(o) !== specOf(old) ? 1 : 0);
    } else delete o.metadata.generation;
    o.apiVersion = apiVersionOf(info);
    o.kind = info.kind;
    if (
      old.metadata.deletionTimestamp &&
      !o.metadata.finalizers?.length &&
      info.resource !== "pods"
    ) {
      // The last finalizer is gone from an object being deleted: it goes away now.
      o.metadata.resourceVersion = String(++this.rv);
      b.delete(id);
      this.emit(info, "DELETED", o, old);
      return this.present(info, o) as T;
    }
    if (
      stableStringify({ ...o, metadata: { ...o.metadata, resourceVersion: "" } }) ===
      stableStringify({ ...old, metadata: { ...old.metadata, resourceVersion: "" } })
    ) {
      // No-op updates do not bump the resourceVersion (as in Kubernetes).
      return this.present(info, old) as T;
    }
    o.metadata.resourceVersion = String(++this.rv);
    b.set(id, o);
    this.emit(info, "MODIFIED", o, old);
    return this.present(info, o) as T;
  }

  /** Marks an object as being deleted (deletionTimestamp, grace period): an update that also sets these. */
  updateDeleting<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    obj: T,
    deletionTimestamp: string,
    gracePeriodSeconds?: number,
  ): T {
    const info = this.info(ref);
    const b = this.bucket(keyOf(info));
    const id = this.id(info, obj.metadata.namespace, obj.metadata.name ?? "");
    const old = b.get(id);
    if (!old) throw notFound(info.resource, info.group, obj.metadata.name ?? "");
    const o = clone(old);
    o.metadata.deletionTimestamp = deletionTimestamp;
    if (gracePeriodSeconds !== undefined)
      o.metadata.deletionGracePeriodSeconds = gracePeriodSeconds;
    if ((obj as KubeObject & { status?: unknown }).status !== undefined)
      (o as Record<string, unknown>).status = (obj as Record<string, unknown>).status;
    o.metadata.resourceVersion = String(++this.rv);
    b.set(id, o);
    this.emit(info, "MODIFIED", o, old);
    return this.present(info, o) as T;
  }

  /** Removes an object now (no grace period, no finalizers). Returns the last state. */
  delete<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
  ): T {
    const info = this.info(ref);
    const b = this.bucket(keyOf(info));
    const id = this.id(info, namespace, name);
    const old = b.get(id);
    if (!old) throw notFound(info.resource, info.group, name);
    b.delete(id);
    const o = clone(old);
    o.metadata.resourceVersion = String(++this.rv);
    this.emit(info, "DELETED", o);
    return this.present(info, o) as T;
  }

  /**
   * Calls `cb` for every change of `ref` (in `namespace`, or all). With `resourceVersion`, first replays the changes
   * after it (410 Expired if it is older than the history window); with `sendInitial`, first sends the current objects
   * as ADDED. Returns a function that stops the watch.
   */
  watch(
    ref: ResourceRef,
    opts: { namespace?: string; resourceVersion?: string; sendInitial?: boolean },
    cb: (ev: WatchEvent) => void,
  ): () => void {
    const info = this.info(ref);
    const key = keyOf(info);
    const w: Watcher = {
      key,
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
      cb,
    };
    const wrap = (o: KubeObject) => this.present(info, o);
    if (opts.sendInitial) {
      for (const o of this.list(info, opts.namespace)) cb({ type: "ADDED", object: o });
    } else if (
      opts.resourceVersion !== undefined &&
      opts.resourceVersion !== "" &&
      opts.resourceVersion !== "0"
    ) {
      const from = Number(opts.resourceVersion);
      if (!Number.isFinite(from)) throw gone(`invalid resourceVersion: ${opts.resourceVersion}`);
      if (from < this.oldestResourceVersion()) {
        throw gone(`too old resource version: ${from} (${this.oldestResourceVersion() + 1})`);
      }
      for (const h of this.history) {
        if (h.rv <= from || h.key !== key) continue;
        if (
          info.namespaced &&
          opts.namespace !== undefined &&
          h.object.metadata.namespace !== opts.namespace
        )
          continue;
        cb({ type: h.type, object: wrap(h.object), ...(h.old ? { old: wrap(h.old) } : {}) });
      }
    } else if (
      opts.resourceVersion === "0" ||
      opts.resourceVersion === undefined ||
      opts.resourceVersion === ""
    ) {
      // Kubernetes semantics: "0"/unset start with synthetic ADDED events for what exists.
      for (const o of this.list(info, opts.namespace)) cb({ type: "ADDED", object: o });
    }
    this.watchers.add(w);
    return () => {
      this.watchers.delete(w);
    };
  }

  /** Number of open watches (diagnostics). */
  watchCount(): number {
    return this.watchers.size;
  }

  private present(info: ResourceInfo, o: KubeObject): KubeObject {
    const c = clone(o);
    c.apiVersion = apiVersionOf(info);
    c.kind = info.kind;
    if (info.storageKey === "events") return toEventsV1(c);
    return c;
  }

  private emit(info: ResourceInfo, type: WatchEventType, o: KubeObject, old?: KubeObject): void {
    const key = keyOf(info);
    this.history.push({
      rv: Number(o.metadata.resourceVersion),
      key,
      type,
      object: clone(o),
      ...(old ? { old: clone(old) } : {}),
    });
    if (this.history.length > this.historyLimit)
      this.history.splice(0, this.history.length - this.historyLimit);
    for (const w of [...this.watchers]) {
      if (w.key !== key) continue;
      if (info.namespaced && w.namespace !== undefined && o.metadata.namespace !== w.namespace)
        continue;
      try {
        w.cb({ type, object: clone(o), ...(old ? { old: clone(old) } : {}) });
      } catch {
        // A failing watcher must not break writes.
      }
    }
  }
}

function sortKey(o: KubeObject): string {
  return `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;
}

/** events.k8s.io/v1 view of a core/v1 Event. */
export function toEventsV1(e: KubeObject): KubeObject {
  const x = e as Record<string, unknown> & KubeObject;
  if (x.apiVersion === "events.k8s.io/v1" && x.regarding) return x;
  const out: Record<string, unknown> = {
    apiVersion: "events.k8s.io/v1",
    kind: "Event",
    metadata: x.metadata,
    eventTime: x.eventTime ?? null,
    reason: x.reason,
    regarding: x.involvedObject,
    note: x.message,
    type: x.type,
    reportingController:
      x.reportingComponent ?? (x.source as { component?: string } | undefined)?.component,
    reportingInstance: x.reportingInstance ?? (x.source as { host?: string } | undefined)?.host,
    action: x.action,
    deprecatedCount: x.count,
    deprecatedFirstTimestamp: x.firstTimestamp,
    deprecatedLastTimestamp: x.lastTimestamp,
    deprecatedSource: x.source,
  };
  if (x.series) out.series = x.series;
  if (x.related) out.related = x.related;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as KubeObject;
}

/** core/v1 Event from an events.k8s.io/v1 one (for writes through the events.k8s.io API). */
export function fromEventsV1(e: KubeObject): KubeObject {
  const x = e as Record<string, unknown> & KubeObject;
  const out: Record<string, unknown> = {
    apiVersion: "v1",
    kind: "Event",
    metadata: x.metadata,
    involvedObject: x.regarding ?? {},
    reason: x.reason,
    message: x.note,
    type: x.type,
    eventTime: x.eventTime,
    reportingComponent: x.reportingController,
    reportingInstance: x.reportingInstance,
    action: x.action,
    count: x.deprecatedCount,
    firstTimestamp: x.deprecatedFirstTimestamp,
    lastTimestamp: x.deprecatedLastTimestamp,
    source:
      x.deprecatedSource ??
      (x.reportingController ? { component: x.reportingController } : undefined),
    series: x.series,
    related: x.related,
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as KubeObject;
}
