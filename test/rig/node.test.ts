// The node against the rig's API server: real pods, real processes, real core dumps, real kubectl.
import { CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORE_PATTERN } from "../../src/names.js";
import { startApiServer, type ApiServer } from "./apiserver/index.js";
import { acquireCorePattern, canDumpCores, corePatternState } from "./core-pattern.js";
import { startNode, type RigNode } from "./node/index.js";

const CHECKOUT = join(import.meta.dirname, "..", "..");

describe("rig node (kubelet) against the rig API server", () => {
  let dir: string;
  let api: ApiServer;
  let node: RigNode;
  let core: CoreV1Api;
  let releaseCorePattern: (() => Promise<void>) | undefined;
  let patternBefore: ReturnType<typeof corePatternState>;

  beforeAll(async () => {
    const ok = canDumpCores();
    if (!ok.ok)
      throw new Error(`the node needs root, unshare and a writable core_pattern: ${ok.why}`);
    dir = mkdtempSync(join(tmpdir(), "rig-node-"));
    patternBefore = corePatternState();
    releaseCorePattern = await acquireCorePattern();
    api = await startApiServer({ dir });
    node = await startNode({
      name: "node-1",
      kubeconfigPath: api.kubeconfigPath,
      dir,
      hostRoot: join(dir, "nodes", "node-1", "root"),
      checkoutDir: CHECKOUT,
      saToken: (ns, sa) => api.serviceAccountToken(ns, sa),
    });
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    core = kc.makeApiClient(CoreV1Api);
  });

  afterAll(async () => {
    await node?.stop();
    await api?.stop();
    await releaseCorePattern?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function create(pod: V1Pod): Promise<void> {
    await core.createNamespacedPod({
      namespace: "default",
      body: {
        ...pod,
        spec: { nodeName: "node-1", ...pod.spec!, containers: pod.spec!.containers },
      },
    });
  }

  async function waitPod(
    name: string,
    what: string,
    pred: (p: V1Pod) => boolean,
    timeoutMs = 15_000,
  ): Promise<V1Pod> {
    const end = Date.now() + timeoutMs;
    let last: V1Pod | undefined;
    for (;;) {
      try {
        last = await core.readNamespacedPod({ namespace: "default", name });
        if (pred(last)) return last;
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
      if (Date.now() > end)
        throw new Error(
          `pod ${name}: timed out waiting for ${what}; status ${JSON.stringify(last?.status)}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  // Async: the API server runs in this process.
  async function kubectl(...args: string[]): Promise<string> {
    const { stdout } = await promisify(execFile)(
      "kubectl",
      ["--kubeconfig", api.kubeconfigPath, ...args],
      {
        encoding: "utf8",
        timeout: 30_000,
      },
    );
    return stdout;
  }

  it("registers a Ready node with addresses and labels", async () => {
    const n = await core.readNode({ name: "node-1" });
    expect(n.metadata?.labels).toMatchObject({
      "kubernetes.io/hostname": "node-1",
      "kubernetes.io/os": "linux",
    });
    expect(n.status?.addresses).toEqual([
      { type: "InternalIP", address: "127.0.0.1" },
      { type: "Hostname", address: "node-1" },
    ]);
    expect(n.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(await kubectl("get", "nodes")).toMatch(/node-1\s+Ready/);
  });

  it("a crash in a pod leaves a real ELF core via hostPath + subPathExpr; the status shows the signal", async () => {
    expect(readFileSync("/proc/sys/kernel/core_pattern", "utf8").trim()).toBe(CORE_PATTERN);
    await create({
      metadata: { name: "crasher" },
      spec: {
        restartPolicy: "Never",
        containers: [
          {
            name: "app",
            image: "debian:12",
            // Kubernetes reduces $$ to $ in command/args, so the shell's $$ is written $$$$ (as in a real pod spec).
            command: [
              "/bin/sh",
              "-c",
              "echo pid=$$$$ ns=$COREDOG_POD_NAMESPACE; ulimit -c unlimited; kill -SEGV $$$$",
            ],
            env: [
              {
                name: "COREDOG_POD_NAMESPACE",
                valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
              },
              { name: "COREDOG_POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            ],
            volumeMounts: [
              {
                name: "coredog-dumps",
                mountPath: "/corefile",
                subPathExpr: "$(COREDOG_POD_NAMESPACE)/$(COREDOG_POD_NAME)",
              },
            ],
          },
        ],
        volumes: [
          {
            name: "coredog-dumps",
            hostPath: { path: "/data/coredog-system/dumps", type: "DirectoryOrCreate" },
          },
        ],
      },
    });
    const p = await waitPod("crasher", "termination", (x) => x.status?.phase === "Failed");
    const t = p.status?.containerStatuses?.[0]?.state?.terminated;
    expect(t).toMatchObject({ exitCode: 139, signal: 11, reason: "Error" });
    expect(p.status?.podIP).toMatch(new RegExp(`^${node.podIPBase.replace(/\./g, "\\.")}\\.\\d+$`));
    expect(p.status?.hostIP).toBe("127.0.0.1");

    const logs = await kubectl("logs", "crasher");
    const pid = /pid=(\d+) ns=default/.exec(logs)?.[1];
    expect(pid).toBeDefined();
    const dumps = join(node.hostRoot, "data/coredog-system/dumps/default/crasher");
    const files = readdirSync(dumps);
    expect(files).toEqual([
      expect.stringMatching(new RegExp(`^core\\.sh\\.${pid}\\.[^.]+\\.\\d+$`)),
    ]);
    const fd = openSync(join(dumps, files[0]!), "r");
    const head = Buffer.alloc(18);
    readSync(fd, head, 0, 18, 0);
    closeSync(fd);
    expect(head.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    expect(head.readUInt16LE(16)).toBe(4); // ET_CORE
  });

  it("refreshes a configMap volume when the ConfigMap changes (..data swap)", async () => {
    await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "settings" }, data: { "config.yaml": "v: 1\n" } },
    });
    await create({
      metadata: { name: "reader" },
      spec: {
        containers: [
          {
            name: "r",
            image: "debian:12",
            command: ["/bin/sh", "-c", "while :; do cat /etc/cfg/config.yaml; sleep 0.1; done"],
            volumeMounts: [{ name: "cfg", mountPath: "/etc/cfg" }],
          },
        ],
        volumes: [{ name: "cfg", configMap: { name: "settings" } }],
      },
    });
    await waitPod(
      "reader",
      "running",
      (x) => x.status?.containerStatuses?.[0]?.state?.running !== undefined,
    );
    await core.patchNamespacedConfigMap({
      namespace: "default",
      name: "settings",
      body: [{ op: "replace", path: "/data/config.yaml", value: "v: 2\n" }],
    });
    const log = join(dir, "logs", "default", "reader", "r.log");
    const end = Date.now() + 8000;
    while (!readFileSync(log, "utf8").includes("v: 2") && Date.now() < end)
      await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(log, "utf8")).toContain("v: 2");
  });

  it("restarts with back-off, probes readiness over the pod IP, and deletes gracefully", async () => {
    await create({
      metadata: { name: "flaky" },
      spec: {
        restartPolicy: "Always",
        containers: [
          { name: "f", image: "debian:12", command: ["/bin/sh", "-c", "echo run; exit 2"] },
        ],
      },
    });
    await create({
      metadata: { name: "web" },
      spec: {
        terminationGracePeriodSeconds: 3,
        containers: [
          {
            name: "w",
            image: "python:3",
            command: [
              "/bin/sh",
              "-c",
              "trap 'echo got-term; exit 0' TERM; sleep 0.5; python3 -m http.server --bind $(POD_IP) 8080 & wait",
            ],
            env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
            ports: [{ name: "http", containerPort: 8080 }],
            readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 1 },
          },
        ],
      },
    });
    const flaky = await waitPod(
      "flaky",
      "two restarts",
      (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2,
    );
    const fs = flaky.status!.containerStatuses![0]!;
    expect(fs.lastState?.terminated).toMatchObject({ exitCode: 2, reason: "Error" });
    expect(flaky.status?.phase).toBe("Running");
    await waitPod(
      "flaky",
      "CrashLoopBackOff",
      (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CrashLoopBackOff",
    );

    const web = await waitPod(
      "web",
      "ready",
      (x) => x.status?.conditions?.find((c) => c.type === "Ready")?.status === "True",
    );
    const res = await fetch(`http://${web.status!.podIP}:8080/`);
    expect(res.status).toBe(200);

    const pid = node.pod("default", "web")!.pidOf("w")!;
    await kubectl("delete", "pod", "web", "--wait=true", "--timeout=20s");
    await expect(
      core.readNamespacedPod({ namespace: "default", name: "web" }),
    ).rejects.toMatchObject({ code: 404 });
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(readFileSync(join(dir, "logs", "default", "web", "w.log"), "utf8")).toContain(
      "got-term",
    );
  });

  it("runs init containers first, maps the coredog image to this checkout, and explains images without a command", async () => {
    await create({
      metadata: { name: "ordered" },
      spec: {
        restartPolicy: "Never",
        initContainers: [
          {
            name: "init",
            image: "debian:12",
            command: ["/bin/sh", "-c", "echo init > /shared/order"],
            volumeMounts: [{ name: "s", mountPath: "/shared" }],
          },
        ],
        containers: [
          {
            name: "main",
            image: "ghcr.io/coredog/coredog:0.1.0",
            command: [
              "/bin/sh",
              "-c",
              "cat /shared/order; command -v coredog-controller; node --version; test -f /app/package.json",
            ],
            volumeMounts: [{ name: "s", mountPath: "/shared" }],
          },
        ],
        volumes: [{ name: "s", emptyDir: {} }],
      },
    });
    await create({
      metadata: { name: "nocmd" },
      spec: { containers: [{ name: "x", image: "nginx:1.27" }] },
    });
    const p = await waitPod("ordered", "success", (x) => x.status?.phase === "Succeeded");
    expect(p.status?.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 0,
      reason: "Completed",
    });
    expect((await kubectl("logs", "ordered", "-c", "main")).split("\n")).toEqual([
      "init",
      "/app/bin/coredog-controller", // this checkout, mounted where the image keeps it
      `v${process.versions.node}`,
      "",
    ]);
    const n = await waitPod(
      "nocmd",
      "a waiting reason",
      (x) =>
        x.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CreateContainerConfigError",
    );
    expect(n.status?.containerStatuses?.[0]?.state?.waiting?.message).toMatch(/needs a command/);
  });

  it("restarts a container whose liveness probe fails; force deletion kills at once", async () => {
    await create({
      metadata: { name: "stuck" },
      spec: {
        containers: [
          {
            name: "s",
            image: "debian:12",
            command: ["/bin/sh", "-c", "echo start; exec sleep 60"],
            livenessProbe: {
              exec: { command: ["/bin/false"] },
              periodSeconds: 1,
              failureThreshold: 1,
            },
            startupProbe: { tcpSocket: { port: 1 }, periodSeconds: 1, failureThreshold: 30 },
          },
        ],
      },
    });
    // The startup probe never passes (nothing listens on port 1), so liveness is not probed yet.
    await new Promise((r) => setTimeout(r, 1500));
    let p = await core.readNamespacedPod({ namespace: "default", name: "stuck" });
    expect(p.status?.containerStatuses?.[0]).toMatchObject({
      restartCount: 0,
      started: false,
      ready: false,
    });

    await create({
      metadata: { name: "unhealthy" },
      spec: {
        containers: [
          {
            name: "u",
            image: "debian:12",
            command: ["/bin/sh", "-c", "echo start; exec sleep 60"],
            livenessProbe: {
              exec: { command: ["/bin/sh", "-c", "test -e /nonexistent"] },
              periodSeconds: 1,
              failureThreshold: 1,
            },
          },
        ],
      },
    });
    p = await waitPod(
      "unhealthy",
      "a liveness restart",
      (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
    );
    expect(p.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({
      signal: 15,
      exitCode: 143,
    });

    const pid = node.pod("default", "stuck")!.pidOf("s")!;
    await kubectl("delete", "pod", "stuck", "unhealthy", "--grace-period=0", "--force");
    await expect(
      core.readNamespacedPod({ namespace: "default", name: "stuck" }),
    ).rejects.toMatchObject({ code: 404 });
    const end = Date.now() + 3000;
    while (existsSync(`/proc/${pid}`) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  it("a second node gets its own pod subnet; stop() kills its pods and removes their dirs", async () => {
    const node2 = await startNode({
      name: "node-2",
      kubeconfigPath: api.kubeconfigPath,
      dir,
      hostRoot: join(dir, "nodes", "node-2", "root"),
      checkoutDir: CHECKOUT,
    });
    try {
      expect(node2.podIPBase).not.toBe(node.podIPBase);
      await core.createNamespacedPod({
        namespace: "default",
        body: {
          metadata: { name: "on-two" },
          spec: {
            nodeName: "node-2",
            containers: [
              {
                name: "c",
                image: "debian:12",
                command: [
                  "/bin/sh",
                  "-c",
                  "cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo; sleep 60",
                ],
              },
            ],
          },
        },
      });
      const p = await waitPod(
        "on-two",
        "running",
        (x) => x.status?.containerStatuses?.[0]?.state?.running !== undefined,
      );
      expect(p.status?.podIP?.startsWith(`${node2.podIPBase}.`)).toBe(true);
      const pid = node2.pod("default", "on-two")!.pidOf("c")!;
      expect(existsSync(`/proc/${pid}`)).toBe(true);
      const log = join(dir, "logs", "default", "on-two", "c.log");
      const end = Date.now() + 3000;
      while (!readFileSync(log, "utf8").includes("default") && Date.now() < end)
        await new Promise((r) => setTimeout(r, 50));
      expect(readFileSync(log, "utf8")).toBe("default\n");
    } finally {
      const pid = node2.pod("default", "on-two")?.pidOf("c");
      await node2.stop();
      if (pid) expect(existsSync(`/proc/${pid}`)).toBe(false);
      expect(readdirSync(join(dir, "nodes", "node-2"))).not.toContain("pods");
    }
  });

  it("gives pods in-cluster access: env, service account token and CA for the real kubectl", async () => {
    await create({
      metadata: { name: "incluster" },
      spec: {
        restartPolicy: "Never",
        containers: [
          {
            name: "k",
            image: "bitnami/kubectl:1.32",
            command: [
              "/bin/sh",
              "-c",
              "echo $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT; kubectl get pods -n kube-system 2>&1; exit 0",
            ],
          },
        ],
      },
    });
    await waitPod("incluster", "completion", (x) => x.status?.phase === "Succeeded");
    const out = readFileSync(join(dir, "logs", "default", "incluster", "k.log"), "utf8");
    expect(out.split("\n")[0]).toBe(new URL(api.url).host);
    expect(out).toMatch(/system:serviceaccount:default:default/);
  });

  it("restores core_pattern when the rig releases it", async () => {
    await releaseCorePattern!();
    releaseCorePattern = undefined;
    const s = corePatternState();
    expect(s.value).toBe(
      s.holders.length > 0 ? CORE_PATTERN : (patternBefore.original ?? patternBefore.value),
    );
  });
});
