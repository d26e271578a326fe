// /openapi/v3 without schemas.
import type { AnyObj } from "./context.js";
import { groupVersions, RESOURCES, REVIEWS } from "./resources.js";

/**
 * OpenAPI v3 without schemas: just the PATCH operations with their GVK and the fieldValidation parameter, which
 * is what kubectl looks at to decide that the server validates (so it does not need client-side schemas), and
 * without strategic-merge content so that `kubectl apply` computes patches from its built-in types.
 */
export function openapiIndex(): AnyObj {
  const paths: AnyObj = { "api/v1": { serverRelativeURL: "/openapi/v3/api/v1?hash=rig1" } };
  for (const g of groupVersions())
    for (const v of g.versions)
      paths[`apis/${g.group}/${v}`] = {
        serverRelativeURL: `/openapi/v3/apis/${g.group}/${v}?hash=rig1`,
      };
  return { paths };
}

/** The document for "api/v1" or "apis/GROUP/VERSION"; null for a group/version the rig does not serve. */
export function openapiGroupVersion(gv: string): AnyObj | null {
  const m = gv.match(/^(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/);
  if (!m) return null;
  const group = m[2] ?? "";
  const version = m[1] ?? m[3]!;
  const infos = RESOURCES.filter(
    (i) => i.group === group && i.version === version && !REVIEWS.includes(i),
  );
  if (!infos.length) return null;
  const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const params = ["dryRun", "fieldManager", "fieldValidation", "force", "pretty"].map((name) => ({
    name,
    in: "query",
    schema: { type: "string", uniqueItems: true },
  }));
  const paths: AnyObj = {};
  for (const i of infos) {
    const item = i.namespaced
      ? `${prefix}/namespaces/{namespace}/${i.resource}/{name}`
      : `${prefix}/${i.resource}/{name}`;
    paths[item] = {
      patch: {
        parameters: params,
        operationId: `patch${i.kind}`,
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": { group, version, kind: i.kind },
        requestBody: {
          content: {
            "application/json-patch+json": { schema: { type: "object" } },
            "application/merge-patch+json": { schema: { type: "object" } },
          },
          required: true,
        },
        responses: { "200": { description: "OK" } },
      },
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths,
    components: { schemas: {} },
  };
}
