// enable/disable: the annotations a workload's pods need, checked with the webhook's own decision first.
import type { V1Namespace, V1Pod } from "@kubernetes/client-node";
import { decide, type Decision } from "../../src/injection.js";
import { ANNOTATION_CONTAINER, ANNOTATION_INJECT, ANNOTATION_PATH } from "../../src/names.js";
import type { Cluster } from "./kube.js";
import {
  kindInfo,
  patchTemplateAnnotations,
  rollsOnTemplateChange,
  templateOf,
  type Workload,
} from "./workloads.js";

export interface EnableOptions {
  path: string;
  containers?: string[];
}

export function enableAnnotations(options: EnableOptions): Record<string, string | null> {
  return {
    [ANNOTATION_INJECT]: "true",
    [ANNOTATION_PATH]: options.path,
    [ANNOTATION_CONTAINER]: options.containers?.length ? options.containers.join(",") : null,
  };
}

export const DISABLE_ANNOTATIONS: Record<string, null> = {
  [ANNOTATION_INJECT]: null,
  [ANNOTATION_PATH]: null,
  [ANNOTATION_CONTAINER]: null,
};

/** The pod the workload's template would make once annotated, as the webhook will see it. */
export function podFromTemplate(w: Workload, annotations: Record<string, string | null>): V1Pod {
  const template = templateOf(w);
  const merged: Record<string, string> = { ...(template.metadata?.annotations ?? {}) };
  for (const [key, value] of Object.entries(annotations)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { ...template.metadata, namespace: w.namespace, annotations: merged },
    spec: template.spec ?? { containers: [] },
  };
}

/** The namespace object for the Pod Security check, or undefined when we may not read it. */
export async function readNamespace(
  cluster: Cluster,
  name: string,
): Promise<V1Namespace | undefined> {
  try {
    return await cluster.core.readNamespace({ name });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 403) return undefined;
    throw err;
  }
}

export function enabledState(w: Workload): {
  enabled: boolean;
  path?: string;
  containers?: string;
} {
  const a = templateOf(w).metadata?.annotations ?? {};
  return {
    enabled: a[ANNOTATION_INJECT] === "true",
    path: a[ANNOTATION_PATH],
    containers: a[ANNOTATION_CONTAINER],
  };
}

export function decideFor(
  w: Workload,
  annotations: Record<string, string | null>,
  namespace?: V1Namespace,
): Decision {
  return decide(podFromTemplate(w, annotations), namespace);
}

/** What a change to a workload's pod template does to the pods already running. */
export type Rollout = "rolls" | "on-delete" | "recreate" | "future-pods";

export function rolloutOf(w: Workload): Rollout {
  if (w.kind === "Pod") return "recreate";
  if (!kindInfo(w.kind).restartable) return "future-pods";
  return rollsOnTemplateChange(w) ? "rolls" : "on-delete";
}

/**
 * One sentence on what happens to the running pods once the template has changed (`get` for enable, `lose` for
 * disable), the same in the CLI and the TUI.
 */
export function rolloutNote(w: Workload, verb: "get" | "lose"): string {
  const id = workloadId(w);
  const what = verb === "get" ? "get the directory" : "come without the directory";
  switch (rolloutOf(w)) {
    case "rolls":
      return `${id} is rolling out: its new pods ${what}`;
    case "on-delete":
      return `${id} has updateStrategy OnDelete, so nothing rolls: its pods ${what} once you delete them`;
    case "recreate":
      return verb === "get"
        ? `a running pod cannot get a new volume: recreate pod/${w.name} (or its owner) for the directory to appear`
        : `pod/${w.name} keeps the directory until it is recreated`;
    case "future-pods":
      return `running pods are unchanged; pods it creates from now on ${what}`;
  }
}

export function workloadId(w: Workload): string {
  return `${kindInfo(w.kind).plural}/${w.name}`;
}

/** enable or disable of one workload, decided before anything is written. */
export interface EnablementPlan {
  workload: Workload;
  /** Why it will not be done: the webhook would skip the pods (enable only). */
  refused?: string;
  /** Set when the template already says what was asked: nothing to write. */
  noop?: string;
  /** The annotation changes, `+ key: "value"` or `- key`. */
  changes: string[];
  /** Where the cores will go, e.g. `/corefile in app, worker` (enable only). */
  target?: string;
  apply(dryRun?: boolean): Promise<void>;
}

function annotationChanges(w: Workload, annotations: Record<string, string | null>): string[] {
  const current = templateOf(w).metadata?.annotations ?? {};
  const out: string[] = [];
  for (const [key, value] of Object.entries(annotations)) {
    if (value === null && current[key] !== undefined) out.push(`- ${key}`);
    if (value !== null && current[key] !== value) out.push(`+ ${key}: "${value}"`);
  }
  return out;
}

/** enable: the webhook's own decision first, then the annotations the template lacks. */
export function planEnable(
  cluster: Cluster,
  w: Workload,
  annotations: Record<string, string | null>,
  namespace: V1Namespace | undefined,
): EnablementPlan {
  const decision = decideFor(w, annotations, namespace);
  if (!decision.inject) {
    return { workload: w, refused: decision.reason, changes: [], apply: async () => {} };
  }
  const changes = annotationChanges(w, annotations);
  return {
    workload: w,
    changes,
    target: `${decision.path} in ${[...decision.initContainers, ...decision.containers].join(", ")}`,
    ...(changes.length === 0 ? { noop: `${workloadId(w)} is already enabled` } : {}),
    apply: (dryRun = false) =>
      changes.length === 0
        ? Promise.resolve()
        : patchTemplateAnnotations(cluster, w, annotations, dryRun),
  };
}

export function planDisable(cluster: Cluster, w: Workload): EnablementPlan {
  const changes = annotationChanges(w, DISABLE_ANNOTATIONS);
  return {
    workload: w,
    changes,
    ...(changes.length === 0 ? { noop: `${workloadId(w)} was not enabled` } : {}),
    apply: (dryRun = false) =>
      changes.length === 0
        ? Promise.resolve()
        : patchTemplateAnnotations(cluster, w, DISABLE_ANNOTATIONS, dryRun),
  };
}
