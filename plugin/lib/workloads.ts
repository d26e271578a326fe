// The workloads `enable` and `disable` act on, and where each keeps its pod template.
import type { PatchStrategy, V1ObjectMeta, V1PodSpec } from "@kubernetes/client-node";
import { UserError } from "./errors.js";
import type { Cluster } from "./kube.js";

export type WorkloadKind =
  "Pod" | "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "CronJob";

interface KindInfo {
  kind: WorkloadKind;
  apiVersion: string;
  plural: string;
  /** JSON path of the pod template's metadata and spec inside the object. */
  template: string[];
  /** Whether `--restart` can roll it (kubectl rollout restart). */
  restartable: boolean;
}

const KINDS: KindInfo[] = [
  { kind: "Pod", apiVersion: "v1", plural: "pods", template: [], restartable: false },
  {
    kind: "Deployment",
    apiVersion: "apps/v1",
    plural: "deployments",
    template: ["spec", "template"],
    restartable: true,
  },
  {
    kind: "StatefulSet",
    apiVersion: "apps/v1",
    plural: "statefulsets",
    template: ["spec", "template"],
    restartable: true,
  },
  {
    kind: "DaemonSet",
    apiVersion: "apps/v1",
    plural: "daemonsets",
    template: ["spec", "template"],
    restartable: true,
  },
  {
    kind: "ReplicaSet",
    apiVersion: "apps/v1",
    plural: "replicasets",
    template: ["spec", "template"],
    restartable: false,
  },
  {
    kind: "Job",
    apiVersion: "batch/v1",
    plural: "jobs",
    template: ["spec", "template"],
    restartable: false,
  },
  {
    kind: "CronJob",
    apiVersion: "batch/v1",
    plural: "cronjobs",
    template: ["spec", "jobTemplate", "spec", "template"],
    restartable: false,
  },
];

const ALIASES: Record<string, WorkloadKind> = {
  po: "Pod",
  pod: "Pod",
  pods: "Pod",
  deploy: "Deployment",
  deployment: "Deployment",
  deployments: "Deployment",
  sts: "StatefulSet",
  statefulset: "StatefulSet",
  statefulsets: "StatefulSet",
  ds: "DaemonSet",
  daemonset: "DaemonSet",
  daemonsets: "DaemonSet",
  rs: "ReplicaSet",
  replicaset: "ReplicaSet",
  replicasets: "ReplicaSet",
  job: "Job",
  jobs: "Job",
  cj: "CronJob",
  cronjob: "CronJob",
  cronjobs: "CronJob",
};

export function kindInfo(kind: WorkloadKind): KindInfo {
  return KINDS.find((k) => k.kind === kind)!;
}

export function parseKind(word: string): WorkloadKind {
  const kind = ALIASES[word.toLowerCase().replace(/\.(apps|batch)$/, "")];
  if (!kind) {
    throw new UserError(
      `"${word}" is not a workload CoreDog can enable`,
      "use one of pod, deployment, statefulset, daemonset, replicaset, job, cronjob (or po, deploy, sts, ds, rs, cj)",
    );
  }
  return kind;
}

export interface WorkloadRef {
  kind?: WorkloadKind;
  name?: string;
}

/** `deploy/api`, `deployment api` (two words), `api` (kind to be found), or `deploy` with -l. */
export function parseRef(first: string | undefined, second?: string): WorkloadRef {
  if (!first) return {};
  if (first.includes("/")) {
    const [kind, name] = first.split("/", 2) as [string, string];
    if (!name)
      throw new UserError(`"${first}" names no object`, "write TYPE/NAME, e.g. deploy/api");
    return { kind: parseKind(kind), name };
  }
  if (second !== undefined) return { kind: parseKind(first), name: second };
  if (ALIASES[first.toLowerCase()]) return { kind: parseKind(first) };
  return { name: first };
}

/**
 * The workload `enable` or `disable` acts on, checked before anything connects to the cluster, so that a missing
 * argument is reported as such and not as a kubeconfig problem.
 */
export function parseTarget(
  verb: "enable" | "disable",
  first: string | undefined,
  second: string | undefined,
  selector: string | undefined,
): WorkloadRef {
  const ref = parseRef(first, second);
  const example = `e.g. kubectl coredog ${verb} deploy/api, or ${verb} deploy -l app=api`;
  if (!ref.kind && selector !== undefined) {
    throw new UserError(`-l needs a TYPE to select (deploy, sts, ds, job, cronjob, pod)`, example);
  }
  if (!ref.kind && !ref.name) throw new UserError(`name the workload to ${verb}`, example);
  if (ref.kind && !ref.name && selector === undefined) {
    throw new UserError(`name a ${ref.kind} or select many with -l`, example);
  }
  return ref;
}

export interface Workload {
  kind: WorkloadKind;
  name: string;
  namespace: string;
  object: Record<string, unknown>;
}

