// Bearer-token authentication and an RBAC authorizer evaluated over the stored Role/ClusterRole/bindings.
import { randomBytes } from "node:crypto";
import type { KubeObject, Store } from "./store.js";

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

export interface Attributes {
  verb: string;
  apiGroup: string;
  resource: string; // plural, may be empty for non-resource requests
  subresource?: string;
  namespace?: string;
  name?: string;
  path?: string; // non-resource URL
}

export class Tokens {
  private readonly byToken = new Map<string, UserInfo>();

  issue(username: string, groups: string[] = []): string {
    for (const [t, u] of this.byToken) {
      if (
        u.username === username &&
        JSON.stringify(u.groups) === JSON.stringify(withAuthenticated(groups))
      )
        return t;
    }
    const token = randomBytes(24).toString("base64url");
    this.byToken.set(token, { username, groups: withAuthenticated(groups) });
    return token;
  }

  lookup(token: string): UserInfo | undefined {
    return this.byToken.get(token);
  }
}

function withAuthenticated(groups: string[]): string[] {
  return groups.includes("system:authenticated")
    ? [...groups]
    : [...groups, "system:authenticated"];
}

interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

function subjectMatches(s: Subject, user: UserInfo, bindingNamespace?: string): boolean {
  if (s.kind === "User") return s.name === user.username;
  if (s.kind === "Group") return user.groups.includes(s.name);
  if (s.kind === "ServiceAccount") {
    const ns = s.namespace ?? bindingNamespace ?? "";
    return user.username === `system:serviceaccount:${ns}:${s.name}`;
  }
  return false;
}

function ruleMatches(r: PolicyRule, a: Attributes): boolean {
  const verbs = r.verbs ?? [];
  if (!verbs.includes("*") && !verbs.includes(a.verb)) return false;
  if (a.path !== undefined) {
    return (r.nonResourceURLs ?? []).some(
      (u) => u === "*" || u === a.path || (u.endsWith("*") && a.path!.startsWith(u.slice(0, -1))),
    );
  }
  const groups = r.apiGroups ?? [];
  if (!groups.includes("*") && !groups.includes(a.apiGroup)) return false;
  const full = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resources = r.resources ?? [];
  const resOk = resources.some(
    (x) =>
      x === "*" ||
      x === full ||
      (a.subresource && (x === `*/${a.subresource}` || x === `${a.resource}/*`)),
  );
  if (!resOk) return false;
  const names = r.resourceNames ?? [];
  if (names.length && (!a.name || !names.includes(a.name))) return false;
  return true;
}

type AggregatedRole = KubeObject & {
  rules?: PolicyRule[];
  aggregationRule?: { clusterRoleSelectors?: { matchLabels?: Record<string, string> }[] };
};

export class Authorizer {
  constructor(private readonly store: Store) {}

  /** Rules that apply to `user` in `namespace` (cluster-wide rules included). */
  rulesFor(user: UserInfo, namespace?: string): PolicyRule[] {
    const rules: PolicyRule[] = [];
    const roleRules = (ref: { kind: string; name: string }, ns?: string): PolicyRule[] => {
      const role =
        ref.kind === "ClusterRole"
          ? this.store.get<KubeObject & { rules?: PolicyRule[] }>(
              "clusterroles.rbac.authorization.k8s.io",
              undefined,
              ref.name,
            )
          : ns !== undefined
            ? this.store.get<KubeObject & { rules?: PolicyRule[] }>(
                "roles.rbac.authorization.k8s.io",
                ns,
                ref.name,
              )
            : undefined;
      if (!role) return [];
      return ref.kind === "ClusterRole" ? this.clusterRoleRules(role) : (role.rules ?? []);
    };
    type Binding = KubeObject & { subjects?: Subject[]; roleRef: { kind: string; name: string } };
    for (const b of this.store.list<Binding>("clusterrolebindings.rbac.authorization.k8s.io")) {
      if ((b.subjects ?? []).some((s) => subjectMatches(s, user)))
        rules.push(...roleRules(b.roleRef));
    }
    if (namespace) {
      for (const b of this.store.list<Binding>(
        "rolebindings.rbac.authorization.k8s.io",
        namespace,
      )) {
        if ((b.subjects ?? []).some((s) => subjectMatches(s, user, namespace)))
          rules.push(...roleRules(b.roleRef, namespace));
      }
    }
    return rules;
  }

