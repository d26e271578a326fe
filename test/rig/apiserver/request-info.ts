// What a resource request is about (kube-apiserver's RequestInfo): resource, namespace, name, subresource, verb.
import { methodNotAllowed } from "./http.js";
import { findResource, type ResourceInfo } from "./resources.js";

export interface Route {
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Subresources served without a ResourceInfo entry (they are not in discovery under the resource's own kind). */
const EXTRA_SUBRESOURCES: Record<string, string[]> = {
  serviceaccounts: ["token"],
  namespaces: ["finalize"],
};

/** Parses /api/v1/... and /apis/GROUP/VERSION/...; undefined for a path that names no known resource. */
export function parseRoute(path: string): Route | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  const segs = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (segs[0] === "api" && segs[1]) {
    group = "";
    version = segs[1];
    rest = segs.slice(2);
  } else if (segs[0] === "apis" && segs[1] && segs[2]) {
    group = segs[1];
    version = segs[2];
    rest = segs.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (
    rest[0] === "namespaces" &&
    rest.length >= 3 &&
    findResource(group, version, rest[2]!)?.namespaced
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const info = findResource(group, version, rest[0] ?? "");
  if (!info || rest.length > 3) return undefined;
  const name = rest[1];
  const subresource = rest[2];
  if (subresource) {
    const known =
      (info.subresources ?? []).some((s) => s.name === subresource) ||
      (EXTRA_SUBRESOURCES[info.resource] ?? []).includes(subresource);
    if (!known) return undefined;
  }
  return {
    info,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(subresource ? { subresource } : {}),
  };
}

/** The RBAC verb of a request. */
export function verbOf(method: string, route: Route, watch: boolean): string {
  if (route.subresource === "log" && method === "GET") return "get";
  if (method === "GET") return route.name ? "get" : watch ? "watch" : "list";
  if (method === "POST") return "create";
  if (method === "PUT") return "update";
  if (method === "PATCH") return "patch";
  if (method === "DELETE") return route.name ? "delete" : "deletecollection";
  throw methodNotAllowed();
}
