// DaemonSet controller: one pod per node that matches the template's nodeSelector/affinity/tolerations, pinned with
// node affinity on metadata.name (as Kubernetes does, the scheduler binds it); rolling update; status.
import type {
  V1DaemonSet,
  V1DaemonSetStatus,
  V1Node,
  V1Pod,
  V1PodSpec,
  V1Toleration,
} from "@kubernetes/client-node";
import { watchOwnerAndPods, type Context } from "./context.js";
import {
  creationTime,
  ignoreNotFound,
  isDeleting,
  isReady,
  mergePatch,
  ownedBy,
  ownerRefFor,
  podFromTemplate,
  sameJSON,
  scaledValue,
  splitKey,
  templateHash,
  key,
} from "./kube.js";
import { nodeSelectorMatches, taintsTolerated } from "./node-match.js";
import { failedCreateMessage, makeRecorder } from "./events.js";
import { WorkQueue } from "./queue.js";

export const CONTROLLER_REVISION_HASH = "controller-revision-hash";
const TEMPLATE_GENERATION = "pod-template-generation";

/** The tolerations the DaemonSet controller adds to its pods. */
const DAEMON_TOLERATIONS: V1Toleration[] = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

function withDaemonTolerations(spec: V1PodSpec | undefined): V1PodSpec {
  const tolerations = [...(spec?.tolerations ?? [])];
  for (const t of DAEMON_TOLERATIONS) {
    if (!tolerations.some((x) => x.key === t.key && x.effect === t.effect)) tolerations.push(t);
  }
  return { ...(spec ?? { containers: [] }), tolerations };
}

export function shouldRunOn(ds: V1DaemonSet, node: V1Node): boolean {
  const spec = withDaemonTolerations(ds.spec?.template?.spec);
  return nodeSelectorMatches(spec, node) && taintsTolerated(spec, node);
}

/** The node a daemon pod is for: bound, or pinned by its node affinity. */
export function daemonPodNode(pod: V1Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
      ?.nodeSelectorTerms ?? [];
  for (const t of terms) {
    for (const f of t.matchFields ?? []) {
      if (f.key === "metadata.name" && f.operator === "In" && f.values?.length === 1)
        return f.values[0];
    }
  }
  return undefined;
}

