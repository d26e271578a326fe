// CustomResourceDefinitions on the rig's API server, judged by the real kubectl: the CoreDump definition that
// manifests/ ships, registered, discovered, served with its printer columns, validated, watched and authorized.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiServer, type ApiServer } from "./apiserver/index.js";
import { kubectl, kubectlStream } from "./apiserver/testing.js";

const CRD = new URL("../../manifests/base/coredump-crd.yaml", import.meta.url).pathname;
const SHA = "a".repeat(64);

let api: ApiServer;
let dir: string;
const k = (args: string[], input?: string) => kubectl(api.kubeconfigPath, args, input);

const record = (name: string, ns: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: "coredog.io/v1alpha1",
    kind: "CoreDump",
    metadata: { name, namespace: ns, labels: { app: name.startsWith("web") ? "web" : "db" } },
    spec: {
      pod: { name: `${name}-pod`, uid: "u-1" },
      node: "node-a",
      container: "app",
      image: "busybox:1.36",
      crashedAt: "2026-12-01T10:00:00Z",
      signal: { number: 11, name: "SIGSEGV" },
      fingerprint: { id: SHA, short: SHA.slice(0, 12) },
      storage: { key: `cores/${ns}/${name}`, size: 4096, sha256: SHA, compression: "zstd" },
      ...extra,
    },
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rig-crd-"));
  api = await startApiServer({ dir });
  await k(["create", "ns", "shop"]);
  await k(["create", "ns", "other"]);
});

