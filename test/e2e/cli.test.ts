// `kubectl coredog ...` end to end: the real kubectl finds the plugin on PATH and talks to the rig, where
// CoreDog is installed from manifests/ (the real webhook injects pods) with a certificate from
// scripts/generate-cert.sh. One rig for the file; the tests run in order and build on each other.
import { execFile } from "node:child_process";
import { mkdirSync, existsSync, utimesSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { AppsV1Api, CoreV1Api, type CoreV1Event, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRig, type Rig } from "../rig/index.js";

const exec = promisify(execFile);

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
const WEBHOOK = "app.kubernetes.io/name=coredog,app.kubernetes.io/component=webhook";
const WATCHER = "app.kubernetes.io/name=coredog,app.kubernetes.io/component=watcher";
const OPT_IN = { "coredog.io/inject": "true", "coredog.io/path": "/corefile" };

let rig: Rig;
let core: CoreV1Api;
let apps: AppsV1Api;

const cd = (args: string[], env?: Record<string, string>) =>
  rig.kubectl(["coredog", ...args], { env: { NO_COLOR: "1", ...env } });

/** Failures are one or two lines (the sentence, maybe a hint), never a stack trace. */
function expectCleanError(r: { stderr: string; code: number }, pattern: RegExp) {
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).toMatch(/^error: /);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr.trim().split("\n").length).toBeLessThanOrEqual(2);
}

function sleeper(name: string, namespace: string, annotations?: Record<string, string>): V1Pod {
  return {
    metadata: { name, namespace, annotations, labels: { app: name } },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: "app", image: "busybox", command: ["sleep", "3600"] }],
    },
  };
}

async function deployment(name: string, namespace: string, labels: Record<string, string> = {}) {
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name, namespace, labels: { app: name, ...labels } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            terminationGracePeriodSeconds: 0,
            containers: [{ name: "app", image: "busybox", command: ["sleep", "3600"] }],
          },
        },
      },
    },
  });
}

const templateAnnotations = async (name: string, namespace: string) =>
  (await apps.readNamespacedDeployment({ name, namespace })).spec?.template?.metadata
    ?.annotations ?? {};

const webhookConfigJson = async () =>
  JSON.parse(
    (await rig.kubectl(["get", "mutatingwebhookconfiguration", "coredog", "-o", "json"])).stdout,
  );

