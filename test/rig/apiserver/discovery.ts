// The non-resource paths: version, health, API discovery (/api, /apis, resource lists) and /openapi.
import type { AnyObj } from "./context.js";
import { openapiGroupVersion, openapiIndex } from "./openapi.js";
import { ALL_VERBS, groupVersions, RESOURCES, REVIEWS } from "./resources.js";

const VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-coredog-rig",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "go1.23",
  compiler: "gc",
  platform: "linux/amd64",
};

/**
 * Returns the body for a non-resource path, null for an unknown non-resource path, undefined for resource paths.
 * `address` is the server's "127.0.0.1:PORT" for /api's serverAddressByClientCIDRs.
 */
export function nonResource(path: string, address: string): unknown | null | undefined {
  if (path === "/version") return VERSION;
  if (path === "/healthz" || path === "/livez" || path === "/readyz") return "ok";
  if (path === "/openapi/v3") return openapiIndex();
  if (path.startsWith("/openapi/v3/"))
    return openapiGroupVersion(path.slice("/openapi/v3/".length));
  if (path.startsWith("/openapi")) return null;
  if (path === "/api") {
    return {
      kind: "APIVersions",
      versions: ["v1"],
      serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: address }],
    };
  }
  if (path === "/api/v1") return resourceList("", "v1");
  if (path === "/apis") {
    return {
      kind: "APIGroupList",
      apiVersion: "v1",
      groups: groupVersions().map((g) => apiGroup(g.group, g.versions)),
    };
  }
  const m = path.match(/^\/apis\/([^/]+)(?:\/([^/]+))?$/);
  if (m) {
    const g = groupVersions().find((x) => x.group === m[1]);
    if (!g) return null;
    if (!m[2]) return { kind: "APIGroup", apiVersion: "v1", ...apiGroup(g.group, g.versions) };
    if (!g.versions.includes(m[2])) return null;
    return resourceList(g.group, m[2]);
  }
  if (path.startsWith("/api/") || path.startsWith("/apis/")) return undefined;
  return null;
}

function apiGroup(group: string, versions: string[]): AnyObj {
  const vs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions: vs, preferredVersion: vs[0] };
}

/** The APIResourceList of one group/version, subresources included. */
function resourceList(group: string, version: string): AnyObj {
  const resources: AnyObj[] = [];
  for (const i of [...RESOURCES, ...REVIEWS]) {
    if (i.group !== group || i.version !== version) continue;
    const review = REVIEWS.includes(i);
    resources.push({
      name: i.resource,
      singularName: i.singular,
      namespaced: i.namespaced,
      kind: i.kind,
      verbs: review ? ["create"] : ALL_VERBS,
      ...(i.shortNames ? { shortNames: i.shortNames } : {}),
      ...(i.categories ? { categories: i.categories } : {}),
      storageVersionHash: Buffer.from(`${group}/${version}/${i.resource}`)
        .toString("base64")
        .slice(0, 11),
    });
    for (const s of i.subresources ?? []) {
      resources.push({
        name: `${i.resource}/${s.name}`,
        singularName: "",
        namespaced: i.namespaced,
        ...(s.kind === "Scale" ? { group: "autoscaling", version: "v1" } : {}),
        ...(s.kind === "Eviction" ? { group: "policy", version: "v1" } : {}),
        kind: s.kind,
        verbs: s.verbs,
      });
    }
    if (i.resource === "serviceaccounts") {
      resources.push({
        name: "serviceaccounts/token",
        singularName: "",
        namespaced: true,
        group: "authentication.k8s.io",
        version: "v1",
        kind: "TokenRequest",
        verbs: ["create"],
      });
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}
