// StatefulSet controller: pods <name>-<ordinal>, created in order (OrderedReady waits for each to be ready, Parallel
// does not), scaled down from the highest ordinal, rolling update from the highest ordinal; status with revisions.
import type { V1Pod, V1StatefulSet, V1StatefulSetStatus } from "@kubernetes/client-node";
import { watchOwnerAndPods, type Context } from "./context.js";
import {
  ignoreNotFound,
  isDeleting,
  isReady,
  mergePatch,
  ownedBy,
  ownerRefFor,
  podFromTemplate,
  sameJSON,
  splitKey,
  templateHash,
} from "./kube.js";
import { CONTROLLER_REVISION_HASH } from "./daemonset.js";
import { failedCreateMessage, makeRecorder } from "./events.js";
import { WorkQueue } from "./queue.js";

const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";

function ordinalOf(set: V1StatefulSet, pod: V1Pod): number {
  const prefix = `${set.metadata!.name}-`;
  const n = pod.metadata?.name ?? "";
  if (!n.startsWith(prefix)) return -1;
  const rest = n.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : -1;
}

export function startStatefulSetController(ctx: Context): WorkQueue {
  const { pods, statefulsets } = ctx.informers;
  const queue = new WorkQueue("statefulset", reconcile, ctx.log, ctx.synced);
  const record = makeRecorder(
    ctx.clients,
    "statefulset-controller",
    "apps/v1",
    "StatefulSet",
    ctx.log,
  );
  watchOwnerAndPods(ctx, statefulsets, "StatefulSet", queue);

  async function reconcile(k: string): Promise<number | void> {
    const { namespace, name } = splitKey(k);
    const set = statefulsets.get(name, namespace);
    if (!set || !set.metadata?.uid || isDeleting(set)) return;
    const uid = set.metadata.uid;
    const owned = pods.list(namespace).filter((p) => ownedBy(p, set));
    // Own writes not in the cache yet: their events will bring us back (and the timer, should one never show).
    if (!ctx.expectations.satisfied(uid, owned)) return 1000;
    const replicas = set.spec?.replicas ?? 1;
    const parallel = set.spec?.podManagementPolicy === "Parallel";
    const hash = templateHash(set.spec?.template, [], set.status?.collisionCount ?? 0);
    const updateRevision = `${name}-${hash}`;
    const byOrdinal = new Map<number, V1Pod>();
    for (const p of owned) {
      const i = ordinalOf(set, p);
      if (i >= 0) byOrdinal.set(i, p);
    }

    const deletePod = async (p: V1Pod) => {
      ctx.expectations.deleted(uid, p.metadata!.name!);
      await ignoreNotFound(
        ctx.clients.core.deleteNamespacedPod({ name: p.metadata!.name!, namespace }),
      );
      record(
        set,
        "Normal",
        "SuccessfulDelete",
        `delete Pod ${p.metadata!.name} in StatefulSet ${name} successful`,
      );
    };

    let blocked = false;
    for (let i = 0; i < replicas && !blocked; i++) {
      const p = byOrdinal.get(i);
      if (!p) {
        const podName = `${name}-${i}`;
        const body = podFromTemplate(
          set.spec?.template,
          namespace,
          ownerRefFor(set, "apps/v1", "StatefulSet"),
          { name: podName },
          {
            [CONTROLLER_REVISION_HASH]: updateRevision,
            [POD_NAME_LABEL]: podName,
            [POD_INDEX_LABEL]: String(i),
          },
        );
        body.spec = { ...body.spec!, hostname: body.spec?.hostname ?? podName };
        if (set.spec?.serviceName && !body.spec.subdomain)
          body.spec.subdomain = set.spec.serviceName;
        try {
          await ctx.clients.core.createNamespacedPod({ namespace, body });
        } catch (err) {
          const why = failedCreateMessage(err).replace(/^Error creating: /, "");
          record(
            set,
            "Warning",
            "FailedCreate",
            `create Pod ${podName} in StatefulSet ${name} failed error: ${why}`,
          );
          throw err;
        }
        ctx.expectations.created(uid, podName);
        record(
          set,
          "Normal",
          "SuccessfulCreate",
          `create Pod ${podName} in StatefulSet ${name} successful`,
        );
        if (!parallel) blocked = true;
      } else if (isDeleting(p)) {
        if (!parallel) blocked = true;
      } else if (p.status?.phase === "Failed" || p.status?.phase === "Succeeded") {
        await deletePod(p); // recreated on the next pass
        if (!parallel) blocked = true;
      } else if (!isReady(p) && !parallel) {
        blocked = true;
      }
    }

    // Scale down from the highest ordinal, one at a time unless Parallel, and only when the rest is healthy.
    const extra = [...byOrdinal.entries()]
      .filter(([i, p]) => i >= replicas && !isDeleting(p))
      .sort(([a], [b]) => b - a);
    if (extra.length > 0 && (parallel || !blocked)) {
      for (const [, p] of parallel ? extra : extra.slice(0, 1)) await deletePod(p);
    }

    // Rolling update: replace the highest outdated ordinal once all pods below the partition are running and ready.
    const strategy = set.spec?.updateStrategy?.type ?? "RollingUpdate";
    const partition = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    if (strategy === "RollingUpdate" && !blocked && extra.length === 0) {
      const current = [...Array(replicas).keys()].map((i) => byOrdinal.get(i));
      const allHealthy = current.every((p) => p && !isDeleting(p) && isReady(p));
      if (allHealthy) {
        for (let i = replicas - 1; i >= partition; i--) {
          const p = current[i]!;
          if (p.metadata?.labels?.[CONTROLLER_REVISION_HASH] !== updateRevision) {
            await deletePod(p);
            break;
          }
        }
      }
    }

    await updateStatus(set, owned, updateRevision, replicas);
  }

  async function updateStatus(
    set: V1StatefulSet,
    owned: V1Pod[],
    updateRevision: string,
    replicas: number,
  ) {
    const live = owned.filter((p) => !isDeleting(p) && ordinalOf(set, p) >= 0);
    const updated = live.filter(
      (p) => p.metadata?.labels?.[CONTROLLER_REVISION_HASH] === updateRevision,
    ).length;
    const ready = live.filter(isReady).length;
    const prev = set.status?.currentRevision;
    // Once every replica runs the update revision, it becomes the current one.
    const currentRevision =
      !prev || (updated === replicas && live.length === replicas) ? updateRevision : prev;
    const status: V1StatefulSetStatus = {
      observedGeneration: set.metadata?.generation ?? 0,
      replicas: live.length,
      readyReplicas: ready,
      availableReplicas: ready,
      currentReplicas: live.filter(
        (p) => p.metadata?.labels?.[CONTROLLER_REVISION_HASH] === currentRevision,
      ).length,
      updatedReplicas: updated,
      currentRevision,
      updateRevision,
      collisionCount: set.status?.collisionCount ?? 0,
    };
    if (sameJSON(set.status ?? {}, status)) return;
    await ignoreNotFound(
      ctx.clients.apps.patchNamespacedStatefulSetStatus(
        { name: set.metadata!.name!, namespace: set.metadata!.namespace!, body: { status } },
        mergePatch,
      ),
    );
  }

  return queue;
}
