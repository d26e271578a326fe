// Deployment controller: one ReplicaSet per template (<deploy>-<pod-template-hash>), rolling or recreate rollouts,
// revision history, status and conditions that `kubectl rollout status` reads.
import type {
  V1Deployment,
  V1DeploymentCondition,
  V1DeploymentStatus,
  V1ReplicaSet,
} from "@kubernetes/client-node";
import type { Context } from "./context.js";
import {
  controllerRef,
  creationTime,
  errorCode,
  ignoreNotFound,
  key,
  mergePatch,
  normalizedTemplate,
  ownedBy,
  ownerRefFor,
  plain,
  sameJSON,
  scaledValue,
  setCondition,
  splitKey,
  templateHash,
} from "./kube.js";
import { makeRecorder } from "./events.js";
import { WorkQueue } from "./queue.js";

export const POD_TEMPLATE_HASH = "pod-template-hash";
export const REVISION = "deployment.kubernetes.io/revision";
const DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS = "deployment.kubernetes.io/max-replicas";

function revisionOf(rs: V1ReplicaSet): number {
  const n = Number(rs.metadata?.annotations?.[REVISION] ?? "0");
  return Number.isFinite(n) ? n : 0;
}

const specReplicas = (rs: V1ReplicaSet) => rs.spec?.replicas ?? 0;
const oldestFirst = (a: V1ReplicaSet, b: V1ReplicaSet) =>
  creationTime(a) - creationTime(b) || revisionOf(a) - revisionOf(b);