beforeAll(async () => {
  rig = await startRig({ s3: false, receivers: false });
  core = rig.kc.makeApiClient(CoreV1Api);
  apps = rig.kc.makeApiClient(AppsV1Api);
  for (const ns of ["shop", "early"])
    await core.createNamespace({ body: { metadata: { name: ns } } });
  await core.createNamespace({
    body: {
      metadata: { name: "locked", labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
    },
  });
  // Before CoreDog exists: an annotated pod that therefore never got the directory.
  await core.createNamespacedPod({
    namespace: "early",
    body: sleeper("early-bird", "early", OPT_IN),
  });

  const applied = await rig.kubectl(["apply", "-k", "manifests"]);
  expect(applied.code, applied.stderr).toBe(0);
  await exec(
    "scripts/generate-cert.sh",
    ["--kubeconfig", rig.kubeconfig, "--dir", path.join(rig.dir, "coredog-pki")],
    { env: { ...process.env, ...rig.env } },
  );
  await rig.waitFor(
    "2 ready webhook pods",
    async () => {
      const pods = (
        await core.listNamespacedPod({ namespace: "coredog-system", labelSelector: WEBHOOK })
      ).items;
      return (
        pods.filter((p) =>
          p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        ).length === 2
      );
    },
    60_000,
  );
  await core.createNamespacedPod({ namespace: "shop", body: sleeper("plain", "shop") });
  await deployment("api", "shop");
  await deployment("web", "shop");
  await deployment("batch-a", "shop", { tier: "batch" });
  await deployment("batch-b", "shop", { tier: "batch" });
  await deployment("vault", "locked");
  await rig.waitForPods("shop", "app=api", 1);
}, 180_000);

afterAll(async () => {
  await rig?.stop();
}, 120_000);

describe("errors: one sentence, non-zero exit", () => {
  it("no cluster: a kubeconfig pointing at a closed port", async () => {
    const file = path.join(rig.dir, "closed.kubeconfig");
    const port = await closedPort();
    writeFileSync(
      file,
      [
        "apiVersion: v1",
        "kind: Config",
        `clusters: [{name: c, cluster: {server: 'https://127.0.0.1:${port}', insecure-skip-tls-verify: true}}]`,
        "users: [{name: u, user: {token: t}}]",
        "contexts: [{name: x, context: {cluster: c, user: u}}]",
        "current-context: x",
      ].join("\n"),
    );
    const r = await cd(["ls", "-A", "--kubeconfig", file]);
    expectCleanError(
      r,
      new RegExp(
        `cannot reach the Kubernetes API server at https://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`,
      ),
    );
    for (const cmd of [
      ["status"],
      ["doctor"],
      ["events", "-A"],
      ["emergency", "webhook", "ignore", "--yes"],
    ]) {
      expectCleanError(
        await cd([...cmd, "--kubeconfig", file]),
        /cannot reach the Kubernetes API server/,
      );
    }
  });

  it("a context that does not exist", async () => {
    const r = await cd(["ls", "--context", "nope"]);
    expectCleanError(r, /context "nope" does not exist in the kubeconfig/);
  });

  it("forbidden: a user without RBAC", async () => {
    const alice = rig.kubeconfigFor("alice");
    const r = await cd(["ls", "-A", "--kubeconfig", alice]);
    expect(r.stderr).toMatch(/alice/);
    expectCleanError(r, /forbidden/);
    expectCleanError(await cd(["status", "--kubeconfig", alice]), /forbidden/);
    expectCleanError(
      await cd(["enable", "deploy/api", "-n", "shop", "--kubeconfig", alice]),
      /forbidden/,
    );
  });

  it("not found", async () => {
    expectCleanError(
      await cd(["enable", "deploy/nope", "-n", "shop"]),
      /deployments "nope" not found in namespace shop/,
    );
    expectCleanError(
      await cd(["doctor", "nope", "-n", "shop"]),
      /pod "nope" not found in namespace shop/,
    );
    expectCleanError(
      await cd(["disable", "nope", "-n", "shop"]),
      /no workload named "nope" in namespace shop/,
    );
  });

  it("oclif's own errors: unknown flag, missing argument, unknown command", async () => {
    expectCleanError(
      await cd(["ls", "--bogus"]),
      /error: Nonexistent flag: --bogus\nSee 'kubectl coredog ls --help' for usage/,
    );
    expectCleanError(await cd(["emergency", "restart"]), /Missing 1 required arg: target/);
    expectCleanError(await cd(["frobnicate"]), /error: command frobnicate not found/);
  });
});

describe("enable", () => {
  it("--dry-run prints the change and changes nothing", async () => {
    const r = await cd(["enable", "deploy/api", "-n", "shop", "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/deployments\/api enabled \(dry run\): cores go to \/corefile in app/);
    expect(r.stdout).toContain('+ coredog.io/inject: "true"');
    expect(await templateAnnotations("api", "shop")).not.toHaveProperty("coredog.io/inject");
  });

  it("deploy/NAME --restart annotates the template and rolls the pods, which get the directory", async () => {
    const before = (await rig.waitForPods("shop", "app=api", 1))[0]!.metadata!.name;
    const r = await cd(["enable", "deploy/api", "-n", "shop", "--restart"]);
    expect(r.code, r.stderr).toBe(0);
    // The new annotations change the pod template, so the Deployment rolls by itself.
    expect(r.stdout).toMatch(/deployments\/api is rolling out: its new pods get the directory/);
    expect(await templateAnnotations("api", "shop")).toMatchObject(OPT_IN);
    const [pod] = await rig.waitFor(
      "a new api pod",
      async () => {
        const pods = (
          await core.listNamespacedPod({ namespace: "shop", labelSelector: "app=api" })
        ).items.filter((p) => !p.metadata?.deletionTimestamp);
        return pods.length === 1 &&
          pods[0]!.metadata!.name !== before &&
          pods[0]!.status?.phase === "Running"
          ? pods
          : undefined;
      },
      90_000,
    );
    expect(pod!.spec?.volumes?.some((v) => v.hostPath?.path === "/data/coredog-system/dumps")).toBe(
      true,
    );
  }, 120_000);

  it("TYPE NAME, a bare NAME, and TYPE -l", async () => {
    let r = await cd(["enable", "deployment", "web", "-n", "shop", "--path", "/crash"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await templateAnnotations("web", "shop")).toMatchObject({ "coredog.io/path": "/crash" });
    r = await cd(["enable", "web", "-n", "shop"]);
    expect(r.stdout).toMatch(/deployments\/web enabled: cores go to \/corefile/);
    r = await cd(["enable", "deploy", "-l", "tier=batch", "-n", "shop"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/deployments\/batch-a enabled/);
    expect(r.stdout).toMatch(/deployments\/batch-b enabled/);
    expect(await templateAnnotations("batch-b", "shop")).toMatchObject(OPT_IN);
  });

  it("a bare pod: told it must be recreated (dry run: the pod stays as it is)", async () => {
    const r = await cd(["enable", "pod/plain", "-n", "shop", "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/pods\/plain enabled \(dry run\)/);
    expect(r.stdout).toMatch(/recreate pod\/plain/);
    const plain = await core.readNamespacedPod({ name: "plain", namespace: "shop" });
    expect(plain.metadata?.annotations?.["coredog.io/inject"]).toBeUndefined();
  });

  it("refuses what the webhook would skip, with its reason, and changes nothing", async () => {
    let r = await cd(["enable", "deploy/batch-a", "-n", "shop", "--path", "/etc"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^refused deployments\/batch-a: path=\/etc is not allowed/);
    expect(r.stderr).toMatch(/^error: 1 of 1 workload\(s\) refused/m);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(await templateAnnotations("batch-a", "shop")).toMatchObject({
      "coredog.io/path": "/corefile",
    });
    r = await cd(["enable", "deploy/vault", "-n", "locked"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused deployments\/vault: .*restricted/);
    r = await cd(["enable", "deploy/web", "-n", "shop", "--container", "nope"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /container "?nope"? named in coredog.io\/container not found in the pod/,
    );
  });
});

describe("disable", () => {
  it("removes the annotations (dry run first)", async () => {
    let r = await cd(["disable", "deploy/web", "-n", "shop", "--dry-run"]);
    expect(r.stdout).toMatch(/deployments\/web disabled \(dry run\)/);
    expect(await templateAnnotations("web", "shop")).toHaveProperty("coredog.io/inject");
    r = await cd(["disable", "deploy/web", "-n", "shop"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await templateAnnotations("web", "shop")).not.toHaveProperty("coredog.io/inject");
    r = await cd(["disable", "deploy/web", "-n", "shop"]);
    expect(r.stdout).toMatch(/deployments\/web was not enabled/);
  });
});

describe("ls", () => {
  it("-A: INJECTED yes only where the pod really has the mount", async () => {
    const r = await cd(["ls", "-A"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^NAMESPACE\s+POD\s+PATH\s+CONTAINERS\s+INJECTED\s+NODE\s+CORES\s+LAST CORE\s+AGE$/,
    );
    expect(lines.find((l) => l.startsWith("early "))).toMatch(
      /^early\s+early-bird\s+\/corefile\s+<all>\s+no\s+node-1\s/,
    );
    expect(lines.find((l) => /^shop\s+api-/.test(l))).toMatch(
      /\/corefile\s+app\s+yes\s+node-1\s+0\s+<none>/,
    );
    expect(r.stdout).not.toMatch(/plain/);
  });

  it("-n, -o json and -o wide", async () => {
    let r = await cd(["ls", "-n", "early"]);
    expect(r.stdout.split("\n")[0]).toMatch(/^POD\s+PATH/);
    expect(r.stdout).toMatch(/early-bird/);
    expect(r.stdout).not.toMatch(/api-/);
    r = await cd(["ls", "-A", "-o", "json"]);
    const list = JSON.parse(r.stdout) as {
      kind: string;
      items: { pod: string; injected: boolean }[];
    };
    expect(list.kind).toBe("List");
    expect(list.items.find((i) => i.pod === "early-bird")?.injected).toBe(false);
    expect(list.items.find((i) => i.pod.startsWith("api-"))?.injected).toBe(true);
    r = await cd(["ls", "-n", "shop", "-o", "wide"]);
    expect(r.stdout.split("\n")[0]).toMatch(/STATUS\s+OWNER$/);
    expect(r.stdout).toMatch(/Running\s+ReplicaSet\/api-/);
  });
});

describe("events", () => {
  let apiPod: V1Pod;
  const event = (reason: string, at: Date, message: string): CoreV1Event => ({
    metadata: {
      name: `${apiPod.metadata!.name}.${at.getTime().toString(16)}${reason.length}`,
      namespace: "shop",
    },
    involvedObject: {
      apiVersion: "v1",
      kind: "Pod",
      namespace: "shop",
      name: apiPod.metadata!.name,
      uid: apiPod.metadata!.uid,
    },
    reason,
    message,
    type: reason === "CoreDumpFailed" ? "Warning" : "Normal",
    source: { component: "coredog-watcher", host: "node-1" },
    reportingComponent: "coredog-watcher",
    reportingInstance: "node-1",
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  });

  beforeAll(async () => {
    apiPod = (await rig.waitForPods("shop", "app=api", 1))[0]!;
    const old = new Date(Date.now() - 2 * 3600_000);
    await core.createNamespacedEvent({
      namespace: "shop",
      body: event("CoreDumpCaptured", old, "core.app.1 old"),
    });
    await core.createNamespacedEvent({
      namespace: "shop",
      body: event("CoreDumpCaptured", new Date(), "core.app.2 SIGSEGV"),
    });
    await core.createNamespacedEvent({
      namespace: "shop",
      body: event("CoreDumpUploaded", new Date(), "uploaded core.app.2"),
    });
    await core.createNamespacedEvent({
      namespace: "shop",
      body: {
        ...event("Scheduled", new Date(), "not ours"),
        reportingComponent: "scheduler",
        source: { component: "scheduler" },
      },
    });
  });

  it("lists the watchers' events, --since filters, -o json", async () => {
    let r = await cd(["events", "-n", "shop"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/CoreDumpCaptured\s+shop\/api-\S+\s+node-1\s+1\s+core\.app\.1 old/);
    expect(r.stdout).toMatch(/CoreDumpUploaded/);
    expect(r.stdout).not.toMatch(/not ours/);
    r = await cd(["events", "-A", "--since", "1h"]);
    expect(r.stdout).toMatch(/core\.app\.2 SIGSEGV/);
    expect(r.stdout).not.toMatch(/core\.app\.1 old/);
    r = await cd(["events", "-n", "shop", "-o", "json"]);
    expect(
      (JSON.parse(r.stdout) as { items: CoreV1Event[] }).items.map((e) => e.reason).sort(),
    ).toEqual(["CoreDumpCaptured", "CoreDumpCaptured", "CoreDumpUploaded"]);
    expectCleanError(await cd(["events", "--since", "soon"]), /--since "soon" is not a duration/);
  });

  it("ls counts the captured cores", async () => {
    const r = await cd(["ls", "-n", "shop"]);
    expect(r.stdout).toMatch(/api-\S+\s+\/corefile\s+app\s+yes\s+node-1\s+2\s+\d+s\s/);
  });

  it("-f prints an event that arrives later", async () => {
    const child = rig.spawnKubectl(["coredog", "events", "-n", "shop", "-f"], {
      env: { NO_COLOR: "1" },
    });
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
    try {
      await rig.waitFor("the events header", () => out.includes("LAST SEEN"), 20_000);
      await core.createNamespacedEvent({
        namespace: "shop",
        body: event("CoreDumpFailed", new Date(Date.now() + 1000), "upload failed: bucket gone"),
      });
      await rig.waitFor(
        "the new event",
        () => /CoreDumpFailed.*upload failed: bucket gone/.test(out),
        20_000,
      );
    } finally {
      child.kill("SIGINT");
    }
  });
});

describe("doctor", () => {
  it("a pod without annotations: names 'no annotations'", async () => {
    const r = await cd(["doctor", "plain", "-n", "shop"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ the webhook's decision for this pod: skip: no annotations/);
  });

  it("an annotated pod created before the webhook existed", async () => {
    const r = await cd(["doctor", "early-bird", "-n", "early"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ the pod has the node directory: created before it was enabled/);
    expect(r.stdout).toMatch(/✓ the webhook's decision for this pod: inject at \/corefile/);
  });

  it("an injected pod passes problem 1; -o json", async () => {
    const pod = (await rig.waitForPods("shop", "app=api", 1))[0]!.metadata!.name!;
    const r = await cd(["doctor", pod, "-n", "shop", "-o", "json"]);
    const report = JSON.parse(r.stdout) as { checks: { id: string; status: string }[] };
    expect(report.checks.find((c) => c.id === "injected")?.status).toBe("pass");
    expect(report.checks.find((c) => c.id === "ca-bundle")?.status).toBe("pass");
    expect(report.checks.find((c) => c.id === "webhook-pods")?.status).toBe("pass");
  });
});

describe("status", () => {
  it("shows each node's published state", async () => {
    // A stand-in watcher pod on a node that runs nothing, owned by a ConfigMap so the DaemonSet controller
    // leaves it alone; it publishes what a watcher would.
    const owner = await core.createNamespacedConfigMap({
      namespace: "coredog-system",
      body: { metadata: { name: "fake-watcher-owner" } },
    });
    const state = {
      node: "node-7",
      corePattern: "|/usr/lib/systemd/systemd-coredump %P",
      filesWaiting: 3,
      bytesWaiting: 5 * 1024 * 1024,
      lastUpload: {
        at: new Date(Date.now() - 300_000).toISOString(),
        key: "corefiles/x",
        bytes: 1,
      },
      lastError: { at: "2026-11-27T06:00:00Z", message: "upload failed: NoSuchBucket" },
      updatedAt: new Date().toISOString(),
      configuredPath: "/corefile",
    };
    await core.createNamespacedPod({
      namespace: "coredog-system",
      body: {
        metadata: {
          name: "coredog-watcher-fake",
          labels: { "app.kubernetes.io/name": "coredog", "app.kubernetes.io/component": "watcher" },
          annotations: { "coredog.io/node-state": JSON.stringify(state) },
          ownerReferences: [
            {
              apiVersion: "v1",
              kind: "ConfigMap",
              name: "fake-watcher-owner",
              uid: owner.metadata!.uid!,
              controller: true,
            },
          ],
        },
        spec: {
          nodeName: "node-7",
          containers: [{ name: "watcher", image: "busybox", command: ["true"] }],
        },
      },
    });
    const r = await cd(["status"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^webhook: +2\/2 pods ready, failurePolicy Ignore$/m);
    expect(r.stdout).toMatch(/^settings: valid$/m);
    expect(r.stdout).toMatch(
      /^NODE\s+WATCHER\s+CORE_PATTERN\s+WAITING\s+LAST UPLOAD\s+LAST ERROR$/m,
    );
    expect(r.stdout).toMatch(
      /^node-7\s+coredog-watcher-fake \(not ready\)\s+\|\/usr\/lib\/systemd\/systemd-coredump %P\s+3 \(5(\.0)? ?MiB\)\s+5m\s+2026-11-27T06:00:00Z upload failed: NoSuchBucket$/m,
    );
    expect(r.stdout).toMatch(/^node-1\s+coredog-watcher-\S+/m);
    const json = JSON.parse((await cd(["status", "-o", "json"])).stdout) as {
      nodes: { node: string }[];
    };
    expect(json.nodes.map((n) => n.node)).toContain("node-7");
    await core.deleteNamespacedPod({
      name: "coredog-watcher-fake",
      namespace: "coredog-system",
      gracePeriodSeconds: 0,
    });
  });
});

describe("logs", () => {
  it("merges the pods' logs, each line prefixed with its node", async () => {
    await rig.waitFor(
      "webhook log lines",
      () => existsSync(path.join(rig.dir, "logs", "coredog-system")),
      10_000,
    );
    const r = await cd(["logs", "--component", "webhook", "--tail", "5"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^\[node-1\] /);
  });
});

describe("emergency webhook", () => {
  it("without --yes and without a terminal it refuses and changes nothing", async () => {
    const before = await webhookConfigJson();
    const r = await cd(["emergency", "webhook", "remove"]);
    expectCleanError(r, /refusing to change the cluster without confirmation/);
    expect(r.stdout).toMatch(/delete mutatingwebhookconfiguration coredog/);
    expect((await webhookConfigJson()).webhooks).toEqual(before.webhooks);
  });

  it("fail, ignore, remove, restore: restore brings back exactly what was saved", async () => {
    let r = await cd(["emergency", "webhook", "fail", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    const saved = await webhookConfigJson();
    expect(saved.webhooks[0].failurePolicy).toBe("Fail");

    r = await cd(["emergency", "webhook", "ignore", "--dry-run"]);
    expect(r.stdout).toMatch(/failurePolicy Fail -> Ignore/);
    expect((await webhookConfigJson()).webhooks[0].failurePolicy).toBe("Fail");
    r = await cd(["emergency", "webhook", "ignore", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/undo with: kubectl coredog emergency webhook restore/);
    expect((await webhookConfigJson()).webhooks[0].failurePolicy).toBe("Ignore");

    r = await cd(["emergency", "webhook", "remove", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    expect((await rig.kubectl(["get", "mutatingwebhookconfiguration", "coredog"])).code).not.toBe(
      0,
    );

    r = await cd(["emergency", "webhook", "restore", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    const restored = await webhookConfigJson();
    expect(restored.webhooks).toEqual(saved.webhooks);
    expect(restored.metadata.labels).toEqual(saved.metadata.labels);
    expect(
      (await rig.kubectl(["get", "cm", "-n", "coredog-system", "coredog-webhook-backup"])).code,
    ).not.toBe(0);
    expectCleanError(await cd(["emergency", "webhook", "restore", "--yes"]), /no saved copy/);
    r = await cd(["emergency", "webhook", "ignore", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe("emergency watcher, restart", () => {
  const watcherPods = async () =>
    (
      await core.listNamespacedPod({ namespace: "coredog-system", labelSelector: WATCHER })
    ).items.filter((p) => !p.metadata?.deletionTimestamp);

  it("pause: the watcher pods go; resume: they come back", async () => {
    await rig.waitFor("a watcher pod", async () => (await watcherPods()).length === 1, 30_000);
    let r = await cd(["emergency", "watcher", "pause"]);
    expectCleanError(r, /refusing to change the cluster without confirmation/);
    expect((await watcherPods()).length).toBe(1);
    r = await cd(["emergency", "watcher", "pause", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    await rig.waitFor("no watcher pod", async () => (await watcherPods()).length === 0, 30_000);
    expect((await cd(["status"])).stdout).toMatch(/watcher: +paused/);
    r = await cd(["emergency", "watcher", "pause", "--yes"]);
    expect(r.stdout).toMatch(/nothing to do: daemonset coredog-watcher is already paused/);
    r = await cd(["emergency", "watcher", "resume", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    await rig.waitFor(
      "the watcher pod back",
      async () => (await watcherPods()).length === 1,
      30_000,
    );
  });

  it("restart rolls the webhook Deployment and the watcher DaemonSet (logs -f follows); --dry-run does not", async () => {
    const restartedAt = async () =>
      (
        await apps.readNamespacedDeployment({
          name: "coredog-webhook",
          namespace: "coredog-system",
        })
      ).spec?.template?.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"];
    let r = await cd(["emergency", "restart", "webhook", "--dry-run"]);
    expect(r.stdout).toMatch(/rolling restart/);
    expect(await restartedAt()).toBeUndefined();
    r = await cd(["emergency", "restart", "webhook", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await restartedAt()).toBeTruthy();
    // `logs -f` follows the watchers while the restart replaces them: the new pod joins the stream.
    const before = new Set((await watcherPods()).map((p) => p.metadata!.name));
    const follow = rig.spawnKubectl(["coredog", "logs", "-f"], { env: { NO_COLOR: "1" } });
    let joined = "";
    follow.stderr!.setEncoding("utf8").on("data", (d: string) => (joined += d));
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      r = await cd(["emergency", "restart", "watcher", "--yes"]);
      expect(r.code, r.stderr).toBe(0);
      const ds = await apps.readNamespacedDaemonSet({
        name: "coredog-watcher",
        namespace: "coredog-system",
      });
      expect(
        ds.spec?.template?.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"],
      ).toBeTruthy();
      const fresh = await rig.waitFor(
        "a new watcher pod",
        async () => (await watcherPods()).find((p) => !before.has(p.metadata!.name)),
        60_000,
      );
      await rig.waitFor(
        "logs -f to pick up the new watcher pod",
        () => joined.includes(`+ ${fresh.metadata!.name} on node-1`),
        60_000,
      );
    } finally {
      follow.kill("SIGINT");
    }
  }, 120_000);
});

describe("emergency purge", () => {
  it("lists with sizes in a dry run, deletes only old files, asks first", async () => {
    const dumps = path.join(rig.nodes[0]!.hostRoot, "data/coredog-system/dumps/shop/api-x");
    mkdirSync(dumps, { recursive: true });
    const old = path.join(dumps, "core.app.1.h.1");
    const fresh = path.join(dumps, "core.app.2.h.2");
    writeFileSync(old, Buffer.alloc(3 * 1024 * 1024));
    writeFileSync(fresh, Buffer.alloc(1024));
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(old, twoDaysAgo, twoDaysAgo);

    let r = await cd(["emergency", "purge", "--node", "node-1", "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^NODE\s+SIZE\s+MODIFIED\s+PATH$/m);
    expect(r.stdout).toMatch(
      /node-1\s+3(\.0)? ?MiB\s+\S+\s+\/data\/coredog-system\/dumps\/shop\/api-x\/core\.app\.1\.h\.1/,
    );
    expect(r.stdout).toMatch(/core\.app\.2\.h\.2/);
    expect(r.stdout).toMatch(/dry run: nothing was deleted/);
    expect(existsSync(old) && existsSync(fresh)).toBe(true);

    r = await cd(["emergency", "purge", "--node", "node-1", "--older-than", "1d"]);
    expectCleanError(r, /refusing to change the cluster without confirmation/);
    expect(existsSync(old)).toBe(true);

    r = await cd(["emergency", "purge", "--node", "node-1", "--older-than", "1d", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/deleted 1 file\(s\), 3(\.0)? ?MiB, on node-1/);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expectCleanError(await cd(["emergency", "purge"]), /choose the nodes: --node NAME/);
    expectCleanError(await cd(["emergency", "purge", "--node", "node-9"]), /no such node: node-9/);
  }, 120_000);
});
