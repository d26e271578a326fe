import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiServer } from "../../rig/apiserver/index.js";
import {
  createPodResolver,
  ownerOf,
  podInfoFromPod,
} from "../../../controller/watcher/pod-resolver.js";
import { ANNOTATION_INJECTED } from "../../../src/names.js";
import { capturingLogger } from "../notify/fixtures.js";
import { CountingKubeConfig, waitUntil } from "./pod-resolver-kube.js";

let server: Awaited<ReturnType<typeof startApiServer>>;
let dir: string;
let kc: CountingKubeConfig;
let api: CoreV1Api;

function pod(name: string, node: string, over: Partial<V1Pod["metadata"]> = {}): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "shop",
      labels: { app: "api", "pod-template-hash": "5d8c9f7b4" },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: "api-5d8c9f7b4",
          uid: "rs-uid",
          controller: true,
        },
      ],
      annotations: {
        [ANNOTATION_INJECTED]: JSON.stringify({
          path: "/corefile",
          containers: ["app"],
          initContainers: ["setup"],
        }),
      },
      ...over,
    },
    spec: {
      nodeName: node,
      initContainers: [{ name: "setup", image: "busybox:1.36", command: ["true"] }],
      containers: [
        { name: "app", image: "registry.example/api:1.2", command: ["sleep", "3600"] },
        { name: "sidecar", image: "envoy:1.30", command: ["sleep", "3600"] },
      ],
    },
  };
}

