// The cluster side of the TUI: reflectors (list + watch, re-list with backoff) for pods, the watchers'
// Events, the webhook configuration, the watcher DaemonSet and namespaces, folded into one snapshot
// that the components read. Updates are batched so a burst of watch events costs one render.
import { resolve } from "node:path";
import { fetchCrashReport, listCoreDumps } from "../lib/crashes.js";
import { reportSectionLines } from "../lib/crash-report-text.js";
import { pullCore } from "../lib/pull.js";
import type {
  CoreV1Event,
  V1DaemonSet,
  V1MutatingWebhookConfiguration,
  V1Namespace,
  V1Pod,
} from "@kubernetes/client-node";
import { NAMESPACE, WATCHER_NAME, WEBHOOK_CONFIGURATION } from "../../src/names.js";
import { isPaused } from "../lib/emergency.js";
import {
  eventRow,
  eventTime,
  isWatcherEvent,
  listWatcherEvents,
  WATCHER_EVENTS,
} from "../lib/events.js";
import type { Cluster } from "../lib/kube.js";
import { countCores, isOptedIn, podRow, type CoreCount } from "../lib/listing.js";
import { gatherForPod } from "../lib/diagnose.js";
import { runChecks } from "../lib/doctor.js";
import { purgeNodes, resolveNodes } from "../lib/purge.js";
import { prepareAction } from "./actions.js";
import { errorText } from "./error-text.js";
import { podDetails } from "./details.js";
import { reflect, type Listed, type ReflectorOptions } from "./reflector.js";
import type { NodePurge, PodItem, PurgeRequest, TuiSnapshot, TuiSource } from "./types.js";

const MAX_EVENTS = 500;

export interface SourceOptions {
  /** undefined: all namespaces. */
  namespace?: string;
  /** Milliseconds to gather watch events into one update. */
  batchMs?: number;
  initialBackoffMs?: number;
}

type Obj = {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
};
const keyOf = (o: Obj) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;

/** `kubectl coredog emergency purge` node by node, so one node's failure leaves the others' results. */
export function purgeEachNode(
  cluster: Cluster,
  request: PurgeRequest,
  onNode?: (result: NodePurge) => void,
): Promise<NodePurge[]> {
  return Promise.all(
    request.nodes.map(async (node) => {
      let result: NodePurge;
      try {
        const files = await purgeNodes(cluster, {
          nodes: [node],
          olderThanMinutes: request.olderThanMinutes,
          delete: request.delete,
          notNewerThan: request.delete ? request.notNewerThan : undefined,
        });
        result = { node, files };
      } catch (err) {
        result = { node, error: errorText(err) };
      }
      onNode?.(result);
      return result;
    }),
  );
}

