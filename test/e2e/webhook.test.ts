// The webhook end to end on the rig with real kubectl: the program runs as its own process on
// 127.0.0.1 with a certificate for coredog-webhook.coredog-system.svc signed by a test CA, and is
// registered as MutatingWebhookConfiguration `coredog` (clientConfig.url + caBundle).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRig, type Rig } from "../rig/index.js";
import { makeCA, makeCert, tempDir, type TestCA } from "../unit/webhook/helpers.js";

const CLI = join(import.meta.dirname, "../../controller/webhook/cli.ts");
const DUMPS = "data/coredog-system/dumps";

let rig: Rig;
let ca: TestCA;
let hook: ChildProcess | undefined;
let hookOut = "";
let port = 0;
let certFile = "";
let keyFile = "";
let configFile = "";

async function ok(args: string[], input?: string): Promise<string> {
  const r = await rig.kubectl(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function startWebhookProcess(): Promise<void> {
  hookOut = "";
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      CLI,
      "--listen",
      "127.0.0.1:0",
      "--tls-cert",
      certFile,
      "--tls-key",
      keyFile,
      "--config",
      configFile,
      "--kubeconfig",
      rig.kubeconfig,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  hook = child;
  child.stdout!.on("data", (d: Buffer) => (hookOut += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (hookOut += d.toString()));
  port = Number(
    (
      await rig.waitFor(
        "webhook listening",
        () => /msg="webhook listening" address=127\.0\.0\.1:(\d+)/.exec(hookOut),
        20_000,
      )
    )[1],
  );
  await rig.waitFor(
    "namespace cache synced",
    () => hookOut.includes("namespace cache synced"),
    20_000,
  );
}

function stopWebhookProcess(): Promise<void> {
  const child = hook;
  hook = undefined;
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => r());
    child.kill("SIGTERM");
  });
}

function webhookConfiguration(failurePolicy: "Fail" | "Ignore"): string {
  return JSON.stringify({
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name: "coredog", labels: { "app.kubernetes.io/name": "coredog" } },
    webhooks: [
      {
        name: "pods.coredog.io",
        admissionReviewVersions: ["v1", "v1beta1"],
        sideEffects: "None",
        failurePolicy,
        timeoutSeconds: 5,
        reinvocationPolicy: "IfNeeded",
        clientConfig: {
          url: `https://127.0.0.1:${port}/mutate`,
          caBundle: ca.pem.toString("base64"),
        },
        rules: [
          {
            operations: ["CREATE"],
            apiGroups: [""],
            apiVersions: ["v1"],
            resources: ["pods"],
            scope: "Namespaced",
          },
        ],
        namespaceSelector: {
          matchExpressions: [
            {
              key: "kubernetes.io/metadata.name",
              operator: "NotIn",
              values: ["coredog-system", "kube-system"],
            },
          ],
        },
      },
    ],
  });
}

function pod(
  ns: string,
  name: string,
  annotations: Record<string, string>,
  command = "sleep 3600",
): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, annotations },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: "app", image: "busybox", command: ["/bin/sh", "-c", command] }],
    },
  });
}

/** What the guide does: `kubectl logs ... | grep "my-pod"`. */
function grep(text: string): string[] {
  return hookOut.split("\n").filter((l) => l.includes(text));
}

beforeAll(async () => {
  rig = await startRig({ s3: false, receivers: false });
  const dir = tempDir("coredog-e2e-webhook-");
  ca = makeCA(dir);
  const cert = makeCert(ca, "webhook", [
    "DNS:coredog-webhook.coredog-system.svc",
    "DNS:coredog-webhook.coredog-system.svc.cluster.local",
    "IP:127.0.0.1",
  ]);
  certFile = cert.certFile;
  keyFile = cert.keyFile;
  configFile = join(dir, "config.yaml");
  writeFileSync(configFile, "NoticeChannel: []\n");
  await ok(["create", "namespace", "shop"]);
  await ok(["create", "namespace", "locked"]);
  await ok(["create", "namespace", "relabel"]);
  await ok(["label", "namespace", "locked", "pod-security.kubernetes.io/enforce=restricted"]);
  await startWebhookProcess();
  await ok(["apply", "-f", "-"], webhookConfiguration("Fail"));
}, 120_000);

afterAll(async () => {
  await stopWebhookProcess();
  await rig?.stop();
});

