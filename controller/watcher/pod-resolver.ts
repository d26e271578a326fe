// Who a core belongs to: a node-scoped watch cache of pods (one LIST + WATCH, however many cores a
// crash storm produces), a deduplicated GET for a pod the cache does not know (yet), tombstones for
// pods deleted a moment ago (crash-looping pods are often gone before their core is complete).
import type { KubeConfig, V1Pod, V1PodList } from "@kubernetes/client-node";
import pLimit from "p-limit";
import { parseInjectedAnnotation } from "../../src/injection.js";
import { ANNOTATION_INJECTED } from "../../src/names.js";
import type { Logger } from "../log.js";
import { CoreV1Api, ListWatch, Watch } from "./k8s.js";
import type { PodInfo } from "./types.js";
import { errorText } from "../../src/error-text.js";

export interface PodResolver {
  resolve(namespace: string, pod: string): Promise<PodInfo | undefined>;
  /** The watch cache has been filled once. */
  ready(): boolean;
  stop(): void;
}

export interface PodResolverOptions {
  /** How long a deleted pod stays resolvable, default 5 min. */
  tombstoneMs?: number;
  /** How long "no such pod" is remembered, default 10 s. */
  negativeMs?: number;
  /** How long a pod fetched by GET (not in the node's cache) is remembered, default 30 s. */
  fetchedMs?: number;
  /** Concurrent fallback GETs, default 4. */
  maxConcurrentGets?: number;
  /** Entries kept in each side table (tombstones, negatives, fetched), default 5000. */
  maxEntries?: number;
  /** A fallback GET taking longer is given up (the core is reported without pod details), default 5 s. */
  getTimeoutMs?: number;
  /** Before the first sync, how long resolve() waits for the cache before a GET, default 3 s. */
  syncWaitMs?: number;
}

function isNotFound(err: unknown): boolean {
  return !!err && typeof err === "object" && "code" in err && err.code === 404;
}

/** The containers named in the webhook's coredog.io/injected annotation (init containers included). */
export function targetedContainersOf(value: string | undefined): string[] | undefined {
  const record = parseInjectedAnnotation(value);
  return record ? [...record.initContainers, ...record.containers] : undefined;
}

/** The pod's controller, with a ReplicaSet made of a Deployment reported as that Deployment. */
export function ownerOf(pod: V1Pod): PodInfo["owner"] {
  const refs = pod.metadata?.ownerReferences ?? [];
  const ref = refs.find((r) => r.controller) ?? refs[0];
  if (!ref) return undefined;
  if (ref.kind === "ReplicaSet") {
    // The Deployment controller names its ReplicaSets <deployment>-<pod-template-hash>.
    const hash = pod.metadata?.labels?.["pod-template-hash"];
    if (hash && ref.name.endsWith(`-${hash}`) && ref.name.length > hash.length + 1) {
      return { kind: "Deployment", name: ref.name.slice(0, -(hash.length + 1)) };
    }
  }
  return { kind: ref.kind, name: ref.name };
}

export function podInfoFromPod(pod: V1Pod): PodInfo {
  const spec = pod.spec;
  const all = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
  const images: Record<string, string> = {};
  for (const c of all) if (c.image) images[c.name] = c.image;
  const annotations = pod.metadata?.annotations;
  const info: PodInfo = {
    namespace: pod.metadata?.namespace ?? "",
    name: pod.metadata?.name ?? "",
    containers: all.map((c) => c.name),
    images,
  };
  if (spec?.initContainers?.length) info.initContainers = spec.initContainers.map((c) => c.name);
  if (pod.metadata?.uid) info.uid = pod.metadata.uid;
  if (spec?.nodeName) info.node = spec.nodeName;
  if (pod.status?.hostIP) info.hostIP = pod.status.hostIP;
  if (pod.status?.podIP) info.podIP = pod.status.podIP;
  const owner = ownerOf(pod);
  if (owner) info.owner = owner;
  const targeted = targetedContainersOf(annotations?.[ANNOTATION_INJECTED]);
  if (targeted) info.targetedContainers = targeted;
  if (annotations) info.annotations = { ...annotations };
  return info;
}

/** A map whose entries expire and whose size is bounded (oldest dropped first). */
class ExpiringMap<V> {
  private readonly m = new Map<string, { v: V; until: number }>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    const e = this.m.get(k);
    if (!e) return undefined;
    if (e.until < Date.now()) {
      this.m.delete(k);
      return undefined;
    }
    return e.v;
  }
  set(k: string, v: V, ttlMs: number): void {
    this.m.delete(k);
    this.m.set(k, { v, until: Date.now() + ttlMs });
    while (this.m.size > this.max) {
      const oldest = this.m.keys().next().value;
      if (oldest === undefined) break;
      this.m.delete(oldest);
    }
  }
  delete(k: string): void {
    this.m.delete(k);
  }
  sweep(): void {
    const now = Date.now();
    for (const [k, e] of this.m) if (e.until < now) this.m.delete(k);
  }
}

