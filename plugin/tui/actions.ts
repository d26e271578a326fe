// What the TUI's keys do to the cluster: the CLI's own plans and checks, wrapped as PreparedActions.
import type { V1OwnerReference, V1Pod } from "@kubernetes/client-node";
import { DEFAULT_CONTAINER_PATH } from "../../src/names.js";
import {
  restartPlan,
  watcherPausePlan,
  watcherResumePlan,
  webhookFailPlan,
  webhookIgnorePlan,
  webhookRemovePlan,
  webhookRestorePlan,
  type Plan,
} from "../lib/emergency.js";
import {
  enableAnnotations,
  planDisable,
  planEnable,
  readNamespace,
  rolloutNote,
  rolloutOf,
  workloadId as id,
} from "../lib/enablement.js";
import type { Cluster } from "../lib/kube.js";
import {
  findWorkloads,
  kindInfo,
  restartWorkload,
  type Workload,
  type WorkloadKind,
} from "../lib/workloads.js";
import type { ActionRequest, EmergencyAction, PreparedAction } from "./types.js";

const KNOWN_OWNERS: WorkloadKind[] = ["ReplicaSet", "StatefulSet", "DaemonSet", "Job"];

function controllerOf(refs: V1OwnerReference[] | undefined): V1OwnerReference | undefined {
  return refs?.find((r) => r.controller) ?? refs?.[0];
}

/** The workload that owns a pod, the way `kubectl rollout` sees it: pod → ReplicaSet → Deployment, Job → CronJob. */
export async function ownerWorkload(cluster: Cluster, pod: V1Pod): Promise<Workload> {
  const namespace = pod.metadata?.namespace ?? "default";
  let kind: WorkloadKind = "Pod";
  let name = pod.metadata?.name ?? "";
  const owner = controllerOf(pod.metadata?.ownerReferences);
  if (owner && KNOWN_OWNERS.includes(owner.kind as WorkloadKind)) {
    kind = owner.kind as WorkloadKind;
    name = owner.name;
    if (kind === "ReplicaSet" || kind === "Job") {
      const [parent] = await findWorkloads(cluster, { kind, name }, namespace);
      const up = controllerOf(
        (parent?.object.metadata as { ownerReferences?: V1OwnerReference[] } | undefined)
          ?.ownerReferences,
      );
      if (up && (up.kind === "Deployment" || up.kind === "CronJob")) {
        return (await findWorkloads(cluster, { kind: up.kind, name: up.name }, namespace))[0]!;
      }
      return parent!;
    }
  }
  return (await findWorkloads(cluster, { kind, name }, namespace))[0]!;
}

async function emergencyPlan(cluster: Cluster, action: EmergencyAction): Promise<Plan> {
  switch (action) {
    case "webhook-ignore":
      return webhookIgnorePlan(cluster);
    case "webhook-fail":
      return webhookFailPlan(cluster);
    case "webhook-remove":
      return webhookRemovePlan(cluster);
    case "webhook-restore":
      return webhookRestorePlan(cluster);
    case "watcher-pause":
      return watcherPausePlan(cluster);
    case "watcher-resume":
      return watcherResumePlan(cluster);
    case "restart-watcher":
      return restartPlan(cluster, "watcher");
    case "restart-webhook":
      return restartPlan(cluster, "webhook");
  }
}

export async function prepareAction(
  cluster: Cluster,
  request: ActionRequest,
  podOf: (namespace: string, name: string) => V1Pod | undefined,
): Promise<PreparedAction> {
  if (request.kind === "emergency") {
    const plan = await emergencyPlan(cluster, request.action);
    const title = `emergency ${request.action.replace("-", " ")}`;
    return { ...plan, title, apply: () => plan.apply() };
  }
  const pod =
    podOf(request.namespace, request.pod) ??
    (await cluster.core.readNamespacedPod({ name: request.pod, namespace: request.namespace }));
  const w = await ownerWorkload(cluster, pod);
  const where = `${id(w)} in ${w.namespace}`;
  const noApply = async () => {};

  if (request.kind === "restart") {
    const rollout = rolloutOf(w);
    if (rollout !== "rolls") {
      return {
        title: `restart ${where}`,
        changes: [],
        apply: noApply,
        refused:
          rollout === "recreate"
            ? `pod/${w.name} has no workload to roll: delete it (or recreate it) yourself`
            : rollout === "on-delete"
              ? `${id(w)} has updateStrategy OnDelete, so a restart rolls nothing: delete its pods to replace them`
              : `${kindInfo(w.kind).plural} cannot be rolled: delete its pods to replace them`,
      };
    }
    return {
      title: `restart ${where}`,
      changes: [`${id(w)}: rolling restart (what kubectl rollout restart does)`],
      apply: () => restartWorkload(cluster, w),
      done: `${id(w)} restarted: new pods come from the current template`,
    };
  }

  if (request.kind === "disable") {
    const plan = planDisable(cluster, w);
    return {
      title: `disable ${where}`,
      changes: plan.changes,
      undo: `e (enable) here, or kubectl coredog enable ${id(w)} -n ${w.namespace}`,
      apply: () => plan.apply(),
      done: `${id(w)} disabled: ${rolloutNote(w, "lose")}`,
      ...(plan.noop !== undefined ? { noop: plan.noop } : {}),
    };
  }

  // enable: the same plan as `kubectl coredog enable`, the webhook's own decision first.
  const annotations = enableAnnotations({ path: DEFAULT_CONTAINER_PATH });
  const plan = planEnable(cluster, w, annotations, await readNamespace(cluster, w.namespace));
  const title = `enable ${where}`;
  if (plan.refused !== undefined) {
    return { title, changes: [], apply: noApply, refused: plan.refused };
  }
  return {
    title,
    changes: plan.changes.map((c) => `${c} (pod template of ${id(w)})`),
    undo: `d (disable) here, or kubectl coredog disable ${id(w)} -n ${w.namespace}`,
    apply: () => plan.apply(),
    done: `${id(w)} enabled: cores go to ${plan.target}; ${rolloutNote(w, "get")}`,
    ...(plan.noop !== undefined ? { noop: plan.noop } : {}),
  };
}
