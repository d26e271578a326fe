import { describe, expect, it } from "vitest";
import { parseRoute, verbOf } from "./apiserver/request-info.js";

const info = (path: string) => {
  const r = parseRoute(path);
  return r && { ...r, info: `${r.info.group}/${r.info.version}/${r.info.resource}` };
};

describe("rig API server request info", () => {
  it("reads group, version, resource, namespace, name and subresource from the path", () => {
    expect(info("/api/v1/namespaces/ns1/pods/p/log")).toEqual({
      info: "/v1/pods",
      namespace: "ns1",
      name: "p",
      subresource: "log",
    });
    expect(info("/apis/apps/v1/namespaces/ns1/deployments")).toEqual({
      info: "apps/v1/deployments",
      namespace: "ns1",
    });
    expect(info("/apis/apps/v1/deployments")).toEqual({ info: "apps/v1/deployments" });
    // A namespace itself, and its finalize subresource, which has no entry in the kind's subresources.
    expect(info("/api/v1/namespaces/ns1")).toEqual({ info: "/v1/namespaces", name: "ns1" });
    expect(info("/api/v1/namespaces/ns1/finalize")).toEqual({
      info: "/v1/namespaces",
      name: "ns1",
      subresource: "finalize",
    });
    expect(info("/api/v1/namespaces/ns1/serviceaccounts/default/token")?.subresource).toBe("token");
  });

  it("names no resource for unknown kinds, subresources, versions and cluster-scoped kinds under a namespace", () => {
    expect(parseRoute("/api/v1/namespaces/ns1/widgets")).toBeUndefined();
    expect(parseRoute("/api/v1/namespaces/ns1/pods/p/portforward")).toBeUndefined();
    expect(parseRoute("/api/v1/namespaces/ns1/pods/p/attach")).toBeUndefined();
    expect(parseRoute("/apis/apps/v2/deployments")).toBeUndefined();
    expect(parseRoute("/api/v1/namespaces/ns1/nodes/n1")).toBeUndefined();
    expect(parseRoute("/version")).toBeUndefined();
  });

  it("maps methods to RBAC verbs", () => {
    const one = parseRoute("/api/v1/namespaces/ns1/pods/p")!;
    const all = parseRoute("/api/v1/namespaces/ns1/pods")!;
    const log = parseRoute("/api/v1/namespaces/ns1/pods/p/log")!;
    expect(verbOf("GET", one, false)).toBe("get");
    expect(verbOf("GET", all, false)).toBe("list");
    expect(verbOf("GET", all, true)).toBe("watch");
    expect(verbOf("GET", log, false)).toBe("get");
    expect(verbOf("POST", all, false)).toBe("create");
    expect(verbOf("PUT", one, false)).toBe("update");
    expect(verbOf("PATCH", one, false)).toBe("patch");
    expect(verbOf("DELETE", one, false)).toBe("delete");
    expect(verbOf("DELETE", all, false)).toBe("deletecollection");
    expect(() => verbOf("OPTIONS", one, false)).toThrow(
      "the server does not allow this method on the requested resource",
    );
  });
});
