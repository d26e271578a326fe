// The scale subresource: a workload seen as autoscaling/v1 Scale.
import type { AnyObj } from "./context.js";
import type { KubeObject } from "./store.js";

export function scaleOf(o: KubeObject): AnyObj {
  const x = o as AnyObj;
  const sel = x.spec?.selector?.matchLabels as Record<string, string> | undefined;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
      creationTimestamp: o.metadata.creationTimestamp,
    },
    spec: { replicas: x.spec?.replicas ?? 0 },
    status: {
      replicas: x.status?.replicas ?? 0,
      selector: Object.entries(sel ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
    },
  };
}

/** The workload with spec.replicas taken from a Scale (or anything with spec.replicas). */
export function withScale(o: KubeObject, scale: AnyObj): KubeObject {
  const next = structuredClone(o) as AnyObj;
  next.spec.replicas = scale.spec?.replicas;
  return next as KubeObject;
}