export function createPodResolver(
  kc: KubeConfig,
  nodeName: string,
  log: Logger,
  opts: PodResolverOptions = {},
): PodResolver {
  const tombstoneMs = opts.tombstoneMs ?? 5 * 60_000;
  const negativeMs = opts.negativeMs ?? 10_000;
  const fetchedMs = opts.fetchedMs ?? 30_000;
  const max = opts.maxEntries ?? 5000;
  const api = kc.makeApiClient(CoreV1Api);
  const fieldSelector = `spec.nodeName=${nodeName}`;
  const tombstones = new ExpiringMap<PodInfo>(max);
  const negatives = new ExpiringMap<true>(max);
  const fetched = new ExpiringMap<PodInfo>(max);
  const inflight = new Map<string, Promise<PodInfo | undefined>>();
  const limitGet = pLimit(opts.maxConcurrentGets ?? 4);
  let synced = false;
  let markSynced: () => void = () => undefined;
  const syncedOnce = new Promise<void>((r) => {
    markSynced = r;
  });
  const getTimeoutMs = opts.getTimeoutMs ?? 5000;
  const syncWaitMs = opts.syncWaitMs ?? 3000;
  let stopped = false;
  let restartDelay = 1000;
  let restartTimer: NodeJS.Timeout | undefined;

  const informer = new ListWatch<V1Pod>(
    "/api/v1/pods",
    new Watch(kc),
    async (): Promise<V1PodList> => {
      const list = await api.listPodForAllNamespaces({ fieldSelector });
      // the ListWatch fills its cache right after this resolves, before any other task runs
      queueMicrotask(() => {
        if (!synced) log.info({ node: nodeName, pods: list.items.length }, "pod cache synced");
        synced = true;
        markSynced();
        restartDelay = 1000;
      });
      return list;
    },
    false,
    undefined,
    fieldSelector,
  );
  const key = (ns: string, name: string) => `${ns}/${name}`;
  informer.on("add", (pod) => {
    const k = key(pod.metadata?.namespace ?? "", pod.metadata?.name ?? "");
    negatives.delete(k);
    tombstones.delete(k);
  });
  informer.on("delete", (pod) => {
    const info = podInfoFromPod(pod);
    tombstones.set(key(info.namespace, info.name), info, tombstoneMs);
  });
  informer.on("error", (err: unknown) => {
    if (stopped) return;
    log.error(
      { node: nodeName, retry_ms: restartDelay },
      `pod watch error: ${errorText(err)}, restarting`,
    );
    restartTimer = setTimeout(() => {
      if (stopped) return;
      informer.start().catch(() => undefined);
    }, restartDelay);
    restartTimer.unref();
    restartDelay = Math.min(restartDelay * 2, 30_000);
  });
  informer.start().catch(() => undefined);
  const sweeper = setInterval(() => {
    tombstones.sweep();
    negatives.sweep();
    fetched.sweep();
  }, 60_000);
  sweeper.unref();

  async function fetchPod(namespace: string, name: string): Promise<PodInfo | undefined> {
    const k = key(namespace, name);
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${getTimeoutMs} ms`)),
          getTimeoutMs,
        );
      });
      const pod = await Promise.race([
        limitGet(() => api.readNamespacedPod({ namespace, name })),
        timeout,
      ]);
      const info = podInfoFromPod(pod);
      fetched.set(k, info, fetchedMs);
      return info;
    } catch (err) {
      if (isNotFound(err)) {
        negatives.set(k, true, negativeMs);
        log.warn({ namespace, pod: name }, `pod ${k} not found in the API`);
      } else {
        log.error({ namespace, pod: name }, `pod lookup error: ${k}: ${errorText(err)}`);
      }
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async resolve(namespace, name) {
      const k = key(namespace, name);
      if (!synced && !stopped) {
        // at start-up, one LIST answers for every core found by the first scan
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([syncedOnce, new Promise((r) => (timer = setTimeout(r, syncWaitMs)))]);
        clearTimeout(timer);
      }
      const cached = informer.get(name, namespace);
      if (cached) return podInfoFromPod(cached);
      const gone = tombstones.get(k) ?? fetched.get(k);
      if (gone) return gone;
      if (negatives.get(k) || stopped) return undefined;
      let p = inflight.get(k);
      if (!p) {
        p = fetchPod(namespace, name).finally(() => inflight.delete(k));
        inflight.set(k, p);
      }
      return p;
    },
    ready: () => synced,
    stop() {
      stopped = true;
      clearInterval(sweeper);
      if (restartTimer) clearTimeout(restartTimer);
      informer.stop().catch(() => undefined);
    },
  };
}