export function startDeploymentController(ctx: Context): WorkQueue {
  const { deployments, replicasets } = ctx.informers;
  const queue = new WorkQueue("deployment", reconcile, ctx.log, ctx.synced);
  const record = makeRecorder(
    ctx.clients,
    "deployment-controller",
    "apps/v1",
    "Deployment",
    ctx.log,
  );
  deployments.onChange((d) => queue.add(key(d)));
  replicasets.onChange((rs) => {
    const ref = controllerRef(rs);
    if (ref?.kind === "Deployment") queue.add(`${rs.metadata?.namespace}/${ref.name}`);
  });

  async function reconcile(k: string): Promise<number | void> {
    const { namespace, name } = splitKey(k);
    const d = deployments.get(name, namespace);
    if (!d || d.metadata?.deletionTimestamp) return;
    const replicas = d.spec?.replicas ?? 1;
    const all = replicasets.list(namespace).filter((rs) => ownedBy(rs, d));
    const tmpl = normalizedTemplate(d.spec?.template, [POD_TEMPLATE_HASH]);
    let newRS = all.find(
      (rs) => normalizedTemplate(rs.spec?.template, [POD_TEMPLATE_HASH]) === tmpl,
    );
    const olds = all.filter((rs) => rs !== newRS).sort(oldestFirst);
    const maxOldRevision = Math.max(0, ...olds.map(revisionOf));
    const rolling = d.spec?.strategy?.type !== "Recreate";
    const maxSurge = rolling
      ? scaledValue(d.spec?.strategy?.rollingUpdate?.maxSurge, replicas, true, "25%")
      : 0;
    let maxUnavailable = rolling
      ? scaledValue(d.spec?.strategy?.rollingUpdate?.maxUnavailable, replicas, false, "25%")
      : replicas;
    if (rolling && maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    const desired = new Map<V1ReplicaSet, number>(all.map((rs) => [rs, specReplicas(rs)]));
    let created = false;
    let newRevision = newRS ? revisionOf(newRS) : 0;

    if (!newRS && !d.spec?.paused) {
      const oldTotal = olds.reduce((s, rs) => s + specReplicas(rs), 0);
      let initial = replicas;
      if (oldTotal > 0)
        initial = rolling ? Math.max(0, Math.min(replicas, replicas + maxSurge - oldTotal)) : 0;
      newRS = await createReplicaSet(d, initial, maxOldRevision + 1, maxSurge);
      if (!newRS) return 200; // name taken by another template: collisionCount bumped, look again
      desired.set(newRS, specReplicas(newRS));
      created = true;
      newRevision = maxOldRevision + 1;
    } else if (newRS && revisionOf(newRS) <= maxOldRevision) {
      // Rolled back to an older template: it becomes the newest revision.
      newRevision = maxOldRevision + 1;
      await patchRS(newRS, { metadata: { annotations: { [REVISION]: String(newRevision) } } });
    }

    if (newRS && !d.spec?.paused) {
      const available = (rs: V1ReplicaSet) => rs.status?.availableReplicas ?? 0;
      const oldActive = olds.some((rs) => specReplicas(rs) > 0 || (rs.status?.replicas ?? 0) > 0);
      if (!rolling) {
        for (const rs of olds) desired.set(rs, 0);
        if (!olds.some((rs) => (rs.status?.replicas ?? 0) > 0)) desired.set(newRS, replicas);
      } else if (!oldActive) {
        desired.set(newRS, replicas);
      } else {
        // Scale up the new ReplicaSet within maxSurge.
        const total = [...desired.values()].reduce((s, n) => s + n, 0);
        const cur = desired.get(newRS)!;
        if (cur > replicas) desired.set(newRS, replicas);
        else if (cur < replicas && total < replicas + maxSurge) {
          desired.set(newRS, Math.min(replicas, cur + replicas + maxSurge - total));
        }
        // Scale down old ReplicaSets within maxUnavailable: unhealthy replicas first, then healthy ones.
        const minAvailable = replicas - maxUnavailable;
        const allPods = [...desired.values()].reduce((s, n) => s + n, 0);
        const newUnavailable = Math.max(0, desired.get(newRS)! - available(newRS));
        // As Kubernetes: nothing goes while the spec counts leave no room (this also guards against ReplicaSet
        // statuses that lag behind their spec).
        const maxScaledDown = allPods - minAvailable - newUnavailable;
        if (maxScaledDown > 0) {
          let budget = maxScaledDown;
          for (const rs of olds) {
            if (budget <= 0) break;
            const spec = desired.get(rs)!;
            const down = Math.min(Math.max(0, spec - available(rs)), budget);
            desired.set(rs, spec - down);
            budget -= down;
          }
          let scaleDown = all.reduce((s, rs) => s + available(rs), 0) - minAvailable;
          for (const rs of olds) {
            if (scaleDown <= 0) break;
            const spec = desired.get(rs)!;
            const down = Math.min(spec, scaleDown);
            desired.set(rs, spec - down);
            scaleDown -= down;
          }
        }
      }
      for (const [rs, n] of desired) {
        const was = specReplicas(rs);
        if (n !== was) {
          const how = n > was ? "up" : "down";
          record(
            d,
            "Normal",
            "ScalingReplicaSet",
            `Scaled ${how} replica set ${rs.metadata!.name} to ${n} from ${was}`,
          );
        }
        if (
          n !== specReplicas(rs) ||
          rs.metadata?.annotations?.[DESIRED_REPLICAS] !== String(replicas)
        ) {
          await patchRS(rs, {
            metadata: {
              annotations: {
                [DESIRED_REPLICAS]: String(replicas),
                [MAX_REPLICAS]: String(replicas + maxSurge),
              },
            },
            spec: { replicas: n },
          });
        }
      }
      await cleanupHistory(d, olds, desired);
    }

    await updateStatus(d, newRS, all, desired, replicas, maxUnavailable, created);
    if (newRS && d.metadata?.annotations?.[REVISION] !== String(newRevision)) {
      await ignoreNotFound(
        ctx.clients.apps.patchNamespacedDeployment(
          {
            name,
            namespace,
            body: { metadata: { annotations: { [REVISION]: String(newRevision) } } },
          },
          mergePatch,
        ),
      );
    }
  }

  async function patchRS(rs: V1ReplicaSet, body: object): Promise<void> {
    await ignoreNotFound(
      ctx.clients.apps.patchNamespacedReplicaSet(
        { name: rs.metadata!.name!, namespace: rs.metadata!.namespace!, body },
        mergePatch,
      ),
    );
  }

  async function createReplicaSet(
    d: V1Deployment,
    replicas: number,
    revision: number,
    maxSurge: number,
  ): Promise<V1ReplicaSet | undefined> {
    const namespace = d.metadata!.namespace!;
    const collisionCount = d.status?.collisionCount ?? 0;
    const hash = templateHash(d.spec?.template, [POD_TEMPLATE_HASH], collisionCount);
    const template = plain(d.spec?.template ?? {});
    template.metadata = {
      ...(template.metadata ?? {}),
      labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash },
    };
    const selector = plain(d.spec?.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const body: V1ReplicaSet = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `${d.metadata!.name}-${hash}`,
        namespace,
        labels: { ...(template.metadata.labels ?? {}) },
        annotations: {
          [DESIRED_REPLICAS]: String(d.spec?.replicas ?? 1),
          [MAX_REPLICAS]: String((d.spec?.replicas ?? 1) + maxSurge),
          [REVISION]: String(revision),
        },
        ownerReferences: [ownerRefFor(d, "apps/v1", "Deployment")],
      },
      spec: { replicas, minReadySeconds: d.spec?.minReadySeconds, selector, template },
    };
    try {
      const created = await ctx.clients.apps.createNamespacedReplicaSet({ namespace, body });
      if (replicas > 0) {
        record(
          d,
          "Normal",
          "ScalingReplicaSet",
          `Scaled up replica set ${body.metadata!.name} to ${replicas}`,
        );
      }
      ctx.log(
        `deployment ${namespace}/${d.metadata!.name}: created ReplicaSet ${body.metadata!.name} (revision ${revision})`,
      );
      return created;
    } catch (err) {
      if (errorCode(err) !== 409) throw err;
      const existing = await ctx.clients.apps.readNamespacedReplicaSet({
        name: body.metadata!.name!,
        namespace,
      });
      const same =
        ownedBy(existing, d) &&
        normalizedTemplate(existing.spec?.template, [POD_TEMPLATE_HASH]) ===
          normalizedTemplate(d.spec?.template, [POD_TEMPLATE_HASH]);
      if (same) return existing;
      await ctx.clients.apps.patchNamespacedDeploymentStatus(
        {
          name: d.metadata!.name!,
          namespace,
          body: { status: { collisionCount: collisionCount + 1 } },
        },
        mergePatch,
      );
      return undefined;
    }
  }

  async function cleanupHistory(
    d: V1Deployment,
    olds: V1ReplicaSet[],
    desired: Map<V1ReplicaSet, number>,
  ): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const idle = olds
      .filter(
        (rs) => desired.get(rs) === 0 && specReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0,
      )
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    const excess = idle.length - limit;
    for (const rs of idle.slice(0, Math.max(0, excess))) {
      await ignoreNotFound(
        ctx.clients.apps.deleteNamespacedReplicaSet({
          name: rs.metadata!.name!,
          namespace: rs.metadata!.namespace!,
          propagationPolicy: "Background",
        }),
      );
    }
  }

  async function updateStatus(
    d: V1Deployment,
    newRS: V1ReplicaSet | undefined,
    all: V1ReplicaSet[],
    desired: Map<V1ReplicaSet, number>,
    replicas: number,
    maxUnavailable: number,
    created: boolean,
  ): Promise<void> {
    const sets = newRS && !all.includes(newRS) ? [...all, newRS] : all;
    const sum = (f: (rs: V1ReplicaSet) => number) => sets.reduce((s, rs) => s + f(rs), 0);
    const statusReplicas = sum((rs) => rs.status?.replicas ?? 0);
    const updated = newRS?.status?.replicas ?? 0;
    const ready = sum((rs) => rs.status?.readyReplicas ?? 0);
    const available = sum((rs) => rs.status?.availableReplicas ?? 0);
    const totalDesired = sum((rs) => desired.get(rs) ?? specReplicas(rs));
    const rsName = newRS?.metadata?.name ?? "";
    let conditions = (d.status?.conditions ?? []) as V1DeploymentCondition[];
    conditions = setCondition(
      conditions,
      available >= replicas - maxUnavailable
        ? {
            type: "Available",
            status: "True",
            reason: "MinimumReplicasAvailable",
            message: "Deployment has minimum availability.",
            lastUpdateTime: undefined,
          }
        : {
            type: "Available",
            status: "False",
            reason: "MinimumReplicasUnavailable",
            message: "Deployment does not have minimum availability.",
            lastUpdateTime: undefined,
          },
    );
    const complete =
      !!newRS && updated === replicas && statusReplicas === replicas && available >= replicas;
    conditions = setCondition(
      conditions,
      complete
        ? {
            type: "Progressing",
            status: "True",
            reason: "NewReplicaSetAvailable",
            message: `ReplicaSet "${rsName}" has successfully progressed.`,
            lastUpdateTime: undefined,
          }
        : created
          ? {
              type: "Progressing",
              status: "True",
              reason: "NewReplicaSetCreated",
              message: `Created new replica set "${rsName}"`,
              lastUpdateTime: undefined,
            }
          : {
              type: "Progressing",
              status: "True",
              reason: "ReplicaSetUpdated",
              message: `ReplicaSet "${rsName}" is progressing.`,
              lastUpdateTime: undefined,
            },
    );
    const status: V1DeploymentStatus = {
      observedGeneration: d.metadata?.generation ?? 0,
      replicas: statusReplicas,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: available,
      unavailableReplicas: Math.max(0, totalDesired - available),
      conditions,
      ...(d.status?.collisionCount !== undefined
        ? { collisionCount: d.status.collisionCount }
        : {}),
    };
    if (sameJSON(d.status ?? {}, status)) return;
    await ignoreNotFound(
      ctx.clients.apps.patchNamespacedDeploymentStatus(
        { name: d.metadata!.name!, namespace: d.metadata!.namespace!, body: { status } },
        mergePatch,
      ),
    );
  }

  return queue;
}
