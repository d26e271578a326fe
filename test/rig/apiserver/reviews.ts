// The review endpoints (create only, nothing stored): access reviews, rules reviews, token reviews, self reviews.
import type { AnyObj, ServerContext } from "./context.js";
import { pathNotFound } from "./http.js";
import type { Attributes, UserInfo } from "./rbac.js";
import { apiVersionOf, type ResourceInfo } from "./resources.js";

/** What every user may do in discovery and reviews (system:basic-user, system:discovery). */
const BASIC_RESOURCE_RULE = {
  verbs: ["create"],
  apiGroups: ["authorization.k8s.io"],
  resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
};
const BASIC_NON_RESOURCE_RULE = {
  verbs: ["get"],
  nonResourceURLs: [
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/openapi",
    "/openapi/*",
    "/readyz",
    "/version",
    "/version/",
  ],
};

function accessStatus(ctx: ServerContext, spec: AnyObj, u: UserInfo): AnyObj {
  const ra = spec.resourceAttributes as AnyObj | undefined;
  const nra = spec.nonResourceAttributes as AnyObj | undefined;
  const attrs: Attributes = ra
    ? {
        verb: ra.verb ?? "",
        apiGroup: ra.group ?? "",
        resource: ra.resource ?? "",
        ...(ra.subresource ? { subresource: ra.subresource } : {}),
        ...(ra.namespace ? { namespace: ra.namespace } : {}),
        ...(ra.name ? { name: ra.name } : {}),
      }
    : { verb: nra?.verb ?? "", apiGroup: "", resource: "", path: nra?.path ?? "" };
  const allowed = ctx.authorizer.allowed(u, attrs);
  return allowed
    ? {
        allowed: true,
        reason: u.groups.includes("system:masters") ? "" : "RBAC: allowed by a binding",
      }
    : { allowed: false };
}

export function review(
  ctx: ServerContext,
  info: ResourceInfo,
  body: AnyObj,
  user: UserInfo,
): AnyObj {
  const out = {
    ...body,
    apiVersion: apiVersionOf(info),
    kind: info.kind,
    metadata: { ...(body.metadata ?? {}), creationTimestamp: null },
  };
  const spec = (body.spec ?? {}) as AnyObj;
  switch (info.resource) {
    case "selfsubjectaccessreviews":
      return { ...out, status: accessStatus(ctx, spec, user) };
    case "subjectaccessreviews":
      return {
        ...out,
        status: accessStatus(ctx, spec, { username: spec.user ?? "", groups: spec.groups ?? [] }),
      };
    case "selfsubjectrulesreviews": {
      const ns = spec.namespace as string | undefined;
      const master = user.groups.includes("system:masters");
      const rules = master
        ? [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }]
        : ctx.authorizer.rulesFor(user, ns);
      return {
        ...out,
        status: {
          resourceRules: [BASIC_RESOURCE_RULE, ...rules.filter((r) => !r.nonResourceURLs)],
          nonResourceRules: [BASIC_NON_RESOURCE_RULE],
          incomplete: false,
        },
      };
    }
    case "tokenreviews": {
      const u = ctx.tokens.lookup(spec.token ?? "");
      return {
        ...out,
        status: u
          ? {
              authenticated: true,
              user: { username: u.username, groups: u.groups },
              audiences: spec.audiences ?? [],
            }
          : { authenticated: false, error: "invalid bearer token" },
      };
    }
    case "selfsubjectreviews":
      return { ...out, status: { userInfo: { username: user.username, groups: user.groups } } };
  }
  throw pathNotFound();
}
