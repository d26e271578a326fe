// Namespaces for the Pod Security check: a list+watch cache (restarted with backoff when the watch
// fails) and a direct GET with a short timeout for namespaces the cache does not know yet.
import {
  CoreV1Api,
  ListWatch,
  Watch,
  type KubeConfig,
  type V1Namespace,
} from "@kubernetes/client-node";
import type { Logger } from "../log.js";
import type { NamespaceLookup } from "./admission.js";

export interface NamespaceCache extends NamespaceLookup {
  synced(): boolean;
  stop(): Promise<void>;
}

function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  const c =
    typeof e?.code === "number"
      ? e.code
      : typeof e?.statusCode === "number"
        ? e.statusCode
        : undefined;
  return c;
}

function describe(err: unknown): string {
  const code = statusCode(err);
  const msg = err instanceof Error ? err.message.split("\n")[0]! : String(err);
  return code !== undefined ? `HTTP ${code}: ${msg.slice(0, 200)}` : msg.slice(0, 300);
}

export function createNamespaceCache(
  kc: KubeConfig,
  log: Logger,
  opts: {
    fetchTimeoutMs?: number;
    fetchedTtlMs?: number;
    failedTtlMs?: number;
    maxBackoffMs?: number;
  } = {},
): NamespaceCache {
  const api = kc.makeApiClient(CoreV1Api);
  const fetchTimeout = opts.fetchTimeoutMs ?? 2_000;
  const fetchedTtl = opts.fetchedTtlMs ?? 30_000;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  const informer = new ListWatch<V1Namespace>(
    "/api/v1/namespaces",
    new Watch(kc),
    () => api.listNamespace(),
    false,
  );
  let isSynced = false;
  let stopped = false;
  let failedDuringStart = false;
  let backoff = 1_000;
  let restartTimer: NodeJS.Timeout | undefined;
  /** Namespaces fetched directly, until the watch delivers them. */
  const fetched = new Map<string, { ns: V1Namespace | undefined; at: number }>();
  const inflight = new Map<string, Promise<V1Namespace | undefined>>();
  const failed = new Map<string, { err: Error; at: number }>();
  const failedTtl = opts.failedTtlMs ?? 1_000;

  informer.on("error", (err: unknown) => {
    failedDuringStart = true;
    if (stopped) return;
    log.warn(
      { error: describe(err), retryInMs: backoff },
      isSynced
        ? "namespace watch failed; using the cached namespaces and reconnecting"
        : "cannot list namespaces: Pod Security cannot be checked from the cache yet; retrying",
    );
    scheduleStart();
  });

  function scheduleStart(): void {
    if (stopped || restartTimer) return;
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      void start();
    }, backoff);
    restartTimer.unref();
    backoff = Math.min(backoff * 2, maxBackoff);
  }

  async function start(): Promise<void> {
    failedDuringStart = false;
    try {
      await informer.start();
    } catch (err) {
      failedDuringStart = true;
      log.warn({ error: describe(err) }, "namespace watch failed to start; retrying");
      scheduleStart();
      return;
    }
    if (!failedDuringStart && !stopped) {
      if (!isSynced) log.info({ namespaces: informer.list().length }, "namespace cache synced");
      isSynced = true;
      backoff = 1_000;
    }
  }
  void start();

  async function fetchNow(name: string): Promise<V1Namespace | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer from the API server within ${fetchTimeout} ms`)),
        fetchTimeout,
      );
    });
    try {
      const ns = await Promise.race([api.readNamespace({ name }), timeout]);
      fetched.set(name, { ns, at: Date.now() });
      return ns;
    } catch (err) {
      if (statusCode(err) === 404) {
        fetched.set(name, { ns: undefined, at: Date.now() });
        return undefined;
      }
      const e = new Error(describe(err), { cause: err });
      // Briefly remembered: while the API server is down, a burst of pods costs one GET, not one each.
      failed.set(name, { err: e, at: Date.now() });
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    synced: () => isSynced,
    cached(name) {
      return informer.get(name);
    },
    fetch(name) {
      if (name === "") return Promise.reject(new Error("the request names no namespace"));
      const hit = fetched.get(name);
      if (hit && Date.now() - hit.at < fetchedTtl) return Promise.resolve(hit.ns);
      const miss = failed.get(name);
      if (miss && Date.now() - miss.at < failedTtl) return Promise.reject(miss.err);
      failed.delete(name);
      let p = inflight.get(name);
      if (!p) {
        p = fetchNow(name).finally(() => inflight.delete(name));
        inflight.set(name, p);
      }
      return p;
    },
    async stop() {
      stopped = true;
      if (restartTimer) clearTimeout(restartTimer);
      await informer.stop();
    },
  };
}