const getsOf = (name: string) => (r: { method: string; url: string }) =>
  r.method === "GET" && new URL(r.url).pathname === `/api/v1/namespaces/shop/pods/${name}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "coredog-podresolver-"));
  server = await startApiServer({ dir });
  kc = new CountingKubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  api = kc.makeApiClient(CoreV1Api);
  await api.createNamespace({ body: { metadata: { name: "shop" } } }).catch(() => undefined);
  await api.createNamespacedPod({ namespace: "shop", body: pod("api-1", "node-1") });
  await api.createNamespacedPod({ namespace: "shop", body: pod("api-2", "node-2") });
  await api.createNamespacedPod({ namespace: "shop", body: pod("api-3", "node-2") });
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("pod resolver against the rig's API server", () => {
  it("answers pods of its node from the watch cache without asking the API again", async () => {
    const { log } = capturingLogger();
    const r = createPodResolver(kc, "node-1", log);
    try {
      await waitUntil(() => r.ready(), 10_000, "cache sync");
      const list = kc.requests.find((q) => new URL(q.url).pathname === "/api/v1/pods");
      expect(new URL(list!.url).searchParams.get("fieldSelector")).toBe("spec.nodeName=node-1");
      const before = kc.requests.length;
      const info = await r.resolve("shop", "api-1");
      for (let i = 0; i < 200; i++) await r.resolve("shop", "api-1");
      expect(kc.requests.length).toBe(before); // a crash storm costs the API server nothing
      expect(info).toMatchObject({
        namespace: "shop",
        name: "api-1",
        node: "node-1",
        containers: ["setup", "app", "sidecar"],
        initContainers: ["setup"],
        images: { setup: "busybox:1.36", app: "registry.example/api:1.2", sidecar: "envoy:1.30" },
        owner: { kind: "Deployment", name: "api" },
        targetedContainers: ["setup", "app"],
      });
      expect(info?.uid).toMatch(/.+/);
      expect(info?.annotations?.[ANNOTATION_INJECTED]).toContain("/corefile");
    } finally {
      r.stop();
    }
  });

  it("falls back to one deduplicated GET for a pod not in the cache, and remembers a missing pod", async () => {
    const { log } = capturingLogger();
    const r = createPodResolver(kc, "node-1", log, { negativeMs: 60_000 });
    try {
      await waitUntil(() => r.ready(), 10_000, "cache sync");
      const infos = await Promise.all(Array.from({ length: 10 }, () => r.resolve("shop", "api-2")));
      expect(infos.every((i) => i?.name === "api-2" && i.node === "node-2")).toBe(true);
      expect(kc.count(getsOf("api-2"))).toBe(1);
      await r.resolve("shop", "api-2");
      expect(kc.count(getsOf("api-2"))).toBe(1);

      expect(await r.resolve("shop", "nope")).toBeUndefined();
      expect(await r.resolve("shop", "nope")).toBeUndefined();
      expect(kc.count(getsOf("nope"))).toBe(1);
    } finally {
      r.stop();
    }
  });

  it("keeps a deleted pod resolvable for a while (tombstone), then forgets it", async () => {
    const { log } = capturingLogger();
    await api.createNamespacedPod({ namespace: "shop", body: pod("crashy", "node-1") });
    const r = createPodResolver(kc, "node-1", log, { tombstoneMs: 600, negativeMs: 0 });
    try {
      await waitUntil(() => r.ready(), 10_000, "cache sync");
      const live = await r.resolve("shop", "crashy");
      expect(live?.name).toBe("crashy");
      await api.deleteNamespacedPod({ namespace: "shop", name: "crashy", gracePeriodSeconds: 0 });
      await waitUntil(
        async () =>
          (await api.listNamespacedPod({ namespace: "shop" })).items.every(
            (p) => p.metadata?.name !== "crashy",
          ),
        5000,
        "pod deleted",
      );
      await new Promise((res) => setTimeout(res, 150)); // the watch delivers DELETED
      const gone = await r.resolve("shop", "crashy");
      expect(gone).toEqual(live);
      expect(kc.count(getsOf("crashy"))).toBe(0);
      await new Promise((res) => setTimeout(res, 700));
      expect(await r.resolve("shop", "crashy")).toBeUndefined();
      expect(kc.count(getsOf("crashy"))).toBe(1);
    } finally {
      r.stop();
    }
  });

  it("sees a pod created after the sync through the watch, without a GET", async () => {
    const { log, lines } = capturingLogger();
    const r = createPodResolver(kc, "node-1", log);
    try {
      await waitUntil(() => r.ready(), 10_000, "cache sync");
      expect(lines.some((l) => l.includes("pod cache synced"))).toBe(true);
      await api.createNamespacedPod({ namespace: "shop", body: pod("late", "node-1") });
      await new Promise((res) => setTimeout(res, 300));
      expect((await r.resolve("shop", "late"))?.name).toBe("late");
      expect(kc.count(getsOf("late"))).toBe(0);
    } finally {
      r.stop();
    }
  });

  it("never throws when the API server is unreachable: not ready, undefined, an error logged", async () => {
    const { log, lines } = capturingLogger();
    const closed = createServer();
    await new Promise<void>((res) => closed.listen(0, "127.0.0.1", res));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((res) => closed.close(() => res()));
    const bad = new KubeConfig();
    bad.loadFromOptions({
      clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${port}` })),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    const r = createPodResolver(bad, "node-1", log);
    try {
      expect(await r.resolve("shop", "api-1")).toBeUndefined();
      expect(r.ready()).toBe(false);
      await waitUntil(
        () => lines.some((l) => l.includes("pod watch error")),
        5000,
        "watch error log",
      );
      expect(lines.some((l) => l.includes("pod lookup error: shop/api-1"))).toBe(true);
    } finally {
      r.stop();
    }
  });
});

describe("owner and PodInfo mapping", () => {
  it("reports a ReplicaSet made by a Deployment as the Deployment, other owners as they are", () => {
    expect(ownerOf(pod("a", "n"))).toEqual({ kind: "Deployment", name: "api" });
    expect(
      ownerOf(
        pod("a", "n", {
          labels: {},
          ownerReferences: [
            {
              apiVersion: "apps/v1",
              kind: "ReplicaSet",
              name: "plain-rs",
              uid: "u",
              controller: true,
            },
          ],
        }),
      ),
    ).toEqual({ kind: "ReplicaSet", name: "plain-rs" });
    expect(
      ownerOf(
        pod("a", "n", {
          ownerReferences: [
            { apiVersion: "apps/v1", kind: "StatefulSet", name: "db", uid: "u", controller: true },
          ],
        }),
      ),
    ).toEqual({ kind: "StatefulSet", name: "db" });
    expect(ownerOf(pod("a", "n", { ownerReferences: [] }))).toBeUndefined();
  });

  it("ignores an injected annotation it cannot read", () => {
    const info = podInfoFromPod(
      pod("a", "n", { annotations: { [ANNOTATION_INJECTED]: "garbage" } }),
    );
    expect(info.targetedContainers).toBeUndefined();
    expect(info.containers).toEqual(["setup", "app", "sidecar"]);
  });
});