export function startDaemonSetController(ctx: Context): WorkQueue {
  const { pods, nodes, daemonsets } = ctx.informers;
  const queue = new WorkQueue("daemonset", reconcile, ctx.log, ctx.synced);
  const record = makeRecorder(ctx.clients, "daemonset-controller", "apps/v1", "DaemonSet", ctx.log);
  watchOwnerAndPods(ctx, daemonsets, "DaemonSet", queue);
  nodes.onChange(() => {
    for (const ds of daemonsets.list()) queue.add(key(ds));
  });

  async function reconcile(k: string): Promise<number | void> {
    const { namespace, name } = splitKey(k);
    const ds = daemonsets.get(name, namespace);
    if (!ds || !ds.metadata?.uid || isDeleting(ds)) return;
    const uid = ds.metadata.uid;
    const owned = pods.list(namespace).filter((p) => ownedBy(p, ds));
    // Own writes not in the cache yet: their events will bring us back (and the timer, should one never show).
    if (!ctx.expectations.satisfied(uid, owned)) return 1000;
    const hash = templateHash(ds.spec?.template, [], ds.status?.collisionCount ?? 0);

    const byNode = new Map<string, V1Pod[]>();
    for (const p of owned) {
      const n = daemonPodNode(p) ?? "";
      byNode.set(n, [...(byNode.get(n) ?? []), p]);
    }
    const allNodes = nodes.list();
    const wanted = allNodes.filter((n) => shouldRunOn(ds, n));
    const wantedNames = new Set(wanted.map((n) => n.metadata!.name!));
    const toCreate: string[] = [];
    const toDelete: V1Pod[] = [];

    for (const n of wanted) {
      const nodeName = n.metadata!.name!;
      const here = byNode.get(nodeName) ?? [];
      const failed = here.filter((p) => !isDeleting(p) && p.status?.phase === "Failed");
      toDelete.push(...failed);
      const alive = here.filter(
        (p) => !isDeleting(p) && p.status?.phase !== "Failed" && p.status?.phase !== "Succeeded",
      );
      if (alive.length === 0) {
        if (!here.some(isDeleting) && failed.length === 0) toCreate.push(nodeName);
      } else if (alive.length > 1) {
        // Keep one (current and ready first, then the oldest).
        const keep = [...alive].sort((a, b) => {
          const score = (p: V1Pod) =>
            (p.metadata?.labels?.[CONTROLLER_REVISION_HASH] === hash ? 0 : 2) +
            (isReady(p) ? 0 : 1);
          return score(a) - score(b) || creationTime(a) - creationTime(b);
        })[0]!;
        toDelete.push(...alive.filter((p) => p !== keep));
      }
    }
    // Pods on nodes that should not run one (the node's labels changed, or the DaemonSet's selector did).
    for (const [nodeName, here] of byNode) {
      if (!wantedNames.has(nodeName)) toDelete.push(...here.filter((p) => !isDeleting(p)));
    }

    // Rolling update: old unavailable pods go at once, old available ones within maxUnavailable.
    const strategy = ds.spec?.updateStrategy?.type ?? "RollingUpdate";
    if (strategy === "RollingUpdate") {
      const maxUnavailable = Math.max(
        1,
        scaledValue(
          ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable,
          wanted.length,
          true,
          "1",
        ),
      );
      let unavailable = 0;
      const oldReady: V1Pod[] = [];
      for (const n of wanted) {
        const alive = (byNode.get(n.metadata!.name!) ?? []).filter(
          (p) => !isDeleting(p) && !toDelete.includes(p) && p.status?.phase !== "Succeeded",
        );
        const pod = alive[0];
        if (!pod || !isReady(pod)) {
          unavailable++;
          if (pod && pod.metadata?.labels?.[CONTROLLER_REVISION_HASH] !== hash) toDelete.push(pod);
        } else if (pod.metadata?.labels?.[CONTROLLER_REVISION_HASH] !== hash) {
          oldReady.push(pod);
        }
      }
      for (const p of oldReady) {
        if (unavailable >= maxUnavailable) break;
        toDelete.push(p);
        unavailable++;
      }
    }

    await Promise.all([
      ...toCreate.map(async (nodeName) => {
        const body = podFromTemplate(
          ds.spec?.template,
          namespace,
          ownerRefFor(ds, "apps/v1", "DaemonSet"),
          { generateName: `${name}-` },
          {
            [CONTROLLER_REVISION_HASH]: hash,
            [TEMPLATE_GENERATION]: String(ds.metadata?.generation ?? 1),
          },
        );
        body.spec = withDaemonTolerations(body.spec);
        body.spec.affinity = {
          ...(body.spec.affinity ?? {}),
          nodeAffinity: {
            ...(body.spec.affinity?.nodeAffinity ?? {}),
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchFields: [{ key: "metadata.name", operator: "In", values: [nodeName] }] },
              ],
            },
          },
        };
        try {
          const created = await ctx.clients.core.createNamespacedPod({ namespace, body });
          ctx.expectations.created(uid, created.metadata!.name!);
          record(ds, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata!.name}`);
        } catch (err) {
          record(ds, "Warning", "FailedCreate", failedCreateMessage(err));
          throw err;
        }
      }),
      ...[...new Set(toDelete)].map(async (p) => {
        ctx.expectations.deleted(uid, p.metadata!.name!);
        await ignoreNotFound(
          ctx.clients.core.deleteNamespacedPod({ name: p.metadata!.name!, namespace }),
        );
        record(ds, "Normal", "SuccessfulDelete", `Deleted pod: ${p.metadata!.name}`);
      }),
    ]);

    await updateStatus(
      ds,
      wanted.map((n) => n.metadata!.name!),
      byNode,
      hash,
    );
  }

  async function updateStatus(
    ds: V1DaemonSet,
    wanted: string[],
    byNode: Map<string, V1Pod[]>,
    hash: string,
  ): Promise<void> {
    const wantedSet = new Set(wanted);
    let current = 0;
    let ready = 0;
    let updated = 0;
    let misscheduled = 0;
    for (const [nodeName, here] of byNode) {
      const alive = here.filter(
        (p) => !isDeleting(p) && p.status?.phase !== "Failed" && p.status?.phase !== "Succeeded",
      );
      if (alive.length === 0) continue;
      if (!wantedSet.has(nodeName)) {
        misscheduled++;
        continue;
      }
      current++;
      if (alive.some(isReady)) ready++;
      if (alive.some((p) => p.metadata?.labels?.[CONTROLLER_REVISION_HASH] === hash)) updated++;
    }
    const status: V1DaemonSetStatus = {
      currentNumberScheduled: current,
      desiredNumberScheduled: wanted.length,
      numberMisscheduled: misscheduled,
      numberReady: ready,
      numberAvailable: ready,
      numberUnavailable: Math.max(0, wanted.length - ready),
      updatedNumberScheduled: updated,
      observedGeneration: ds.metadata?.generation ?? 0,
      ...(ds.status?.collisionCount !== undefined
        ? { collisionCount: ds.status.collisionCount }
        : {}),
      ...(ds.status?.conditions ? { conditions: ds.status.conditions } : {}),
    };
    if (sameJSON(ds.status ?? {}, status)) return;
    await ignoreNotFound(
      ctx.clients.apps.patchNamespacedDaemonSetStatus(
        { name: ds.metadata!.name!, namespace: ds.metadata!.namespace!, body: { status } },
        mergePatch,
      ),
    );
  }

  return queue;
}
