// Whether a pod may run on a node: nodeSelector, required node affinity, taints/tolerations, readiness.
import type {
  V1Node,
  V1NodeSelectorRequirement,
  V1PodSpec,
  V1Taint,
  V1Toleration,
} from "@kubernetes/client-node";

export function nodeReady(node: V1Node): boolean {
  const conds = node.status?.conditions ?? [];
  const ready = conds.find((c) => c.type === "Ready");
  // A node that reports no conditions at all is taken as ready (the rig's node may not publish them).
  return ready ? ready.status === "True" : conds.length === 0;
}

function requirementMatches(req: V1NodeSelectorRequirement, value: string | undefined): boolean {
  const vals = req.values ?? [];
  switch (req.operator) {
    case "In":
      return value !== undefined && vals.includes(value);
    case "NotIn":
      return value === undefined || !vals.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "Gt":
    case "Lt": {
      if (value === undefined || vals.length !== 1) return false;
      const a = Number(value);
      const b = Number(vals[0]);
      if (!Number.isInteger(a) || !Number.isInteger(b)) return false;
      return req.operator === "Gt" ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** nodeSelector and requiredDuringSchedulingIgnoredDuringExecution (matchExpressions on labels, matchFields on metadata.name). */
export function nodeSelectorMatches(spec: V1PodSpec | undefined, node: V1Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(spec?.nodeSelector ?? {})) {
    if (labels[k] !== v) return false;
  }
  const terms =
    spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms) return true;
  // Terms are ORed; an empty term matches nothing.
  return terms.some((term) => {
    const exprs = term.matchExpressions ?? [];
    const fields = term.matchFields ?? [];
    if (exprs.length === 0 && fields.length === 0) return false;
    return (
      exprs.every((e) => requirementMatches(e, labels[e.key])) &&
      fields.every((f) => f.key === "metadata.name" && requirementMatches(f, node.metadata?.name))
    );
  });
}

function tolerates(t: V1Toleration, taint: V1Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (!t.key) return t.operator === "Exists";
  if (t.key !== taint.key) return false;
  if (t.operator === "Exists") return true;
  return (t.value ?? "") === (taint.value ?? "");
}

export function taintsTolerated(spec: V1PodSpec | undefined, node: V1Node): boolean {
  const taints = [...(node.spec?.taints ?? [])];
  if (node.spec?.unschedulable)
    taints.push({ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" });
  const tolerations = spec?.tolerations ?? [];
  return taints
    .filter((taint) => taint.effect === "NoSchedule" || taint.effect === "NoExecute")
    .every((taint) => tolerations.some((t) => tolerates(t, taint)));
}

/** The scheduler's filter. */
export function podFitsNode(spec: V1PodSpec | undefined, node: V1Node): boolean {
  return nodeReady(node) && nodeSelectorMatches(spec, node) && taintsTolerated(spec, node);
}
