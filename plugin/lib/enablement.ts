// enable/disable: the annotations a workload's pods need, checked with the webhook's own decision first.
import type { V1Namespace, V1Pod } from "@kubernetes/client-node";
import { decide, type Decision } from "../../src/injection.js";
import { ANNOTATION_CONTAINER, ANNOTATION_INJECT, ANNOTATION_PATH } from "../../src/names.js";
import type { Cluster } from "./kube.js";
import { templateOf, type Workload } from "./workloads.js";

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