  /**
   * A ClusterRole's rules with those its aggregationRule selects, as the clusterrole-aggregation controller keeps
   * them (evaluated here at authorization time; roles aggregated into selected roles count too).
   */
  private clusterRoleRules(role: AggregatedRole, seen = new Set<string>()): PolicyRule[] {
    seen.add(role.metadata.name!);
    const rules = [...(role.rules ?? [])];
    const selectors = role.aggregationRule?.clusterRoleSelectors ?? [];
    if (!selectors.length) return rules;
    for (const other of this.store.list<AggregatedRole>("clusterroles.rbac.authorization.k8s.io")) {
      if (seen.has(other.metadata.name!)) continue;
      const labels = other.metadata.labels ?? {};
      const picked = selectors.some((sel) =>
        Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
      );
      if (picked) rules.push(...this.clusterRoleRules(other, seen));
    }
    return rules;
  }

  allowed(user: UserInfo, a: Attributes): boolean {
    if (user.groups.includes("system:masters")) return true;
    if (a.path !== undefined && a.verb === "get") {
      // system:discovery / system:public-info-viewer: discovery, version, openapi and health for everyone authenticated.
      if (/^\/(api|apis|version|openapi|healthz|livez|readyz)(\/|$)/.test(a.path)) return true;
    }
    if (
      a.verb === "create" &&
      ((a.apiGroup === "authorization.k8s.io" &&
        (a.resource === "selfsubjectaccessreviews" || a.resource === "selfsubjectrulesreviews")) ||
        (a.apiGroup === "authentication.k8s.io" && a.resource === "selfsubjectreviews"))
    ) {
      return true; // system:basic-user
    }
    return this.rulesFor(user, a.namespace).some((r) => ruleMatches(r, a));
  }

  /** Kubernetes' wording for a denial. */
  static forbiddenMessage(user: UserInfo, a: Attributes): string {
    if (a.path !== undefined)
      return `forbidden: User "${user.username}" cannot ${a.verb} path "${a.path}"`;
    const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const what = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
    const subject = a.name ? `${what} "${a.name}"` : what;
    const scope = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
    return `${subject} is forbidden: User "${user.username}" cannot ${a.verb} resource "${res}" in API group "${a.apiGroup}" ${scope}`;
  }
}

const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];
const COMMON = [
  "pods",
  "pods/log",
  "pods/status",
  "services",
  "endpoints",
  "configmaps",
  "serviceaccounts",
  "events",
  "persistentvolumeclaims",
  "replicationcontrollers",
  "deployments",
  "deployments/scale",
  "deployments/status",
  "replicasets",
  "replicasets/scale",
  "daemonsets",
  "statefulsets",
  "statefulsets/scale",
  "jobs",
  "cronjobs",
  "poddisruptionbudgets",
  "leases",
  "networkpolicies",
  "controllerrevisions",
  "resourcequotas",
  "limitranges",
];
const ALL_GROUPS = [
  "",
  "apps",
  "batch",
  "policy",
  "coordination.k8s.io",
  "networking.k8s.io",
  "events.k8s.io",
];

/** The default ClusterRoles kube-apiserver bootstraps (cluster-admin exactly; admin/edit/view simplified). */
export function bootstrapClusterRoles(): KubeObject[] {
  const cr = (name: string, rules: PolicyRule[], labels: Record<string, string> = {}): KubeObject =>
    ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name, labels: { "kubernetes.io/bootstrapping": "rbac-defaults", ...labels } },
      rules,
      // admin, edit and view take in the ClusterRoles labelled aggregate-to-<name>, as in Kubernetes.
      ...(["admin", "edit", "view"].includes(name)
        ? {
            aggregationRule: {
              clusterRoleSelectors: [
                { matchLabels: { [`rbac.authorization.k8s.io/aggregate-to-${name}`]: "true" } },
              ],
            },
          }
        : {}),
    }) as KubeObject;
  return [
    cr("cluster-admin", [
      { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
      { nonResourceURLs: ["*"], verbs: ["*"] },
    ]),
    cr("admin", [
      { apiGroups: ALL_GROUPS, resources: [...COMMON, "secrets"], verbs: [...READ, ...WRITE] },
      { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"] },
      {
        apiGroups: ["rbac.authorization.k8s.io"],
        resources: ["roles", "rolebindings"],
        verbs: [...READ, ...WRITE],
      },
    ]),
    cr(
      "edit",
      [
        { apiGroups: ALL_GROUPS, resources: [...COMMON, "secrets"], verbs: [...READ, ...WRITE] },
        { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"] },
      ],
      { "rbac.authorization.k8s.io/aggregate-to-admin": "true" },
    ),
    cr("view", [{ apiGroups: ALL_GROUPS, resources: COMMON, verbs: READ }], {
      "rbac.authorization.k8s.io/aggregate-to-edit": "true",
    }),
  ];
}
