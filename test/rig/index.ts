// The test rig: an API server, the controllers, nodes that run real processes, S3 and chat receivers, in one call.
// See DESIGN.md "Test rig" and the team brief for the interface.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { startApiServer } from "./apiserver/index.js";
import { startControllers, type Controllers } from "./controllers/index.js";
import { acquireCorePattern } from "./core-pattern.js";
import { openFileLog } from "./file-log.js";
import { onExitSync } from "./node/exit-hooks.js";
import { startNode, type RigNode } from "./node/index.js";
import { startReceivers } from "./receivers.js";
import { startS3 } from "./s3.js";

export type RigS3 = Omit<Awaited<ReturnType<typeof startS3>>, "stop">;
export type RigReceivers = Omit<Awaited<ReturnType<typeof startReceivers>>, "stop">;

export interface RigOptions {
  /** Number of nodes, named node-1, node-2, ... (default 1). */
  nodes?: number;
  /** Start the S3 server (default true). */
  s3?: boolean;
  /** Start the chat receivers (default true). */
  receivers?: boolean;
  /** Set kernel.core_pattern to /corefile/core.%e.%p.%h.%t while running (default false). */
  coreDumps?: boolean;
  /** Labels for every node, or per node name. */
  nodeLabels?: Record<string, string> | ((name: string) => Record<string, string>);
  /** RLIMIT_CORE the nodes' runtime gives container and `kubectl exec` processes (prlimit syntax, e.g.
   *  "unlimited"), for every node or per node name; default: the test process's own limit. */
  containerCoreLimit?: string | ((name: string) => string | undefined);
  /** Keep the rig dir after stop() (default: when RIG_KEEP is set). */
  keepDir?: boolean;
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface Rig {
  /** Path of an admin kubeconfig (HTTPS with the rig's CA) for real kubectl and client-node. */
  kubeconfig: string;
  /** Runs the real kubectl with that kubeconfig; `<checkout>/bin` and `<checkout>/node_modules/.bin` first on PATH. */
  kubectl(
    args: string[],
    opts?: { input?: string; env?: Record<string, string>; timeoutMs?: number },
  ): Promise<KubectlResult>;
  /** Starts a long-running kubectl (e.g. `get pods -w`); the rig kills it on stop(). */
  spawnKubectl(args: string[], opts?: { env?: Record<string, string> }): ChildProcess;
  /** The environment kubectl runs with (KUBECONFIG, PATH). */
  env: Record<string, string>;
  kc: KubeConfig;
  dir: string;
  nodes: { name: string; hostRoot: string }[];
  s3: RigS3;
  receivers: RigReceivers;
  tokenFor(user: string, groups?: string[]): string;
  kubeconfigFor(user: string, groups?: string[]): string;
  /** Polls `check` until it returns something truthy; throws with `what` after timeoutMs. */
  waitFor<T>(
    what: string,
    check: () => T | Promise<T>,
    timeoutMs?: number,
  ): Promise<NonNullable<T>>;
  /** Waits until exactly `count` pods matching the label selector are in `phase` (default Running), and returns them. */
  waitForPods(
    namespace: string,
    labelSelector: string,
    count: number,
    phase?: string,
    timeoutMs?: number,
  ): Promise<V1Pod[]>;
  stop(): Promise<void>;
}

const CHECKOUT = realpathSync(join(dirname(fileURLToPath(import.meta.url)), "..", ".."));

function disabled<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get(_t, prop) {
      if (prop === "then") return undefined;
      throw new Error(`rig: ${what} is disabled in this rig (startRig({ ${what}: true }))`);
    },
  });
}

/**
 * Pods of the CoreDog image run this checkout, some as a non-root user (the webhook's runAsUser 65532),
 * as a real image's files would be readable: every directory on the way must let others through.
 */
export function checkoutReachable(checkout = CHECKOUT): void {
  for (let d = checkout; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) {
      throw new Error(
        `rig: ${d} is not searchable by other users (mode ${(statSync(d).mode & 0o777).toString(8)}), so pods running ` +
          `as non-root (the webhook runs as uid 65532) cannot run this checkout: chmod o+x ${d}`,
      );
    }
    if (d === dirname(d)) return;
  }
}

