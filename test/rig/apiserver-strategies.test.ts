// The kinds' own write-path rules and the POST subresources, against the real kubectl.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiServer, type ApiServer } from "./apiserver/index.js";
import { kubectl } from "./apiserver/testing.js";

let api: ApiServer;
let dir: string;
const k = (args: string[], input?: string) => kubectl(api.kubeconfigPath, args, input);
const json = async (args: string[], input?: string) => {
  const r = await k([...args, "-o", "json"], input);
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
};

const pod = (name: string, spec: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { containers: [{ name: "c", image: "busybox" }], ...spec },
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rig-apiserver-strategies-"));
  api = await startApiServer({ dir });
});

afterAll(async () => {
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("rig API server: per-kind rules", () => {
  it("pods: the ServiceAccount admission refuses a missing account and mounts the token of an existing one", async () => {
    const missing = await k(["create", "-f", "-"], pod("p-nosa", { serviceAccountName: "ghost" }));
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(
      'pods "p-nosa" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found',
    );
    const p = await json(["create", "-f", "-"], pod("p-sa"));
    const volume = p.spec.volumes.find((v: { name: string }) =>
      v.name.startsWith("kube-api-access-"),
    );
    expect(volume.name).toMatch(/^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(p.spec.containers[0].volumeMounts).toContainEqual({
      name: volume.name,
      readOnly: true,
      mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
    });
  });

  it("services: distinct cluster IPs from 10.96.0.0/16, none for headless services", async () => {
    const svc = (name: string, clusterIP?: string) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name },
        spec: { ports: [{ port: 80 }], ...(clusterIP ? { clusterIP } : {}) },
      });
    const a = await json(["create", "-f", "-"], svc("svc-a"));
    const b = await json(["create", "-f", "-"], svc("svc-b"));
    const headless = await json(["create", "-f", "-"], svc("svc-h", "None"));
    expect(a.spec.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
    expect(b.spec.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
    expect(new Set([a.spec.clusterIP, b.spec.clusterIP, "10.96.0.1"]).size).toBe(3);
    expect(a.spec.clusterIPs).toEqual([a.spec.clusterIP]);
    expect(headless.spec.clusterIPs).toEqual(["None"]);
  });

  it("namespaces: a new one gets its default ServiceAccount and kube-root-ca.crt; the built-in ones cannot be deleted", async () => {
    expect((await k(["create", "namespace", "fresh"])).code).toBe(0);
    expect((await k(["get", "serviceaccount", "default", "-n", "fresh"])).code).toBe(0);
    const ca = await json(["get", "configmap", "kube-root-ca.crt", "-n", "fresh"]);
    expect(ca.data["ca.crt"]).toBe(api.caPem);
    const refused = await k(["delete", "namespace", "kube-system"]);
    expect(refused.stderr).toContain(
      'namespaces "kube-system" is forbidden: this namespace may not be deleted',
    );
  });

  it("finalizers hold a deleted object until they are removed; a dry-run delete leaves it", async () => {
    const cm = JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "held", finalizers: ["example.com/hold"] },
    });
    expect((await k(["create", "-f", "-"], cm)).code).toBe(0);
    expect((await k(["delete", "configmap", "held", "--dry-run=server"])).code).toBe(0);
    expect((await json(["get", "configmap", "held"])).metadata.deletionTimestamp).toBeUndefined();
    expect((await k(["delete", "configmap", "held", "--wait=false"])).code).toBe(0);
    const held = await json(["get", "configmap", "held"]);
    expect(held.metadata.deletionTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const patch = '{"metadata":{"finalizers":null}}';
    expect((await k(["patch", "configmap", "held", "--type=merge", "-p", patch])).code).toBe(0);
    // The store removes an object whose last finalizer goes while it is being deleted.
    const gone = await k(["get", "configmap", "held"]);
    expect(gone.stderr).toContain('configmaps "held" not found');
  });
});

describe("rig API server: POST subresources", () => {
  it("serviceaccounts/token issues a token that a TokenReview authenticates", async () => {
    const token = await k(["create", "token", "default", "--duration=10m"]);
    expect(token.code).toBe(0);
    // Review kinds are not in /openapi/v3, so kubectl can only skip client-side validation for them.
    const review = await json(
      ["create", "--validate=false", "-f", "-"],
      JSON.stringify({
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token: token.stdout.trim() },
      }),
    );
    expect(review.status.authenticated).toBe(true);
    expect(review.status.user.username).toBe("system:serviceaccount:default:default");
  });

  it("pods/binding assigns a node once; pods/eviction deletes", async () => {
    expect((await k(["create", "-f", "-"], pod("p-bind"))).code).toBe(0);
    const binding = (node: string) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name: "p-bind" },
        target: { kind: "Node", name: node },
      });
    const path = "/api/v1/namespaces/default/pods/p-bind/binding";
    expect((await k(["create", "--raw", path, "-f", "-"], binding("n1"))).code).toBe(0);
    const bound = await json(["get", "pod", "p-bind"]);
    expect(bound.spec.nodeName).toBe("n1");
    expect(bound.status.conditions).toContainEqual(
      expect.objectContaining({ type: "PodScheduled", status: "True" }),
    );
    const again = await k(["create", "--raw", path, "-f", "-"], binding("n2"));
    expect(again.stderr).toContain('pod p-bind is already assigned to node "n1"');

    expect((await k(["create", "-f", "-"], pod("p-evict"))).code).toBe(0);
    const eviction = JSON.stringify({
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: "p-evict" },
    });
    const evicted = await k(
      ["create", "--raw", "/api/v1/namespaces/default/pods/p-evict/eviction", "-f", "-"],
      eviction,
    );
    expect(evicted.code).toBe(0);
    expect((await k(["get", "pod", "p-evict"])).stderr).toContain('pods "p-evict" not found');
  });
});
