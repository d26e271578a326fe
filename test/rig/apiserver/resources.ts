// The resource kinds the rig serves, with what discovery, tables and defaults need to know about them.
import type { CustomKind } from "./custom-resources.js";

export interface ResourceInfo {
  group: string; // "" for core
  version: string;
  resource: string; // plural
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  subresources?: { name: string; kind: string; verbs: string[] }[];
  /** generation is bumped on spec changes (workloads). */
  hasGeneration?: boolean;
  /** Only for views of another resource's storage (events.k8s.io/v1 events). */
  storageKey?: string;
  /** Kinds served from a stored CustomResourceDefinition (custom-resources.ts). */
  custom?: CustomKind;
}

const RW = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

function r(
  group: string,
  version: string,
  resource: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<ResourceInfo> = {},
): ResourceInfo {
  return { group, version, resource, kind, namespaced, singular: kind.toLowerCase(), ...extra };
}

const status = (kind: string) => ({ name: "status", kind, verbs: ["get", "patch", "update"] });
const scale = { name: "scale", kind: "Scale", verbs: ["get", "patch", "update"] };
const ALL = ["all"];

export const RESOURCES: ResourceInfo[] = [
  r("", "v1", "namespaces", "Namespace", false, {
    shortNames: ["ns"],
    subresources: [status("Namespace")],
  }),
  r("", "v1", "pods", "Pod", true, {
    shortNames: ["po"],
    categories: ALL,
    subresources: [
      status("Pod"),
      { name: "log", kind: "Pod", verbs: ["get"] },
      { name: "binding", kind: "Binding", verbs: ["create"] },
      { name: "eviction", kind: "Eviction", verbs: ["create"] },
      { name: "exec", kind: "PodExecOptions", verbs: ["create", "get"] },
    ],
  }),
  r("", "v1", "configmaps", "ConfigMap", true, { shortNames: ["cm"] }),
  r("", "v1", "secrets", "Secret", true),
  r("", "v1", "services", "Service", true, {
    shortNames: ["svc"],
    categories: ALL,
    subresources: [status("Service")],
  }),
  r("", "v1", "endpoints", "Endpoints", true, { shortNames: ["ep"], singular: "endpoints" }),
  r("", "v1", "serviceaccounts", "ServiceAccount", true, { shortNames: ["sa"] }),
  r("", "v1", "nodes", "Node", false, { shortNames: ["no"], subresources: [status("Node")] }),
  r("", "v1", "events", "Event", true, { shortNames: ["ev"] }),
  r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, { shortNames: ["pvc"] }),
  r("", "v1", "resourcequotas", "ResourceQuota", true, { shortNames: ["quota"] }),
  r("", "v1", "limitranges", "LimitRange", true, { shortNames: ["limits"] }),
  r("apps", "v1", "deployments", "Deployment", true, {
    shortNames: ["deploy"],
    categories: ALL,
    hasGeneration: true,
    subresources: [status("Deployment"), scale],
  }),
  r("apps", "v1", "replicasets", "ReplicaSet", true, {
    shortNames: ["rs"],
    categories: ALL,
    hasGeneration: true,
    subresources: [status("ReplicaSet"), scale],
  }),
  r("apps", "v1", "daemonsets", "DaemonSet", true, {
    shortNames: ["ds"],
    categories: ALL,
    hasGeneration: true,
    subresources: [status("DaemonSet")],
  }),
  r("apps", "v1", "statefulsets", "StatefulSet", true, {
    shortNames: ["sts"],
    categories: ALL,
    hasGeneration: true,
    subresources: [status("StatefulSet"), scale],
  }),
  r("apps", "v1", "controllerrevisions", "ControllerRevision", true),
  r("batch", "v1", "jobs", "Job", true, {
    categories: ALL,
    hasGeneration: true,
    subresources: [status("Job")],
  }),
  r("batch", "v1", "cronjobs", "CronJob", true, {
    shortNames: ["cj"],
    categories: ALL,
    hasGeneration: true,
    subresources: [status("CronJob")],
  }),
  r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, {
    shortNames: ["pdb"],
    hasGeneration: true,
    subresources: [status("PodDisruptionBudget")],
  }),
  r("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
  r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true),
  r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
  r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false),
  r(
    "admissionregistration.k8s.io",
    "v1",
    "mutatingwebhookconfigurations",
    "MutatingWebhookConfiguration",
    false,
    {
      hasGeneration: true,
    },
  ),
  r(
    "admissionregistration.k8s.io",
    "v1",
    "validatingwebhookconfigurations",
    "ValidatingWebhookConfiguration",
    false,
    {
      hasGeneration: true,
    },
  ),
  r("coordination.k8s.io", "v1", "leases", "Lease", true),
  r("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false, {
    shortNames: ["crd", "crds"],
    categories: ["api-extensions"],
    subresources: [status("CustomResourceDefinition")],
  }),
  r("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", false, { shortNames: ["pc"] }),
  r("events.k8s.io", "v1", "events", "Event", true, { shortNames: ["ev"], storageKey: "events" }),
  r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, {
    shortNames: ["netpol"],
    hasGeneration: true,
  }),
  r("storage.k8s.io", "v1", "storageclasses", "StorageClass", false, { shortNames: ["sc"] }),
  r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true),
];

/** Review-only endpoints (create only, not stored). */
export const REVIEWS: ResourceInfo[] = [
  r("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false),
  r("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", false),
  r("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", true),
  r("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", false),
  r("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", false),
];

export const ALL_VERBS = RW;

/** Storage key of a resource: "pods", "deployments.apps". */
export function keyOf(info: ResourceInfo): string {
  if (info.storageKey) return info.storageKey;
  return info.group ? `${info.resource}.${info.group}` : info.resource;
}

export function findResource(
  group: string,
  version: string,
  resource: string,
): ResourceInfo | undefined {
  return [...RESOURCES, ...REVIEWS].find(
    (i) => i.group === group && i.version === version && i.resource === resource,
  );
}

/** Looks up "pods", "deployments.apps", "Deployment", "deployments", "apps/v1/deployments". */
export function resolveResource(ref: string): ResourceInfo {
  const parts = ref.split("/");
  let found: ResourceInfo | undefined;
  if (parts.length === 3) found = findResource(parts[0]!, parts[1]!, parts[2]!);
  else if (parts.length === 2) found = findResource("", parts[0]!, parts[1]!);
  else {
    const dot = ref.indexOf(".");
    const plural = dot < 0 ? ref : ref.slice(0, dot);
    const group = dot < 0 ? undefined : ref.slice(dot + 1);
    found =
      RESOURCES.find(
        (i) => !i.storageKey && i.resource === plural && (group === undefined || i.group === group),
      ) ?? RESOURCES.find((i) => !i.storageKey && i.kind === ref);
  }
  if (!found) throw new Error(`unknown resource ${ref}`);
  return found;
}

export function apiVersionOf(info: ResourceInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

export function groupVersions(): { group: string; versions: string[] }[] {
  const out = new Map<string, Set<string>>();
  for (const i of [...RESOURCES, ...REVIEWS]) {
    if (!i.group) continue;
    if (!out.has(i.group)) out.set(i.group, new Set());
    out.get(i.group)!.add(i.version);
  }
  return [...out].map(([group, versions]) => ({ group, versions: [...versions] }));
}