export async function startRig(opts: RigOptions = {}): Promise<Rig> {
  checkoutReachable();
  const started = Date.now();
  const nodeCount = opts.nodes ?? 1;
  const keepDir = opts.keepDir ?? !!process.env.RIG_KEEP;
  const dir = mkdtempSync(join(tmpdir(), "coredog-rig-"));
  const logsDir = join(dir, "logs");
  mkdirSync(logsDir, { recursive: true });
  const debug = (tag: string) =>
    process.env.RIG_DEBUG ? (msg: string) => console.error(`[${tag}] ${msg}`) : undefined;
  const rigLog = openFileLog(join(dir, "rig.log"), debug("rig"));
  const controllersLog = openFileLog(join(dir, "controllers.log"), debug("controllers"));

  // Cleanups in reverse order of start; the same list serves stop(), a failed start, and process exit.
  const cleanups: { name: string; first?: boolean; run: () => Promise<void> | void }[] = [];
  const children = new Set<ChildProcess>();
  let stopping: Promise<void> | undefined;
  const removeDir = () => {
    rigLog.close();
    controllersLog.close();
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  };
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const c of children) c.kill("SIGKILL");
      const order = [
        ...cleanups.filter((c) => c.first),
        ...cleanups.filter((c) => !c.first).reverse(),
      ];
      for (const c of order) {
        const t = Date.now();
        try {
          await c.run();
          rigLog(`stopped ${c.name} in ${Date.now() - t}ms`);
        } catch (err) {
          console.error(`rig: stopping ${c.name} failed:`, err);
        }
      }
      unhookExit();
      removeDir();
    })();
    return stopping;
  };
  // On process exit without stop(): the node and core_pattern modules kill their processes and restore the
  // kernel setting in their own exit hooks; this one kills our kubectl children and removes the dir. Hooks run in
  // the order they were added, so it is added again once everything started, to run after the nodes' hooks.
  const exitHook = () => {
    for (const c of children) c.kill("SIGKILL");
    removeDir();
  };
  let unhookExit = onExitSync(exitHook);

  try {
    if (opts.coreDumps) {
      const release = await acquireCorePattern();
      cleanups.push({ name: "core_pattern", run: release });
    }

    const api = await startApiServer({ dir, logsDir });
    const nodes: RigNode[] = [];
    let s3: RigS3 = disabled<RigS3>("s3");
    let receivers: RigReceivers = disabled<RigReceivers>("receivers");
    cleanups.push({ name: "apiserver", run: () => api.stop() });
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);

    const startAll = await Promise.allSettled([
      startControllers({ kc, log: controllersLog }).then((c: Controllers) => {
        // Controllers stop first, so that nothing is re-created while the nodes go away.
        cleanups.push({ name: "controllers", first: true, run: () => c.stop() });
      }),
      ...Array.from({ length: nodeCount }, async (_, i) => {
        const name = `node-${i + 1}`;
        const labels =
          typeof opts.nodeLabels === "function" ? opts.nodeLabels(name) : opts.nodeLabels;
        const coreLimit =
          typeof opts.containerCoreLimit === "function"
            ? opts.containerCoreLimit(name)
            : opts.containerCoreLimit;
        const node = await startNode({
          name,
          kubeconfigPath: api.kubeconfigPath,
          dir,
          hostRoot: join(dir, "nodes", name, "root"),
          checkoutDir: CHECKOUT,
          saToken: (ns, sa) => api.serviceAccountToken(ns, sa),
          ...(labels ? { labels } : {}),
          ...(coreLimit ? { containerCoreLimit: coreLimit } : {}),
        });
        cleanups.push({ name: `node ${name}`, run: () => node.stop() });
        nodes[i] = node;
      }),
      (async () => {
        if (!(opts.s3 ?? true)) return;
        const server = await startS3({ dir: join(dir, "s3") });
        cleanups.push({ name: "s3", run: () => server.stop() });
        s3 = server;
      })(),
      (async () => {
        if (!(opts.receivers ?? true)) return;
        const r = await startReceivers();
        cleanups.push({ name: "receivers", run: () => r.stop() });
        receivers = r;
      })(),
    ]);
    const failed = startAll.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;

    const env: Record<string, string> = {
      KUBECONFIG: api.kubeconfigPath,
      PATH: [
        join(CHECKOUT, "bin"),
        join(CHECKOUT, "node_modules", ".bin"),
        process.env.PATH ?? "",
      ].join(delimiter),
    };
    const kubectlEnv = (extra?: Record<string, string>) => ({ ...process.env, ...env, ...extra });

    const kubectl: Rig["kubectl"] = (args, o = {}) =>
      new Promise((resolve, reject) => {
        const child = spawn("kubectl", args, {
          env: kubectlEnv(o.env),
          stdio: ["pipe", "pipe", "pipe"],
        });
        children.add(child);
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 60_000);
        child.on("error", (err) => {
          clearTimeout(timer);
          children.delete(child);
          reject(err);
        });
        child.on("close", (code, signal) => {
          clearTimeout(timer);
          children.delete(child);
          resolve({ stdout, stderr, code: code ?? (signal ? 128 : 1) });
        });
        child.stdin.on("error", () => undefined);
        child.stdin.end(o.input ?? "");
      });

    const spawnKubectl: Rig["spawnKubectl"] = (args, o = {}) => {
      const child = spawn("kubectl", args, {
        env: kubectlEnv(o.env),
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.add(child);
      child.on("exit", () => children.delete(child));
      return child;
    };

    const waitFor: Rig["waitFor"] = async (what, check, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      let lastErr: unknown;
      for (;;) {
        try {
          const v = await check();
          if (v) return v as NonNullable<Awaited<typeof v>>;
        } catch (err) {
          lastErr = err;
        }
        if (Date.now() > deadline) {
          throw new Error(
            `rig: timed out after ${timeoutMs}ms waiting for ${what}${lastErr ? ` (${String(lastErr)})` : ""}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const core = kc.makeApiClient(CoreV1Api);
    const waitForPods: Rig["waitForPods"] = (
      namespace,
      labelSelector,
      count,
      phase = "Running",
      timeoutMs,
    ) =>
      waitFor(
        `${count} ${phase} pods ${labelSelector} in ${namespace}`,
        async () => {
          const items = (await core.listNamespacedPod({ namespace, labelSelector })).items.filter(
            (p) => !p.metadata?.deletionTimestamp,
          );
          return items.length === count && items.every((p) => p.status?.phase === phase)
            ? items
            : undefined;
        },
        timeoutMs,
      );

    unhookExit();
    unhookExit = onExitSync(exitHook);
    rigLog(`rig ready in ${Date.now() - started}ms (${nodeCount} nodes) at ${api.url}`);
    return {
      kubeconfig: api.kubeconfigPath,
      kubectl,
      spawnKubectl,
      env,
      kc,
      dir,
      nodes: nodes.map((n) => ({ name: n.name, hostRoot: n.hostRoot })),
      s3,
      receivers,
      tokenFor: (user, groups) => api.tokenFor(user, groups),
      kubeconfigFor: (user, groups) => api.kubeconfigFor(user, groups),
      waitFor,
      waitForPods,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