afterAll(async () => {
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("CustomResourceDefinitions", () => {
  it("registers the CoreDump definition and serves it in discovery under its short name", async () => {
    const applied = await k(["apply", "-f", CRD]);
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toContain(
      "customresourcedefinition.apiextensions.k8s.io/coredumps.coredog.io created",
    );
    const est = await k([
      "wait",
      "--for=condition=Established",
      "crd/coredumps.coredog.io",
      "--timeout=10s",
    ]);
    expect(est.code).toBe(0);
    const res = await k(["api-resources", "--api-group=coredog.io"]);
    expect(res.stdout).toMatch(/coredumps\s+cdump\s+coredog.io\/v1alpha1\s+true\s+CoreDump/);
    const empty = await k(["get", "cdump", "-n", "shop"]);
    expect(empty.stderr).toContain("No resources found in shop namespace.");
  });

  it("creates, prints columns, selects by label, and prunes unknown fields", async () => {
    expect((await k(["create", "-f", "-"], record("web-1", "shop", { bogus: 1 }))).code).toBe(0);
    expect((await k(["create", "-f", "-"], record("db-1", "shop"))).code).toBe(0);
    const table = await k(["get", "coredumps", "-n", "shop"]);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+POD\s+CONTAINER\s+SIGNAL\s+FINGERPRINT\s+SIZE\s+CRASHED$/);
    expect(lines[2]).toMatch(
      /^web-1\s+web-1-pod\s+app\s+SIGSEGV\s+aaaaaaaaaaaa\s+4096\s+\d+d\d*h?$/,
    );
    const wide = await k(["get", "cdump", "-n", "shop", "-o", "wide"]);
    expect(wide.stdout.split("\n")[0]).toMatch(/WORKLOAD\s+NODE\s+IMAGE\s+CRASHED/);
    expect(wide.stdout).toContain("node-a");
    const selected = await k(["get", "cdump", "-n", "shop", "-l", "app=web", "-o", "name"]);
    expect(selected.stdout.trim()).toBe("coredump.coredog.io/web-1");
    const json = JSON.parse(
      (await k(["get", "cdump", "web-1", "-n", "shop", "-o", "json"])).stdout,
    );
    expect(json.spec.bogus).toBeUndefined();
    expect(json.metadata.generation).toBe(1);
    const described = await k(["describe", "cdump", "web-1", "-n", "shop"]);
    expect(described.stdout).toMatch(/Kind:\s+CoreDump/);
    expect(described.stdout).toMatch(/sha256:\s+a{64}/);
  });

  it("refuses what the structural schema forbids, worded like kube-apiserver", async () => {
    const bad = await k(
      ["create", "-f", "-"],
      record("web-bad", "shop", {
        storage: { key: "k", size: -1, sha256: "nothex", compression: "lz4" },
        signal: { number: "eleven" },
      }),
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('The CoreDump "web-bad" is invalid');
    expect(bad.stderr).toContain("spec.storage.size: Invalid value: -1");
    expect(bad.stderr).toContain('spec.storage.sha256: Invalid value: "nothex"');
    expect(bad.stderr).toContain('spec.storage.compression: Unsupported value: "lz4"');
    expect(bad.stderr).toContain("spec.signal.number in body must be of type integer");
    const missing = await k(
      ["create", "-f", "-"],
      JSON.stringify({
        apiVersion: "coredog.io/v1alpha1",
        kind: "CoreDump",
        metadata: { name: "m", namespace: "shop" },
        spec: { node: "n" },
      }),
    );
    expect(missing.stderr).toContain("spec.pod: Required value");
    expect(missing.stderr).toContain("spec.storage: Required value");
  });

  it("changes status only through the status subresource", async () => {
    const st = JSON.stringify({
      status: { download: { url: "https://x/y", expiresAt: "2026-12-01T11:00:00Z" } },
    });
    await k(["patch", "cdump", "web-1", "-n", "shop", "--type=merge", "-p", st]);
    let o = JSON.parse((await k(["get", "cdump", "web-1", "-n", "shop", "-o", "json"])).stdout);
    expect(o.status).toBeUndefined();
    const r = await k([
      "patch",
      "cdump",
      "web-1",
      "-n",
      "shop",
      "--subresource=status",
      "--type=merge",
      "-p",
      st,
    ]);
    expect(r.stderr).toBe("");
    o = JSON.parse((await k(["get", "cdump", "web-1", "-n", "shop", "-o", "json"])).stdout);
    expect(o.status.download.url).toBe("https://x/y");
    expect(o.metadata.generation).toBe(1);
    const badStatus = await k([
      "patch",
      "cdump",
      "web-1",
      "-n",
      "shop",
      "--subresource=status",
      "--type=merge",
      "-p",
      '{"status":{"download":{"expiresAt":"soon"}}}',
    ]);
    expect(badStatus.stderr).toContain('status.download.expiresAt: Invalid value: "soon"');
  });

  it("watches with a label selector", async () => {
    const w = kubectlStream(api.kubeconfigPath, [
      "get",
      "cdump",
      "-n",
      "shop",
      "-l",
      "app=web",
      "-w",
      "-o",
      "name",
    ]);
    try {
      await w.waitFor(/web-1/);
      await k(["create", "-f", "-"], record("db-2", "shop"));
      await k(["create", "-f", "-"], record("web-2", "shop"));
      await w.waitFor(/web-2/);
      expect(w.output()).not.toContain("db-2");
    } finally {
      w.child.kill();
    }
  });

  it("aggregates ClusterRoles labelled aggregate-to-view into view", async () => {
    const role = JSON.stringify({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: {
        name: "cdump-view",
        labels: { "rbac.authorization.k8s.io/aggregate-to-view": "true" },
      },
      rules: [
        { apiGroups: ["coredog.io"], resources: ["coredumps"], verbs: ["get", "list", "watch"] },
      ],
    });
    await k(["apply", "-f", "-"], role);
    await k([
      "create",
      "rolebinding",
      "alice-view",
      "-n",
      "shop",
      "--clusterrole=view",
      "--user=alice",
    ]);
    const alice = api.kubeconfigFor("alice");
    const own = await kubectl(alice, ["get", "cdump", "-n", "shop", "-o", "name"]);
    expect(own.stdout).toContain("coredump.coredog.io/web-1");
    const other = await kubectl(alice, ["get", "cdump", "-n", "other"]);
    expect(other.stderr).toContain(
      'coredumps.coredog.io is forbidden: User "alice" cannot list resource "coredumps" in API group "coredog.io" in the namespace "other"',
    );
    const write = await kubectl(alice, ["delete", "cdump", "web-1", "-n", "shop"]);
    expect(write.stderr).toContain("cannot delete resource");
  });

  it("deleting the definition deletes its objects and stops serving the kind", async () => {
    expect((await k(["delete", "crd", "coredumps.coredog.io"])).code).toBe(0);
    const gone = await k(["get", "cdump", "-n", "shop"]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(
      /the server doesn't have a resource type "cdump"|the server could not find the requested resource/,
    );
    await k(["apply", "-f", CRD]);
    const empty = await k(["get", "cdump", "-A"]);
    expect(empty.stderr).toContain("No resources found");
  });
});