export function templateOf(w: Workload): { metadata?: V1ObjectMeta; spec?: V1PodSpec } {
  let node: unknown = w.object;
  for (const key of kindInfo(w.kind).template) node = (node as Record<string, unknown>)?.[key];
  return (node ?? {}) as { metadata?: V1ObjectMeta; spec?: V1PodSpec };
}

/** Path of the template's annotations, for a merge patch. */
export function annotationsPatch(
  kind: WorkloadKind,
  annotations: Record<string, string | null>,
): Record<string, unknown> {
  let patch: Record<string, unknown> = { metadata: { annotations } };
  for (const key of [...kindInfo(kind).template].reverse()) patch = { [key]: patch };
  return patch;
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 404;
}

async function read(cluster: Cluster, kind: WorkloadKind, name: string, namespace: string) {
  const info = kindInfo(kind);
  return (await cluster.objects.read({
    apiVersion: info.apiVersion,
    kind,
    metadata: { name, namespace },
  })) as unknown as Record<string, unknown>;
}

export async function findWorkloads(
  cluster: Cluster,
  ref: WorkloadRef,
  namespace: string,
  selector?: string,
): Promise<Workload[]> {
  if (ref.kind && ref.name) {
    try {
      return [
        {
          kind: ref.kind,
          name: ref.name,
          namespace,
          object: await read(cluster, ref.kind, ref.name, namespace),
        },
      ];
    } catch (err) {
      if (isNotFound(err)) {
        throw new UserError(
          `${kindInfo(ref.kind).plural} "${ref.name}" not found in namespace ${namespace}`,
        );
      }
      throw err;
    }
  }
  if (ref.kind && selector !== undefined) {
    const info = kindInfo(ref.kind);
    const list = await cluster.objects.list(
      info.apiVersion,
      ref.kind,
      namespace,
      undefined,
      undefined,
      undefined,
      undefined,
      selector,
    );
    return list.items.map((o) => ({
      kind: ref.kind!,
      name: o.metadata!.name!,
      namespace,
      object: o as unknown as Record<string, unknown>,
    }));
  }
  if (ref.name) {
    // A bare name: the one workload of that name, controllers first.
    const found: Workload[] = [];
    for (const kind of ["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"] as const) {
      try {
        found.push({
          kind,
          name: ref.name,
          namespace,
          object: await read(cluster, kind, ref.name, namespace),
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (found.length === 0) {
      try {
        found.push({
          kind: "Pod",
          name: ref.name,
          namespace,
          object: await read(cluster, "Pod", ref.name, namespace),
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (found.length === 1) return found;
    if (found.length === 0) {
      throw new UserError(
        `no workload named "${ref.name}" in namespace ${namespace}`,
        "write TYPE/NAME, e.g. deploy/api",
      );
    }
    throw new UserError(
      `"${ref.name}" is ambiguous in namespace ${namespace}: ${found.map((w) => `${kindInfo(w.kind).plural}/${w.name}`).join(", ")}`,
      "write TYPE/NAME",
    );
  }
  throw new UserError(
    "name a workload (TYPE/NAME) or a TYPE with -l SELECTOR",
    "e.g. kubectl coredog enable deploy/api",
  );
}

export async function patchTemplateAnnotations(
  cluster: Cluster,
  w: Workload,
  annotations: Record<string, string | null>,
  dryRun = false,
): Promise<void> {
  const info = kindInfo(w.kind);
  const patch = annotationsPatch(w.kind, annotations) as { metadata?: object };
  await cluster.objects.patch(
    {
      ...patch,
      apiVersion: info.apiVersion,
      kind: w.kind,
      // A Pod keeps its annotations in its own metadata: merge, so the name stays.
      metadata: { ...patch.metadata, name: w.name, namespace: w.namespace },
    },
    undefined,
    dryRun ? "All" : undefined,
    "kubectl-coredog",
    undefined,
    "application/merge-patch+json" satisfies PatchStrategy,
  );
}

/**
 * Whether a change of the pod template rolls the pods by itself: Deployments always do; StatefulSets and
 * DaemonSets unless their update strategy is OnDelete.
 */
export function rollsOnTemplateChange(w: Workload): boolean {
  if (w.kind === "Deployment") return true;
  if (w.kind !== "StatefulSet" && w.kind !== "DaemonSet") return false;
  const spec = w.object.spec as { updateStrategy?: { type?: string } } | undefined;
  return spec?.updateStrategy?.type !== "OnDelete";
}

/** What `kubectl rollout restart` does: a new template annotation, so the controller rolls the pods. */
export async function restartWorkload(
  cluster: Cluster,
  w: Workload,
  dryRun = false,
): Promise<void> {
  await patchTemplateAnnotations(
    cluster,
    w,
    { "kubectl.kubernetes.io/restartedAt": new Date().toISOString() },
    dryRun,
  );
}