export function createClusterSource(cluster: Cluster, options: SourceOptions = {}): TuiSource {
  const batchMs = options.batchMs ?? 50;
  const listeners = new Set<() => void>();
  let namespace = options.namespace;
  let pods: ReadonlyMap<string, V1Pod> = new Map();
  let events: CoreV1Event[] = [];
  let cores = new Map<string, CoreCount>();
  const nsObjects = new Map<string, V1Namespace>();
  const rowCache = new Map<string, { pod: V1Pod; item: PodItem }>();
  let snapshot: TuiSnapshot = {
    pods: [],
    events: [],
    webhook: { state: "loading", policies: [] },
    watcher: { state: "loading" },
    namespace,
    namespaces: [],
    link: "connecting",
    server: cluster.server,
  };
  let podsDirty = false;
  let pending: Partial<TuiSnapshot> = {};
  let timer: NodeJS.Timeout | undefined;
  const stopAll = new AbortController();
  let scoped = new AbortController();

  function update(patch: Partial<TuiSnapshot>, rows = false) {
    Object.assign(pending, patch);
    if (rows) podsDirty = true;
    timer ??= setTimeout(flush, batchMs);
  }

  function flush() {
    timer = undefined;
    const next: TuiSnapshot = { ...snapshot, ...pending };
    pending = {};
    if (podsDirty) {
      podsDirty = false;
      const items: PodItem[] = [];
      for (const [key, pod] of pods) {
        const cached = rowCache.get(key);
        if (cached && cached.pod === pod) {
          items.push(cached.item);
          continue;
        }
        const item: PodItem = { ...podRow(pod, cores), key, optedIn: isOptedIn(pod) };
        rowCache.set(key, { pod, item });
        items.push(item);
      }
      if (rowCache.size > pods.size)
        for (const k of rowCache.keys()) if (!pods.has(k)) rowCache.delete(k);
      next.pods = items;
    }
    snapshot = next;
    for (const l of listeners) l();
  }

  function watcher<T extends Obj>(
    path: string,
    query: Record<string, string>,
  ): ReflectorOptions<T>["watch"] {
    const w = new cluster.k8s.Watch(cluster.kc);
    return async (resourceVersion, onEvent, done) =>
      w.watch(path, { ...query, resourceVersion, allowWatchBookmarks: true }, onEvent, done);
  }

  function run<T extends Obj>(
    signal: AbortSignal,
    list: () => Promise<Listed<T>>,
    watch: ReflectorOptions<T>["watch"],
    onChange: (items: ReadonlyMap<string, T>) => void,
    onStatus?: ReflectorOptions<T>["onStatus"],
  ) {
    void reflect<T>({
      list,
      watch,
      key: keyOf,
      onChange,
      onStatus,
      signal,
      initialBackoffMs: options.initialBackoffMs,
    });
  }

  function startScoped() {
    const signal = scoped.signal;
    const ns = namespace;
    const podPath = ns ? `/api/v1/namespaces/${ns}/pods` : "/api/v1/pods";
    run<V1Pod>(
      signal,
      () =>
        ns
          ? cluster.core.listNamespacedPod({ namespace: ns })
          : cluster.core.listPodForAllNamespaces(),
      watcher<V1Pod>(podPath, {}),
      (items) => {
        if (signal.aborted) return;
        pods = new Map(items);
        update({}, true);
      },
      (state, error) => {
        if (!signal.aborted) update({ link: state, linkError: error });
      },
    );
    const eventPath = ns ? `/api/v1/namespaces/${ns}/events` : "/api/v1/events";
    run<CoreV1Event>(
      signal,
      async () => {
        const r = await listWatcherEvents(cluster, ns);
        return { items: r.items, metadata: { resourceVersion: r.resourceVersion } };
      },
      watcher<CoreV1Event>(eventPath, { fieldSelector: WATCHER_EVENTS }),
      (items) => {
        if (signal.aborted) return;
        events = [...items.values()]
          .filter(isWatcherEvent)
          .sort((a, b) => (eventTime(b)?.getTime() ?? 0) - (eventTime(a)?.getTime() ?? 0))
          .slice(0, MAX_EVENTS);
        cores = countCores(events);
        rowCache.clear();
        update({ events: events.map(eventRow) }, true);
      },
    );
  }

  function startGlobal() {
    const signal = stopAll.signal;
    const byName = (name: string) => ({ fieldSelector: `metadata.name=${name}` });
    run<V1MutatingWebhookConfiguration>(
      signal,
      () => cluster.admission.listMutatingWebhookConfiguration(byName(WEBHOOK_CONFIGURATION)),
      watcher(
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
        byName(WEBHOOK_CONFIGURATION),
      ),
      (items) => {
        const config = [...items.values()].find((c) => c.metadata?.name === WEBHOOK_CONFIGURATION);
        if (!config) return update({ webhook: { state: "absent", policies: [] } });
        const policies = [
          ...new Set((config.webhooks ?? []).map((w) => w.failurePolicy ?? "Fail")),
        ];
        update({ webhook: { state: "present", policies } });
      },
      (state, error) => {
        if (state === "reconnecting")
          update({
            webhook: { ...(pending.webhook ?? snapshot.webhook), state: "unknown", error },
          });
      },
    );
    run<V1DaemonSet>(
      signal,
      () => cluster.apps.listNamespacedDaemonSet({ namespace: NAMESPACE, ...byName(WATCHER_NAME) }),
      watcher(`/apis/apps/v1/namespaces/${NAMESPACE}/daemonsets`, byName(WATCHER_NAME)),
      (items) => {
        const ds = [...items.values()].find((d) => d.metadata?.name === WATCHER_NAME);
        if (!ds) return update({ watcher: { state: "absent" } });
        update({
          watcher: {
            state: isPaused(ds) ? "paused" : "running",
            ready: ds.status?.numberReady,
            desired: ds.status?.desiredNumberScheduled,
          },
        });
      },
      (state, error) => {
        if (state === "reconnecting") update({ watcher: { state: "unknown", error } });
      },
    );
    run<V1Namespace>(
      signal,
      () => cluster.core.listNamespace(),
      watcher("/api/v1/namespaces", {}),
      (items) => {
        nsObjects.clear();
        for (const n of items.values()) if (n.metadata?.name) nsObjects.set(n.metadata.name, n);
        update({ namespaces: [...nsObjects.keys()].sort() });
      },
    );
  }

  startGlobal();
  startScoped();

  return {
    getSnapshot: () => snapshot,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setNamespace(next) {
      if (next === namespace) return;
      namespace = next;
      scoped.abort();
      scoped = new AbortController();
      pods = new Map();
      events = [];
      cores = new Map();
      rowCache.clear();
      update({ namespace: next, events: [], link: "connecting", linkError: undefined }, true);
      startScoped();
    },
    details(key) {
      const pod = pods.get(key);
      if (!pod) return undefined;
      return podDetails(pod, nsObjects.get(pod.metadata?.namespace ?? ""), events);
    },
    prepare(request) {
      return prepareAction(cluster, request, (ns, name) => pods.get(`${ns}/${name}`));
    },
    async doctor(ns, name) {
      return runChecks(await gatherForPod(cluster, name, ns));
    },
    async nodes() {
      return (await resolveNodes(cluster, [], true)).sort();
    },
    purge: (request, onNode) => purgeEachNode(cluster, request, onNode),
    crashes: () => listCoreDumps(cluster, namespace),
    async pullCrash(ns, name) {
      const pulled = await pullCore(cluster, ns, name, resolve(`${name}.core`));
      return { out: pulled.out, gdb: pulled.gdb };
    },
    async crashReport(ns, name) {
      return reportSectionLines(await fetchCrashReport(cluster, ns, name));
    },
    stop() {
      stopAll.abort();
      scoped.abort();
      if (timer) clearTimeout(timer);
      timer = undefined;
      listeners.clear();
    },
  };
}