describe("with the webhook running", () => {
  it("gives a Deployment's pods the directory at the right path for their generated names", async () => {
    await ok(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "api", namespace: "shop" },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "api" } },
          template: {
            metadata: {
              labels: { app: "api" },
              annotations: { "coredog.io/inject": "true", "coredog.io/path": "/corefile" },
            },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: "app",
                  image: "busybox",
                  command: ["/bin/sh", "-c", 'echo "$HOSTNAME" > /corefile/whoami; sleep 3600'],
                },
                {
                  name: "worker",
                  image: "busybox",
                  command: ["/bin/sh", "-c", "touch /corefile/worker; sleep 3600"],
                },
              ],
            },
          },
        },
      }),
    );
    const pods = await rig.waitForPods("shop", "app=api", 2, "Running", 60_000);
    const hostRoot = rig.nodes[0]!.hostRoot;
    for (const p of pods) {
      const name = p.metadata!.name!;
      expect(name).toMatch(/^api-[a-z0-9]+-[a-z0-9]{5}$/);
      for (const c of p.spec!.containers) {
        const m = c.volumeMounts!.find((v) => v.name === "coredog-dumps")!;
        expect(m).toMatchObject({ mountPath: "/corefile" });
        expect(m.subPathExpr).toBeDefined();
      }
      expect(p.metadata!.annotations!["coredog.io/injected"]).toContain('"path":"/corefile"');
      // The containers wrote into /corefile: it is the node's dumps/<namespace>/<pod>/<container>/, one each.
      const podDir = join(hostRoot, DUMPS, "shop", name);
      await rig.waitFor(
        `files in ${podDir}`,
        () => existsSync(join(podDir, "app/whoami")) && existsSync(join(podDir, "worker/worker")),
        20_000,
      );
      expect(existsSync(join(podDir, "app/worker"))).toBe(false);
      expect(existsSync(join(podDir, "worker/whoami"))).toBe(false);
      // The guide: `kubectl get pod my-pod -o yaml | grep coredog` shows the injection.
      expect(await ok(["get", "pod", "-n", "shop", name, "-o", "yaml"])).toContain("coredog");
    }
    const injected = grep("inject core dump directory at /corefile into shop/api-");
    expect(injected.length).toBeGreaterThanOrEqual(2);
    expect(injected[0]).toMatch(/\(owner ReplicaSet\/api-[a-z0-9]+\)/);
    expect(injected[0]).toContain("containers=app,worker");
  });

  it("produces and logs every skip reason of the guide's table, greppable by pod name", async () => {
    const cases: [string, Record<string, string>, string][] = [
      ["my-pod-noann", {}, "no annotations"],
      [
        "my-pod-noinject",
        { "coredog.io/path": "/corefile" },
        "annotation coredog.io/inject not found",
      ],
      [
        "my-pod-false",
        { "coredog.io/inject": "false", "coredog.io/path": "/corefile" },
        "inject=false",
      ],
      ["my-pod-nopath", { "coredog.io/inject": "true" }, "coredog.io/path is required but not set"],
      [
        "my-pod-etc",
        { "coredog.io/inject": "true", "coredog.io/path": "/etc" },
        "path=/etc is not allowed",
      ],
      [
        "my-pod-nocontainer",
        {
          "coredog.io/inject": "true",
          "coredog.io/path": "/corefile",
          "coredog.io/container": "sidecar",
        },
        "sidecar",
      ],
    ];
    // `create`, not `apply`: apply adds its last-applied-configuration annotation to every pod.
    for (const [name, annotations] of cases)
      await ok(["create", "-f", "-"], pod("shop", name, annotations));
    for (const [name, , reason] of cases) {
      const lines = await rig.waitFor(`log line for ${name}`, () => {
        const l = grep(name);
        return l.length > 0 ? l : undefined;
      });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('msg="skip injection: ');
      expect(lines[0]).toContain(reason);
      expect(lines[0]).toContain(`pod=shop/${name}`);
      const yaml = await ok(["get", "pod", "-n", "shop", name, "-o", "yaml"]);
      expect(yaml).not.toContain("coredog-dumps");
    }
  });

  it("skips pods in a namespace enforcing Pod Security restricted", async () => {
    const r = await rig.kubectl(["apply", "-f", "-"], {
      input: pod("locked", "psa-pod", {
        "coredog.io/inject": "true",
        "coredog.io/path": "/corefile",
      }),
    });
    // Created (or refused by Pod Security for its own reasons), but never given a hostPath by us.
    const line = await rig.waitFor("psa log line", () => grep("locked/psa-pod")[0]);
    expect(line).toContain('enforces Pod Security \\"restricted\\"');
    expect(line).toContain("code=pod-security");
    if (r.code === 0) {
      expect(await ok(["get", "pod", "-n", "locked", "psa-pod", "-o", "yaml"])).not.toContain(
        "coredog-dumps",
      );
    }
  });

  it("follows a namespace's Pod Security label through the watch", async () => {
    // "relabel" existed, unlabelled, when the cache listed namespaces: only the watch can tell
    // the cache about the label (a cache hit does no GET).
    await ok(["label", "namespace", "relabel", "pod-security.kubernetes.io/enforce=baseline"]);
    let n = 0;
    await rig.waitFor("namespace label seen", async () => {
      const name = `relabel-pod-${n++}`;
      await ok(
        ["create", "-f", "-"],
        pod("relabel", name, { "coredog.io/inject": "true", "coredog.io/path": "/corefile" }),
      );
      const line = await rig.waitFor(`log line for ${name}`, () => grep(`relabel/${name}`)[0]);
      return line.includes('enforces Pod Security \\"baseline\\"');
    });
  });
});

describe("with the webhook down", () => {
  it("pods are still created with failurePolicy Ignore (the guide's emergency patch)", async () => {
    await ok([
      "patch",
      "mutatingwebhookconfiguration",
      "coredog",
      "--type=json",
      '-p=[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]',
    ]);
    await stopWebhookProcess();
    expect(hookOut).toContain('msg="webhook stopped"');
    await ok(
      ["apply", "-f", "-"],
      pod("shop", "while-down", { "coredog.io/inject": "true", "coredog.io/path": "/corefile" }),
    );
    const yaml = await ok(["get", "pod", "-n", "shop", "while-down", "-o", "yaml"]);
    expect(yaml).toContain("name: while-down");
    expect(yaml).not.toContain("coredog-dumps");
    // With Fail the same pod is refused: why the guide's emergency procedure exists.
    await ok([
      "patch",
      "mutatingwebhookconfiguration",
      "coredog",
      "--type=json",
      '-p=[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Fail"}]',
    ]);
    const refused = await rig.kubectl(["apply", "-f", "-"], {
      input: pod("shop", "while-down-2", {}),
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("failed calling webhook");
  });
});
