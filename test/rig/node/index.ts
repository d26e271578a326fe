// A node of the rig, like a kubelet: registers its Node, heartbeats, watches the pods bound to it
// (fieldSelector spec.nodeName) and runs them as real processes (see pod.ts / runner.ts).
// As in Kubernetes, command/args/env get $(VAR) expansion and "$$" is reduced to "$": a shell's own PID is
// written "$$$$" in a pod spec (e.g. `sh -c 'ulimit -c unlimited; kill -SEGV $$$$'`).
import {
  CoreV1Api,
  KubeConfig,
  Watch,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type {
  V1ConfigMap,
  V1Node,
  V1NodeCondition,
  V1Pod,
  V1Secret,
} from "@kubernetes/client-node";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { onExitSync } from "./exit-hooks.js";
import { Registry, withLockSync } from "./holds.js";
import { startKubeletServer } from "./kubelet.js";
import { PodWorker, type PodContext } from "./pod.js";
import type { VolumeSources } from "./volumes.js";

export interface NodeOptions {
  name: string;
  kubeconfigPath: string;
  /** The rig dir: container logs go to <dir>/logs/<ns>/<pod>/<container>.log, pod dirs to <dir>/nodes/<name>/pods. */
  dir: string;
  /** The node's "/" for hostPath volumes. */
  hostRoot: string;
  /** This checkout: images whose repository ends in "coredog" run from the image `npm run image` built here. */
  checkoutDir: string;
  /** First three octets of the node's pod IPs, e.g. "127.0.3" (default: a free /24 of 127/8, claimed machine-wide). */
  podIPBase?: string;
  /** Token for a pod's service account (projected serviceAccountToken). Default: <dir>/sa-tokens/<ns>/<sa>, else
   *  the kubeconfig's own token. */
  saToken?: (namespace: string, serviceAccount: string) => string | Promise<string>;
  /** Node heartbeat period (s); 0 disables it. Default 10. */
  heartbeatSeconds?: number;
  labels?: Record<string, string>;
  /** RLIMIT_CORE the node's runtime gives container processes and `kubectl exec` processes alike, in prlimit
   *  syntax ("unlimited", "0", "soft:hard"); default: the node process's own limit (containerd's unit sets
   *  LimitCORE=infinity, so real nodes usually have "unlimited"). */
  containerCoreLimit?: string;
  /** Diagnostics (default: stderr when RIG_DEBUG is set). */
  log?: (msg: string) => void;
}

export interface RigNode {
  name: string;
  hostRoot: string;
  podIPBase: string;
  /** The worker of a pod on this node (by namespace/name), for tests. */
  pod(namespace: string, name: string): PodWorker | undefined;
  stop(): Promise<void>;
}

const SUBNETS = new Registry("subnets");

/** Claims a free 127.A.B.0/24 machine-wide (so parallel rigs do not share pod IPs). */
function claimSubnet(wanted?: string): { base: string; release: () => void } {
  return withLockSync("subnets", () => {
    let base = wanted;
    if (!base) {
      const taken = new Set(SUBNETS.subjects().filter((s) => SUBNETS.holders(s).length > 0));
      for (let i = 1; i < 255 * 256 && !base; i++) {
        const cand = `127.${Math.floor(i / 256)}.${i % 256}`;
        if (!taken.has(cand) && !cand.endsWith(".0")) base = cand;
      }
      if (!base) throw new Error("rig: no free loopback subnet");
    }
    const subject = base;
    const id = SUBNETS.add(subject);
    let released = false;
    return {
      base,
      release: () => {
        if (released) return;
        released = true;
        withLockSync("subnets", () => {
          SUBNETS.remove(subject, id);
          if (SUBNETS.holders(subject).length === 0) SUBNETS.clear(subject);
        });
      },
    };
  });
}

function errCode(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

export async function startNode(opts: NodeOptions): Promise<RigNode> {
  const log =
    opts.log ??
    ((msg: string) =>
      process.env.RIG_DEBUG ? console.error(`[node ${opts.name}] ${msg}`) : undefined);
  const kc = new KubeConfig();
  kc.loadFromFile(opts.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("rig node: kubeconfig has no current cluster");
  const server = new URL(cluster.server);
  const apiHost = server.hostname;
  const apiPort = server.port || "443";
  const caPem = cluster.caData
    ? Buffer.from(cluster.caData, "base64").toString("utf8")
    : cluster.caFile
      ? readFileSync(cluster.caFile, "utf8")
      : "";
  const fallbackToken = kc.getCurrentUser()?.token ?? "";

  const subnet = claimSubnet(opts.podIPBase);
  const unhook = onExitSync(subnet.release);
  const nodeDir = join(opts.dir, "nodes", opts.name);
  mkdirSync(join(nodeDir, "pods"), { recursive: true });
  mkdirSync(opts.hostRoot, { recursive: true });

  const sources: VolumeSources = {
    async getConfigMap(namespace, name): Promise<V1ConfigMap | null> {
      try {
        return await core.readNamespacedConfigMap({ namespace, name });
      } catch (err) {
        if (errCode(err) === 404) return null;
        throw err;
      }
    },
    async getSecret(namespace, name): Promise<V1Secret | null> {
      try {
        return await core.readNamespacedSecret({ namespace, name });
      } catch (err) {
        if (errCode(err) === 404) return null;
        throw err;
      }
    },
    async saToken(namespace, sa) {
      if (opts.saToken) return opts.saToken(namespace, sa);
      const f = join(opts.dir, "sa-tokens", namespace, sa);
      if (existsSync(f)) return readFileSync(f, "utf8").trim();
      return fallbackToken;
    },
    caPem: () => caPem,
  };

  // --- the kubelet endpoint (exec), before the Node object that publishes its port ---
  const workers = new Map<string, PodWorker>(); // by uid
  const kubelet = await startKubeletServer({
    token: fallbackToken,
    log,
    execTarget(namespace, name, uid, container) {
      const w = [...workers.values()].find(
        (x) => x.ns === namespace && x.name === name && (!uid || x.uid === uid),
      );
      return w?.execTarget(container);
    },
  });

  // --- the Node object ---
  const conditions = (now: Date): V1NodeCondition[] => [
    ...(
      [
        ["MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"],
        ["DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"],
        ["PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"],
      ] as const
    ).map(([type, reason, message]) => ({
      type,
      status: "False",
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: startedAt,
    })),
    {
      type: "Ready",
      status: "True",
      reason: "KubeletReady",
      message: "kubelet is posting ready status",
      lastHeartbeatTime: now,
      lastTransitionTime: startedAt,
    },
  ];
  const startedAt = new Date();
  const resources = { cpu: "2", memory: "8Gi", pods: "110", "ephemeral-storage": "100Gi" };
  const nodeStatus = (now: Date): V1Node["status"] => ({
    capacity: resources,
    allocatable: resources,
    conditions: conditions(now),
    addresses: [
      { type: "InternalIP", address: "127.0.0.1" },
      { type: "Hostname", address: opts.name },
    ],
    // The API server proxies exec to this port at the InternalIP, as to a kubelet's 10250.
    daemonEndpoints: { kubeletEndpoint: { Port: kubelet.port } },
    nodeInfo: {
      machineID: opts.name,
      systemUUID: opts.name,
      bootID: startedAt.toISOString(),
      kernelVersion: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
      osImage: "CoreDog test rig",
      containerRuntimeVersion: "rig://1.0.0",
      kubeletVersion: "v1.32.0",
      kubeProxyVersion: "v1.32.0",
      operatingSystem: "linux",
      architecture: "amd64",
    },
  });
  const nodeBody: V1Node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: opts.name,
      labels: {
        "kubernetes.io/hostname": opts.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        ...opts.labels,
      },
    },
    spec: { podCIDR: `${subnet.base}.0/24`, podCIDRs: [`${subnet.base}.0/24`] },
    status: nodeStatus(startedAt),
  };
  try {
    await core.createNode({ body: nodeBody });
  } catch (err) {
    if (errCode(err) !== 409) {
      subnet.release();
      unhook();
      await kubelet.stop();
      throw err;
    }
    const existing = await core.readNode({ name: opts.name });
    await core.replaceNode({
      name: opts.name,
      body: {
        ...nodeBody,
        metadata: { ...nodeBody.metadata, resourceVersion: existing.metadata?.resourceVersion },
      },
    });
  }
  const patchStatus = async (): Promise<void> => {
    await core.patchNodeStatus(
      { name: opts.name, body: { status: nodeStatus(new Date()) } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  };
  await patchStatus();
  const hb = (opts.heartbeatSeconds ?? 10) * 1000;
  const heartbeat =
    hb > 0
      ? setInterval(() => void patchStatus().catch((e) => log(`heartbeat: ${e}`)), hb)
      : undefined;
  heartbeat?.unref();

  // --- pods ---
  const usedIPs = new Set<string>();
  let nextHost = 2;
  const allocIP = (): string => {
    for (let i = 0; i < 253; i++) {
      const n = ((nextHost - 2 + i) % 253) + 2; // 2..254
      const ip = `${subnet.base}.${n}`;
      if (!usedIPs.has(ip)) {
        nextHost = n + 1;
        usedIPs.add(ip);
        return ip;
      }
    }
    throw new Error(`rig node ${opts.name}: no free pod IP in ${subnet.base}.0/24`);
  };
  let stopping = false;
  const event: PodContext["event"] = (pod, type, reason, message) => {
    if (stopping) return;
    const ns = pod.metadata?.namespace ?? "default";
    const now = new Date();
    void core
      .createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { generateName: `${pod.metadata?.name}.`, namespace: ns },
          involvedObject: {
            kind: "Pod",
            namespace: ns,
            name: pod.metadata?.name,
            uid: pod.metadata?.uid,
            apiVersion: "v1",
          },
          reason,
          message,
          type,
          source: { component: "kubelet", host: opts.name },
          reportingComponent: "kubelet",
          reportingInstance: opts.name,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch(() => undefined);
  };

  const onPod = (pod: V1Pod): void => {
    if (stopping) return;
    const uid = pod.metadata?.uid ?? "";
    const existing = workers.get(uid);
    if (existing) {
      existing.update(pod);
      return;
    }
    if (pod.spec?.nodeName !== opts.name) return;
    const phase = pod.status?.phase;
    if (pod.metadata?.deletionTimestamp) {
      // Nothing of it runs here: finish the deletion.
      void core
        .deleteNamespacedPod({
          name: pod.metadata.name ?? "",
          namespace: pod.metadata.namespace ?? "default",
          gracePeriodSeconds: 0,
          body: { gracePeriodSeconds: 0, preconditions: { uid } },
        })
        .catch(() => undefined);
      return;
    }
    if (phase === "Succeeded" || phase === "Failed") return;
    const ip = pod.spec?.hostNetwork ? "127.0.0.1" : allocIP();
    const ctx: PodContext = {
      nodeName: opts.name,
      core,
      dir: opts.dir,
      podDir: join(nodeDir, "pods", uid),
      hostRoot: opts.hostRoot,
      checkoutDir: opts.checkoutDir,
      apiHost,
      apiPort,
      sources,
      ...(opts.containerCoreLimit ? { coreLimit: opts.containerCoreLimit } : {}),
      log,
      event,
    };
    const w = new PodWorker(pod, ip, ctx);
    workers.set(uid, w);
    void w.run().catch((err) => log(`pod ${w.ns}/${w.name}: ${(err as Error).stack}`));
    log(`pod ${w.ns}/${w.name} -> ${ip}`);
  };
  const forget = (uid: string): void => {
    const w = workers.get(uid);
    if (!w) return;
    workers.delete(uid);
    void w.kill().finally(() => {
      if (w.ip !== "127.0.0.1") usedIPs.delete(w.ip);
    });
  };
  const onPodGone = (pod: V1Pod): void => {
    const uid = pod.metadata?.uid ?? "";
    const w = workers.get(uid);
    if (!w) return;
    // A graceful deletion in progress ends on its own; anything else is killed now.
    if (w.isTerminating()) {
      void w.terminate().finally(() => {
        workers.delete(uid);
        usedIPs.delete(w.ip);
      });
    } else forget(uid);
  };

  const fieldSelector = `spec.nodeName=${opts.name}`;
  const watch = new Watch(kc);
  let abortWatch: AbortController | undefined;
  let relistTimer: NodeJS.Timeout | undefined;
  const listAndWatch = async (): Promise<void> => {
    if (stopping) return;
    try {
      const list = await core.listPodForAllNamespaces({ fieldSelector });
      const seen = new Set<string>();
      for (const p of list.items) {
        seen.add(p.metadata?.uid ?? "");
        onPod(p);
      }
      for (const [uid, w] of workers) if (!seen.has(uid)) onPodGone(w.pod);
      const rv = list.metadata?.resourceVersion;
      if (stopping) return;
      const controller = await watch.watch(
        "/api/v1/pods",
        { fieldSelector, resourceVersion: rv, allowWatchBookmarks: true },
        (type, obj: V1Pod) => {
          if (type === "ADDED" || type === "MODIFIED") onPod(obj);
          else if (type === "DELETED") onPodGone(obj);
        },
        (err) => {
          if (stopping) return;
          if (err) log(`watch ended: ${(err as Error).message ?? String(err)}`);
          relistTimer = setTimeout(() => void listAndWatch(), err ? 500 : 0);
        },
      );
      abortWatch = controller;
      if (stopping) controller.abort(); // stop() ran while the watch was being established
    } catch (err) {
      log(`list pods: ${(err as Error).message}`);
      if (!stopping) relistTimer = setTimeout(() => void listAndWatch(), 500);
    }
  };
  await listAndWatch();

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      if (heartbeat) clearInterval(heartbeat);
      if (relistTimer) clearTimeout(relistTimer);
      abortWatch?.abort();
      await kubelet.stop();
      await Promise.all([...workers.values()].map((w) => w.kill()));
      workers.clear();
      rmSync(join(nodeDir, "pods"), { recursive: true, force: true });
      subnet.release();
      unhook();
    })();
    return stopped;
  };

  return {
    name: opts.name,
    hostRoot: opts.hostRoot,
    podIPBase: subnet.base,
    pod: (namespace, name) =>
      [...workers.values()].find(
        (w) => w.ns === namespace && w.name === name && !w.isTerminating(),
      ) ?? [...workers.values()].find((w) => w.ns === namespace && w.name === name),
    stop,
  };
}
