// ReplicaSet controller: keeps spec.replicas active pods (created through the API, so admission runs), and status.
import type { V1Pod, V1ReplicaSet, V1ReplicaSetStatus } from "@kubernetes/client-node";
import { watchOwnerAndPods, type Context } from "./context.js";
import {
  creationTime,
  ignoreNotFound,
  isActive,
  isReady,
  mergePatch,
  ownedBy,
  ownerRefFor,
  podFromTemplate,
  sameJSON,
  selectorMatches,
  splitKey,
} from "./kube.js";
import { failedCreateMessage, makeRecorder } from "./events.js";
import { WorkQueue } from "./queue.js";

/** Which pods go first when scaling down (Kubernetes' ActivePods ordering, simplified). */
export function deletionOrder(a: V1Pod, b: V1Pod): number {
  const rank = (p: V1Pod) =>
    !p.spec?.nodeName ? 0 : p.status?.phase === "Pending" ? 1 : !isReady(p) ? 2 : 3;
  const d = rank(a) - rank(b);
  if (d !== 0) return d;
  return creationTime(b) - creationTime(a); // newer first
}

export function startReplicaSetController(ctx: Context): WorkQueue {
  const { pods, replicasets } = ctx.informers;
  const queue = new WorkQueue("replicaset", reconcile, ctx.log, ctx.synced);
  const record = makeRecorder(
    ctx.clients,
    "replicaset-controller",
    "apps/v1",
    "ReplicaSet",
    ctx.log,
  );
  watchOwnerAndPods(ctx, replicasets, "ReplicaSet", queue);

  async function reconcile(k: string): Promise<number | void> {
    const { namespace, name } = splitKey(k);
    const rs = replicasets.get(name, namespace);
    if (!rs || !rs.metadata?.uid) return;
    const uid = rs.metadata.uid;
    const owned = pods.list(namespace).filter((p) => ownedBy(p, rs));
    // Own writes not in the cache yet: their events will bring us back (and the timer, should one never show).
    if (!ctx.expectations.satisfied(uid, owned)) return 1000;
    const active = owned.filter(isActive);

    if (!rs.metadata.deletionTimestamp) {
      const want = rs.spec?.replicas ?? 1;
      const diff = want - active.length;
      if (diff > 0) {
        await createPods(rs, diff);
      } else if (diff < 0) {
        const victims = [...active].sort(deletionOrder).slice(0, -diff);
        await Promise.all(
          victims.map(async (p) => {
            ctx.expectations.deleted(uid, p.metadata!.name!);
            await ignoreNotFound(
              ctx.clients.core.deleteNamespacedPod({ name: p.metadata!.name!, namespace }),
            );
            record(rs, "Normal", "SuccessfulDelete", `Deleted pod: ${p.metadata!.name}`);
          }),
        );
      }
    }
    await updateStatus(rs, active);
  }

  async function createPods(rs: V1ReplicaSet, n: number): Promise<void> {
    const namespace = rs.metadata!.namespace!;
    const owner = ownerRefFor(rs, "apps/v1", "ReplicaSet");
    // Slow start as in Kubernetes: batches of 1, 2, 4, ... so a failing admission does not cause a flood.
    let left = n;
    let batch = 1;
    while (left > 0) {
      const size = Math.min(batch, left);
      const results = await Promise.allSettled(
        Array.from({ length: size }, async () => {
          const body = podFromTemplate(rs.spec?.template, namespace, owner, {
            generateName: `${rs.metadata!.name}-`,
          });
          try {
            const created = await ctx.clients.core.createNamespacedPod({ namespace, body });
            ctx.expectations.created(rs.metadata!.uid!, created.metadata!.name!);
            record(rs, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata!.name}`);
          } catch (err) {
            record(rs, "Warning", "FailedCreate", failedCreateMessage(err));
            throw err;
          }
        }),
      );
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
      left -= size;
      batch *= 2;
    }
  }

  async function updateStatus(rs: V1ReplicaSet, active: V1Pod[]): Promise<void> {
    const ready = active.filter(isReady).length;
    const labels = rs.spec?.selector;
    const status: V1ReplicaSetStatus = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => selectorMatches(labels, p.metadata?.labels))
        .length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rs.metadata?.generation ?? 0,
      ...(rs.status?.conditions ? { conditions: rs.status.conditions } : {}),
    };
    if (sameJSON(rs.status ?? {}, status)) return;
    await ignoreNotFound(
      ctx.clients.apps.patchNamespacedReplicaSetStatus(
        { name: rs.metadata!.name!, namespace: rs.metadata!.namespace!, body: { status } },
        mergePatch,
      ),
    );
  }

  return queue;
}
