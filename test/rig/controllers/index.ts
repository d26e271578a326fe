// The rig's controller manager and scheduler: in-process API clients (informers + work queues) over HTTPS.
import type {
  KubeConfig,
  KubernetesObject,
  V1DaemonSet,
  V1Deployment,
  V1Job,
  V1Node,
  V1Pod,
  V1ReplicaSet,
  V1StatefulSet,
} from "@kubernetes/client-node";
import { Expectations, type Context, type Informers } from "./context.js";
import { startDaemonSetController } from "./daemonset.js";
import { startDeploymentController } from "./deployment.js";
import { startGarbageCollector } from "./gc.js";
import { SharedInformer } from "./informer.js";
import { startJobController } from "./job.js";
import { makeClients, type Log } from "./kube.js";
import type { WorkQueue } from "./queue.js";
import { startReplicaSetController } from "./replicaset.js";
import { startScheduler } from "./scheduler.js";
import { startStatefulSetController } from "./statefulset.js";

export interface Controllers {
  /** True when every work queue is empty and nothing is being processed. */
  idle(): boolean;
  stop(): Promise<void>;
}

export interface ControllerOptions {
  kc: KubeConfig;
  log?: Log;
}

export async function startControllers(opts: ControllerOptions): Promise<Controllers> {
  const log = opts.log ?? (() => undefined);
  const clients = makeClients(opts.kc);
  const { core, apps, batch } = clients;
  const mk = <T extends KubernetesObject>(path: string, list: () => Promise<{ items: T[] }>) =>
    new SharedInformer<T>(opts.kc, path, list as never, log);
  const informers: Informers = {
    pods: mk<V1Pod>("/api/v1/pods", () => core.listPodForAllNamespaces()),
    nodes: mk<V1Node>("/api/v1/nodes", () => core.listNode()),
    deployments: mk<V1Deployment>("/apis/apps/v1/deployments", () =>
      apps.listDeploymentForAllNamespaces(),
    ),
    replicasets: mk<V1ReplicaSet>("/apis/apps/v1/replicasets", () =>
      apps.listReplicaSetForAllNamespaces(),
    ),
    daemonsets: mk<V1DaemonSet>("/apis/apps/v1/daemonsets", () =>
      apps.listDaemonSetForAllNamespaces(),
    ),
    statefulsets: mk<V1StatefulSet>("/apis/apps/v1/statefulsets", () =>
      apps.listStatefulSetForAllNamespaces(),
    ),
    jobs: mk<V1Job>("/apis/batch/v1/jobs", () => batch.listJobForAllNamespaces()),
  };
  const all = Object.values(informers) as SharedInformer<KubernetesObject>[];
  const ctx: Context = {
    clients,
    informers,
    log,
    expectations: new Expectations(),
    synced: () => all.every((i) => i.synced),
  };
  const queues: WorkQueue[] = [
    startScheduler(ctx),
    startReplicaSetController(ctx),
    startDeploymentController(ctx),
    startDaemonSetController(ctx),
    startStatefulSetController(ctx),
    startJobController(ctx),
    startGarbageCollector(ctx),
  ];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // In-flight reconciles finish (and log) before the caller tears down what they write to.
    await Promise.all(queues.map((q) => q.stop()));
    await Promise.all(all.map((i) => i.stop().catch(() => undefined)));
  };
  try {
    await Promise.all(all.map((i) => i.start()));
  } catch (err) {
    await stop();
    throw err;
  }
  return { idle: () => queues.every((q) => q.idle), stop };
}