/**
 * A source that draws before the cluster is connected (loading client-node and reading the
 * kubeconfig take most of the start-up): "connecting" until `ready` resolves, then the cluster's.
 */
export function deferredSource(
  ready: Promise<{ cluster: Cluster; namespace?: string }>,
  options: Omit<SourceOptions, "namespace"> & { namespaceKnown?: boolean; namespace?: string } = {},
): TuiSource {
  let inner: TuiSource | undefined;
  let stopped = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of listeners) l();
  };
  const initial: TuiSnapshot = {
    pods: [],
    events: [],
    webhook: { state: "loading", policies: [] },
    watcher: { state: "loading" },
    namespace: options.namespace,
    namespacePending: !options.namespaceKnown,
    namespaces: [],
    link: "connecting",
  };
  ready.then(
    ({ cluster, namespace }) => {
      if (stopped) return;
      inner = createClusterSource(cluster, { ...options, namespace });
      inner.subscribe(notify);
      notify();
    },
    () => undefined,
  );
  return {
    getSnapshot: () => inner?.getSnapshot() ?? initial,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setNamespace: (ns) => inner?.setNamespace(ns),
    details: (key) => inner?.details(key),
    prepare: (request) =>
      inner ? inner.prepare(request) : Promise.reject(new Error("still connecting to the cluster")),
    doctor: (ns, pod) =>
      inner ? inner.doctor(ns, pod) : Promise.reject(new Error("still connecting to the cluster")),
    nodes: () =>
      inner ? inner.nodes() : Promise.reject(new Error("still connecting to the cluster")),
    purge: (request, onNode) =>
      inner
        ? inner.purge(request, onNode)
        : Promise.reject(new Error("still connecting to the cluster")),
    crashes: () =>
      inner?.crashes
        ? inner.crashes()
        : Promise.reject(new Error("still connecting to the cluster")),
    pullCrash: (ns, name) =>
      inner?.pullCrash
        ? inner.pullCrash(ns, name)
        : Promise.reject(new Error("still connecting to the cluster")),
    crashReport: (ns, name) =>
      inner?.crashReport
        ? inner.crashReport(ns, name)
        : Promise.reject(new Error("still connecting to the cluster")),
    stop() {
      stopped = true;
      inner?.stop();
      listeners.clear();
    },
  };
}
