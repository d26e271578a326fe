// The rig's API server against the real kubectl 1.32 and @kubernetes/client-node.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  Watch,
  type V1Pod,
} from "@kubernetes/client-node";
import { startApiServer, type ApiServer } from "./apiserver/index.js";
import { kubectl, kubectlStream, startTestWebhook, type TestWebhook } from "./apiserver/testing.js";

let api: ApiServer;
let dir: string;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
const k = (args: string[], input?: string) => kubectl(api.kubeconfigPath, args, input);

const deployment = (replicas: number, image = "busybox:1.36") => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: ${image}
        command: ["/bin/sh", "-c", "sleep 1000"]
        env:
        - {name: A, value: "1"}
        ports:
        - containerPort: 8080
`;

const pod = (name: string, extra: Record<string, unknown> = {}): V1Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, ...extra },
  spec: { containers: [{ name: "c", image: "busybox", command: ["sleep", "100"] }] },
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rig-apiserver-"));
  api = await startApiServer({ dir, watchHistory: 300 });
  kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
});

afterAll(async () => {
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("HTTPS, auth and discovery", () => {
  it("serves HTTPS with its CA and refuses requests without a valid token with a 401 Status", async () => {
    expect(api.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(api.caPem).toContain("BEGIN CERTIFICATE");
    const { request } = await import("node:https");
    const status = await new Promise<{ code: number; body: string }>((resolve, reject) => {
      const req = request(
        `${api.url}/api/v1/namespaces`,
        { ca: api.caPem, headers: { Authorization: "Bearer nope" } },
        (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve({ code: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(status.code).toBe(401);
    expect(JSON.parse(status.body)).toMatchObject({
      kind: "Status",
      reason: "Unauthorized",
      code: 401,
    });
  });

  it("answers kubectl version, api-resources and get all with the bootstrap namespaces", async () => {
    const v = await k(["version", "-o", "json"]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).serverVersion.minor).toBe("32");
    const r = await k(["api-resources"]);
    expect(r.stdout).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    expect(r.stdout).toMatch(/^pods\s+po\s+v1\s+true\s+Pod$/m);
    expect(r.stdout).toMatch(
      /^mutatingwebhookconfigurations\s+admissionregistration\.k8s\.io\/v1\s+false/m,
    );
    const ns = await k(["get", "ns"]);
    expect(ns.stdout).toMatch(/^NAME\s+STATUS\s+AGE$/m);
    for (const n of ["default", "kube-system", "kube-public", "kube-node-lease"])
      expect(ns.stdout).toMatch(new RegExp(`^${n}\\s+Active`, "m"));
    const labels = await k(["get", "ns", "kube-system", "-o", "jsonpath={.metadata.labels}"]);
    expect(labels.stdout).toContain('"kubernetes.io/metadata.name":"kube-system"');
    const sa = await k(["get", "sa", "default", "-n", "kube-public", "-o", "name"]);
    expect(sa.stdout.trim()).toBe("serviceaccount/default");
    const all = await k(["get", "all"]);
    expect(all.stdout).toMatch(/service\/kubernetes\s+ClusterIP\s+10\.96\.0\.1/);
    const unknown = await k(["get", "--raw", "/apis/apps/v1/namespaces/default/widgets"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("NotFound");
  });
});

describe("kubectl writes", () => {
  it("apply -f creates, is idempotent, and reports configured on change (generation bumps)", async () => {
    const a1 = await k(["apply", "-f", "-"], deployment(2));
    expect(a1.stderr).toBe("");
    expect(a1.stdout.trim()).toBe("deployment.apps/web created");
    const a2 = await k(["apply", "-f", "-"], deployment(2));
    expect(a2.stdout.trim()).toBe("deployment.apps/web unchanged");
    const a3 = await k(["apply", "-f", "-"], deployment(3, "busybox:1.37"));
    expect(a3.stdout.trim()).toBe("deployment.apps/web configured");
    const d = await apps.readNamespacedDeployment({ name: "web", namespace: "default" });
    expect(d.spec?.replicas).toBe(3);
    expect(d.metadata?.generation).toBe(2);
    expect(d.spec?.template.spec?.containers[0]?.image).toBe("busybox:1.37");
    expect(d.spec?.template.spec?.containers[0]?.env).toEqual([{ name: "A", value: "1" }]);
    expect(d.spec?.strategy?.type).toBe("RollingUpdate");
    expect(d.spec?.template.spec?.containers[0]?.ports?.[0]?.protocol).toBe("TCP");
    const table = await k(["get", "deploy"]);
    expect(table.stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/m);
    expect(table.stdout).toMatch(/^web\s+0\/3\s+0\s+0\s+\d+s$/m);
    const wide = await k(["get", "deploy", "-o", "wide"]);
    expect(wide.stdout).toMatch(/^web\s+0\/3\s+0\s+0\s+\S+\s+app\s+busybox:1\.37\s+app=web$/m);
  });

  it("rollout restart, scale, annotate, label and three patch types", async () => {
    expect((await k(["rollout", "restart", "deployment/web"])).stdout.trim()).toBe(
      "deployment.apps/web restarted",
    );
    const ann = await k([
      "get",
      "deploy",
      "web",
      "-o",
      "jsonpath={.spec.template.metadata.annotations}",
    ]);
    expect(ann.stdout).toContain("kubectl.kubernetes.io/restartedAt");
    expect((await k(["scale", "deploy", "web", "--replicas=1"])).stdout.trim()).toBe(
      "deployment.apps/web scaled",
    );
    expect((await k(["annotate", "deploy", "web", "team=core"])).stdout.trim()).toBe(
      "deployment.apps/web annotated",
    );
    expect((await k(["label", "deploy", "web", "tier=front"])).stdout.trim()).toBe(
      "deployment.apps/web labeled",
    );
    expect(
      (await k(["patch", "deploy", "web", "--type", "merge", "-p", '{"spec":{"replicas":4}}']))
        .code,
    ).toBe(0);
    expect(
      (
        await k([
          "patch",
          "deploy",
          "web",
          "--type",
          "json",
          "-p",
          '[{"op":"add","path":"/spec/minReadySeconds","value":2}]',
        ])
      ).code,
    ).toBe(0);
    const smp = await k([
      "patch",
      "deploy",
      "web",
      "--type",
      "strategic",
      "-p",
      '{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"B","value":"2"}],"volumeMounts":[{"name":"v","mountPath":"/v"}]}],"volumes":[{"name":"v","emptyDir":{}}]}}}}',
    ]);
    expect(smp.stderr).toBe("");
    const d = await apps.readNamespacedDeployment({ name: "web", namespace: "default" });
    expect(d.spec?.replicas).toBe(4);
    expect(d.spec?.minReadySeconds).toBe(2);
    expect(d.metadata?.annotations?.team).toBe("core");
    expect(d.metadata?.labels?.tier).toBe("front");
    const c = d.spec?.template.spec?.containers[0];
    expect(c?.env).toEqual([
      { name: "A", value: "1" },
      { name: "B", value: "2" },
    ]);
    expect(c?.image).toBe("busybox:1.37");
    expect(c?.volumeMounts).toEqual([{ name: "v", mountPath: "/v" }]);
    // $patch: delete on a merge-keyed list element
    await k([
      "patch",
      "deploy",
      "web",
      "-p",
      '{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"A","$patch":"delete"}]}]}}}}',
    ]);
    const d2 = await apps.readNamespacedDeployment({ name: "web", namespace: "default" });
    expect(d2.spec?.template.spec?.containers[0]?.env).toEqual([{ name: "B", value: "2" }]);
    const bad = await k([
      "patch",
      "deploy",
      "web",
      "--type",
      "json",
      "-p",
      '[{"op":"remove","path":"/spec/template/spec/volumes"}]',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(
      'spec.template.spec.containers[0].volumeMounts[0].name: Not found: "v"',
    );
  });

  it("apply -k of a kustomization", async () => {
    const kdir = join(dir, "kust");
    mkdirSync(kdir, { recursive: true });
    writeFileSync(
      join(kdir, "kustomization.yaml"),
      "namespace: kz\nresources: [ns.yaml, cm.yaml]\nlabels: [{pairs: {app.kubernetes.io/name: kz}}]\n",
    );
    writeFileSync(join(kdir, "ns.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: kz}\n");
    writeFileSync(
      join(kdir, "cm.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {config.yaml: 'a: 1'}\n",
    );
    const r1 = await k(["apply", "-k", kdir]);
    expect(r1.stderr).toBe("");
    expect(r1.stdout).toContain("namespace/kz created");
    expect(r1.stdout).toContain("configmap/settings created");
    const r2 = await k(["apply", "-k", kdir]);
    expect(r2.stdout).toContain("configmap/settings unchanged");
    const cm = await k(["get", "cm", "-n", "kz", "-l", "app.kubernetes.io/name=kz", "-o", "yaml"]);
    expect(cm.stdout).toContain("config.yaml: 'a: 1'");
  });

  it("create, get -o json|yaml, dry run, conflicts, invalid objects and missing namespaces", async () => {
    const c = await k(["create", "-f", "-"], JSON.stringify(pod("p1", { labels: { tier: "x" } })));
    expect(c.stdout.trim()).toBe("pod/p1 created");
    const again = await k(["create", "-f", "-"], JSON.stringify(pod("p1")));
    expect(again.stderr).toContain(
      'Error from server (AlreadyExists): error when creating "STDIN": pods "p1" already exists',
    );
    const json = JSON.parse((await k(["get", "pod", "p1", "-o", "json"])).stdout);
    expect(json.spec.restartPolicy).toBe("Always");
    expect(json.spec.serviceAccountName).toBe("default");
    expect(json.spec.containers[0].terminationMessagePath).toBe("/dev/termination-log");
    expect(json.spec.containers[0].imagePullPolicy).toBe("Always");
    expect(json.status.phase).toBe("Pending");
    expect(json.spec.volumes[0].name).toMatch(/^kube-api-access-/);
    expect(json.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    const yaml = await k(["get", "pod", "p1", "-o", "yaml"]);
    expect(yaml.stdout).toContain("kind: Pod");
    const pods = await k(["get", "pods"]);
    expect(pods.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
    expect(pods.stdout).toMatch(/^p1\s+0\/1\s+Pending\s+0\s+\d+s$/m);
    const wide = await k(["get", "pods", "-o", "wide"]);
    expect(wide.stdout).toMatch(
      /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/m,
    );

    const dry = await k(
      ["create", "-f", "-", "--dry-run=server", "-o", "name"],
      JSON.stringify(pod("p-dry")),
    );
    expect(dry.stdout.trim()).toBe("pod/p-dry");
    expect((await k(["get", "pod", "p-dry"])).stderr).toContain('pods "p-dry" not found');

    const fresh = await core.readNamespacedPod({ name: "p1", namespace: "default" });
    const stale = structuredClone(fresh);
    fresh.metadata!.labels = { tier: "y" };
    await core.replaceNamespacedPod({ name: "p1", namespace: "default", body: fresh });
    stale.metadata!.labels = { tier: "z" };
    const conflict = await core
      .replaceNamespacedPod({ name: "p1", namespace: "default", body: stale })
      .catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(ApiException);
    expect((conflict as ApiException<string>).code).toBe(409);
    expect(String((conflict as ApiException<string>).body)).toContain(
      "the object has been modified",
    );

    const invalid = pod("Bad_Name");
    invalid.spec!.containers.push({ name: "c", image: "x" });
    const inv = await k(["create", "-f", "-"], JSON.stringify(invalid));
    expect(inv.stderr).toContain('Pod "Bad_Name" is invalid');
    expect(inv.stderr).toContain('metadata.name: Invalid value: "Bad_Name"');
    expect(inv.stderr).toContain('spec.containers[1].name: Duplicate value: "c"');
    const noContainers = await k(
      ["create", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "empty" },
        spec: { containers: [] },
      }),
    );
    expect(noContainers.stderr).toContain("spec.containers: Required value");
    const noNs = await k(["create", "-n", "nowhere", "-f", "-"], JSON.stringify(pod("p2")));
    expect(noNs.stderr).toContain('namespaces "nowhere" not found');
  });

  it("delete: unscheduled pods go at once; scheduled pods wait for the node's final delete", async () => {
    await core.createNamespacedPod({ namespace: "default", body: pod("gone") });
    expect((await k(["delete", "pod", "gone"])).stdout.trim()).toBe('pod "gone" deleted');
    const sched = pod("sched");
    sched.spec!.nodeName = "node-1";
    await core.createNamespacedPod({ namespace: "default", body: sched });
    const del = kubectlStream(api.kubeconfigPath, ["delete", "pod", "sched"]);
    await del.waitFor(/pod "sched" deleted/);
    let marked: V1Pod | undefined;
    for (let i = 0; i < 50 && !marked?.metadata?.deletionTimestamp; i++) {
      marked = await core.readNamespacedPod({ name: "sched", namespace: "default" });
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(marked?.metadata?.deletionTimestamp).toBeTruthy();
    expect(del.child.exitCode).toBeNull(); // kubectl waits for the object to disappear
    await core.deleteNamespacedPod({ name: "sched", namespace: "default", gracePeriodSeconds: 0 });
    const code = await new Promise<number | null>((r) =>
      del.child.exitCode !== null ? r(del.child.exitCode) : del.child.on("exit", r),
    );
    expect(code).toBe(0);
  });
});

describe("namespaces", () => {
  it("deleting a namespace removes its objects; kubectl waits until it is gone", async () => {
    await k(["create", "ns", "doomed"]);
    await k(["create", "cm", "c1", "-n", "doomed", "--from-literal=a=b"]);
    const p = pod("sched");
    p.spec!.nodeName = "node-1";
    await core.createNamespacedPod({ namespace: "doomed", body: p });
    const del = kubectlStream(api.kubeconfigPath, ["delete", "ns", "doomed"]);
    await del.waitFor(/namespace "doomed" deleted/);
    expect((await k(["get", "ns", "doomed", "-o", "jsonpath={.status.phase}"])).stdout).toBe(
      "Terminating",
    );
    expect((await k(["get", "cm", "-n", "doomed", "-o", "name"])).stdout.trim()).toBe("");
    const refused = await k(["create", "cm", "c2", "-n", "doomed"]);
    expect(refused.stderr).toContain("because it is being terminated");
    await core.deleteNamespacedPod({ name: "sched", namespace: "doomed", gracePeriodSeconds: 0 });
    const code = await new Promise<number | null>((r) =>
      del.child.exitCode !== null ? r(del.child.exitCode) : del.child.on("exit", r),
    );
    expect(code).toBe(0);
    expect((await k(["get", "ns", "doomed"])).stderr).toContain('namespaces "doomed" not found');
  });
});

describe("list and watch", () => {
  it("kubectl get pods -w streams an added pod", async () => {
    const w = kubectlStream(api.kubeconfigPath, ["get", "pods", "-w", "-l", "watch=me"]);
    try {
      await new Promise((r) => setTimeout(r, 700));
      await core.createNamespacedPod({
        namespace: "default",
        body: pod("watched", { labels: { watch: "me" } }),
      });
      await w.waitFor(/^watched\s+0\/1\s+Pending\s+0\s+\d+s$/m);
      await core.patchNamespacedPod({
        name: "watched",
        namespace: "default",
        body: [{ op: "add", path: "/metadata/labels/x", value: "1" }],
      });
      await w.waitFor(/watched[\s\S]*watched/);
      expect(w.output().match(/^NAME\s+READY/gm)?.length).toBe(1);
    } finally {
      w.child.kill();
    }
  });

  it("label and field selectors, chunked lists", async () => {
    for (const [n, env] of [
      ["sel-a", "prod"],
      ["sel-b", "dev"],
      ["sel-c", "prod"],
    ] as const) {
      await core.createNamespacedPod({
        namespace: "default",
        body: pod(n, { labels: { env, group: "sel" } }),
      });
    }
    const names = async (args: string[]) =>
      (await k(["get", "pods", "-o", "name", ...args])).stdout.trim().split("\n").filter(Boolean);
    expect(await names(["-l", "env=prod"])).toEqual(["pod/sel-a", "pod/sel-c"]);
    expect(await names(["-l", "group=sel,env!=prod"])).toEqual(["pod/sel-b"]);
    expect(await names(["-l", "env in (dev,qa)"])).toEqual(["pod/sel-b"]);
    expect(await names(["-l", "group=sel,env notin (dev)"])).toEqual(["pod/sel-a", "pod/sel-c"]);
    expect(await names(["-l", "group,!nothere,env==dev"])).toEqual(["pod/sel-b"]);
    expect(await names(["--field-selector", "metadata.name=sel-c"])).toEqual(["pod/sel-c"]);
    expect(
      await names([
        "--field-selector",
        "status.phase=Pending,metadata.name!=sel-a",
        "-l",
        "group=sel",
      ]),
    ).toEqual(["pod/sel-b", "pod/sel-c"]);
    const bad = await k(["get", "pods", "--field-selector", "spec.bogus=x"]);
    expect(bad.stderr).toContain("field label not supported: spec.bogus");
    const chunked = await k(["get", "pods", "-l", "group=sel", "-o", "name", "--chunk-size=1"]);
    expect(chunked.stdout.trim().split("\n")).toEqual(["pod/sel-a", "pod/sel-b", "pod/sel-c"]);
    const page = await core.listNamespacedPod({
      namespace: "default",
      labelSelector: "group=sel",
      limit: 2,
    });
    expect(page.items.map((p) => p.metadata?.name)).toEqual(["sel-a", "sel-b"]);
    const rest = await core.listNamespacedPod({
      namespace: "default",
      labelSelector: "group=sel",
      limit: 2,
      _continue: page.metadata!._continue!,
    });
    expect(rest.items.map((p) => p.metadata?.name)).toEqual(["sel-c"]);
  });

  it("watch resumes from a resourceVersion and answers 410 Expired for one older than the window", async () => {
    const list = await core.listNamespacedConfigMap({ namespace: "default" });
    const rv = list.metadata!.resourceVersion!;
    await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "w1" }, data: { a: "1" } },
    });
    const cm = await core.readNamespacedConfigMap({ name: "w1", namespace: "default" });
    cm.data = { a: "2" };
    await core.replaceNamespacedConfigMap({ name: "w1", namespace: "default", body: cm });
    await core.deleteNamespacedConfigMap({ name: "w1", namespace: "default" });
    const events: string[] = [];
    const watch = new Watch(kc);
    const done = new Promise<void>((resolve) => {
      void watch
        .watch(
          "/api/v1/namespaces/default/configmaps",
          { resourceVersion: rv, fieldSelector: "metadata.name=w1" },
          (type, obj: { data?: { a?: string } }) => {
            events.push(`${type}:${obj.data?.a ?? ""}`);
            if (type === "DELETED") resolve();
          },
          () => resolve(),
        )
        .then((req) => setTimeout(() => req.abort(), 3000));
    });
    await done;
    expect(events).toEqual(["ADDED:1", "MODIFIED:2", "DELETED:2"]);

    for (let i = 0; i < 320; i++)
      api.store.create("configmaps", {
        metadata: { name: `churn-${i}`, namespace: "kube-public" },
      });
    const errors: unknown[] = [];
    const expired = await new Promise<string>((resolve) => {
      void watch.watch(
        "/api/v1/namespaces/default/configmaps",
        { resourceVersion: rv },
        (type, obj: { code?: number; reason?: string }) => {
          if (type === "ERROR") resolve(`${obj.code} ${obj.reason}`);
        },
        (err) => {
          errors.push(err);
          resolve("closed");
        },
      );
    });
    expect(expired).toBe("410 Expired");
  });
});

describe("events and logs", () => {
  it("get events with field selectors; describe pod shows them", async () => {
    const p = await core.readNamespacedPod({ name: "p1", namespace: "default" });
    await core.createNamespacedEvent({
      namespace: "default",
      body: {
        metadata: { name: "p1.core1" },
        involvedObject: {
          kind: "Pod",
          name: "p1",
          namespace: "default",
          uid: p.metadata!.uid!,
          apiVersion: "v1",
        },
        reason: "CoreDumpCaptured",
        message: "core.app.1 captured",
        type: "Warning",
        source: { component: "coredog-watcher", host: "node-1" },
        reportingComponent: "coredog-watcher",
        reportingInstance: "node-1",
        count: 1,
        firstTimestamp: new Date(),
        lastTimestamp: new Date(),
      },
    });
    const ev = await k([
      "get",
      "events",
      "--field-selector",
      "reason=CoreDumpCaptured,involvedObject.name=p1",
    ]);
    expect(ev.stdout).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/m);
    expect(ev.stdout).toMatch(/Warning\s+CoreDumpCaptured\s+pod\/p1\s+core\.app\.1 captured/);
    const none = await k(["get", "events", "--field-selector", "reportingComponent=other"]);
    expect(none.stdout + none.stderr).toContain("No resources found");
    const v1 = await k([
      "get",
      "events.v1.events.k8s.io",
      "-o",
      "jsonpath={.items[0].regarding.name} {.items[0].note}",
    ]);
    expect(v1.stdout).toBe("p1 core.app.1 captured");
    const desc = await k(["describe", "pod", "p1"]);
    expect(desc.stdout).toMatch(
      /Warning\s+CoreDumpCaptured\s+\S+\s+coredog-watcher\s+core\.app\.1 captured/,
    );
  });

  it("kubectl logs (+ --tail, -c, -l, -f) reads <logsDir>/<ns>/<pod>/<container>.log", async () => {
    const logDir = join(dir, "logs", "default", "p1");
    mkdirSync(logDir, { recursive: true });
    writeFileSync(join(logDir, "c.log"), "one\ntwo\nthree\n");
    expect((await k(["logs", "p1"])).stdout).toBe("one\ntwo\nthree\n");
    expect((await k(["logs", "p1", "--tail=1"])).stdout).toBe("three\n");
    expect((await k(["logs", "p1", "-c", "c"])).stdout).toBe("one\ntwo\nthree\n");
    expect((await k(["logs", "-l", "tier=y"])).stdout).toBe("one\ntwo\nthree\n");
    const bad = await k(["logs", "p1", "-c", "nope"]);
    expect(bad.stderr).toContain("container nope is not valid for pod p1");
    const follow = kubectlStream(api.kubeconfigPath, ["logs", "-f", "p1"]);
    try {
      await follow.waitFor(/three\n/);
      const { appendFileSync } = await import("node:fs");
      appendFileSync(join(logDir, "c.log"), "four\n");
      await follow.waitFor(/four\n/);
    } finally {
      follow.child.kill();
    }
  });
});

describe("RBAC", () => {
  it("forbids a limited user with Kubernetes' wording, allows after a RoleBinding; auth can-i agrees", async () => {
    const cfg = api.kubeconfigFor("alice", ["dev"]);
    const denied = await kubectl(cfg, ["get", "pods", "-n", "default"]);
    expect(denied.stderr).toContain(
      'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"',
    );
    expect((await kubectl(cfg, ["auth", "can-i", "list", "pods"])).stdout.trim()).toBe("no");
    await k(
      ["create", "-f", "-"],
      JSON.stringify({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "pod-reader", namespace: "default" },
        rules: [
          { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list", "watch"] },
        ],
      }),
    );
    await k(
      ["create", "-f", "-"],
      JSON.stringify({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "devs-read-pods", namespace: "default" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" },
        subjects: [{ kind: "Group", name: "dev", apiGroup: "rbac.authorization.k8s.io" }],
      }),
    );
    const allowed = await kubectl(cfg, ["get", "pods", "-n", "default", "-o", "name"]);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain("pod/p1");
    expect((await kubectl(cfg, ["auth", "can-i", "get", "pods/log"])).stdout.trim()).toBe("yes");
    expect((await kubectl(cfg, ["auth", "can-i", "delete", "pods"])).stdout.trim()).toBe("no");
    expect(
      (await kubectl(cfg, ["auth", "can-i", "list", "pods", "-n", "kube-system"])).stdout.trim(),
    ).toBe("no");
    const del = await kubectl(cfg, ["delete", "pod", "p1"]);
    expect(del.stderr).toContain(
      'pods "p1" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace "default"',
    );
    const nodes = await kubectl(cfg, ["get", "nodes"]);
    expect(nodes.stderr).toContain(
      'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope',
    );

    // A ServiceAccount bound through a ClusterRoleBinding to the bootstrap "view" ClusterRole.
    await k(["create", "sa", "viewer"]);
    await k([
      "create",
      "clusterrolebinding",
      "viewer",
      "--clusterrole=view",
      "--serviceaccount=default:viewer",
    ]);
    const saToken = api.serviceAccountToken("default", "viewer");
    const saKc = new KubeConfig();
    saKc.loadFromFile(api.kubeconfigPath);
    saKc.users[0] = { ...saKc.users[0]!, token: saToken };
    const saCore = saKc.makeApiClient(CoreV1Api);
    expect((await saCore.listNamespacedPod({ namespace: "kube-system" })).items).toEqual([]);
    const err = await saCore
      .deleteNamespacedPod({ name: "p1", namespace: "default" })
      .catch((e: unknown) => e as ApiException<string>);
    expect((err as ApiException<string>).code).toBe(403);
    expect(String((err as ApiException<string>).body)).toContain(
      'User \\"system:serviceaccount:default:viewer\\" cannot delete resource \\"pods\\"',
    );
  });
});

describe("mutating admission", () => {
  let hook: TestWebhook;
  let defaultRespond: TestWebhook["respond"];
  beforeAll(async () => {
    hook = await startTestWebhook(["DNS:adm-hook.adm.svc"]);
    await k(["create", "ns", "adm"]);
    await k(["label", "ns", "adm", "coredog.io/test=on"]);
    defaultRespond = hook.respond;
  });
  afterAll(async () => {
    await hook?.close();
  });

  const mwc = (name: string, webhook: Record<string, unknown>) =>
    JSON.stringify({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingWebhookConfiguration",
      metadata: { name },
      webhooks: [
        {
          name: `${name}.test.io`,
          admissionReviewVersions: ["v1"],
          sideEffects: "None",
          rules: [
            { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] },
          ],
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "adm" } },
          ...webhook,
        },
      ],
    });

  it("calls the webhook with an AdmissionReview (empty name for generateName) and applies its JSON patch", async () => {
    expect(
      (
        await k(
          ["apply", "-f", "-"],
          mwc("good", {
            clientConfig: { url: hook.url, caBundle: hook.caBundle },
            failurePolicy: "Fail",
          }),
        )
      ).code,
    ).toBe(0);
    const created = await core.createNamespacedPod({
      namespace: "adm",
      body: { ...pod(""), metadata: { generateName: "gen-", labels: { a: "b" } } },
    });
    expect(created.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(created.metadata?.labels).toEqual({ a: "b", mutated: "yes" });
    const review = hook.reviews.at(-1) as { request: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(review.request.name).toBe("");
    expect(review.request.object.metadata.name).toBeUndefined();
    expect(review.request.object.metadata.generateName).toBe("gen-");
    expect(review.request).toMatchObject({
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      namespace: "adm",
      operation: "CREATE",
      dryRun: false,
      userInfo: { username: "kubernetes-admin" },
    });
    // Pods in other namespaces do not match the namespaceSelector.
    const other = await core.createNamespacedPod({ namespace: "default", body: pod("unmatched") });
    expect(other.metadata?.labels?.mutated).toBeUndefined();
    // Dry run still runs admission and says so.
    const dry = await k(
      [
        "create",
        "-n",
        "adm",
        "-f",
        "-",
        "--dry-run=server",
        "-o",
        "jsonpath={.metadata.labels.mutated}",
      ],
      JSON.stringify(pod("dry")),
    );
    expect(dry.stdout).toBe("yes");
    expect((hook.reviews.at(-1) as { request: { dryRun: boolean } }).request.dryRun).toBe(true);
    // Denials and warnings reach kubectl worded like kube-apiserver.
    hook.respond = (r) => ({
      uid: r.request.uid,
      allowed: false,
      status: { code: 403, message: "no pods today" },
      warnings: ["careful"],
    });
    const denied = await k(["create", "-n", "adm", "-f", "-"], JSON.stringify(pod("denied")));
    expect(denied.stderr).toContain(
      'admission webhook "good.test.io" denied the request: no pods today',
    );
    hook.respond = (r) => ({ uid: r.request.uid, allowed: true, warnings: ["careful now"] });
    const warned = await k(["create", "-n", "adm", "-f", "-"], JSON.stringify(pod("warned")));
    expect(warned.stderr).toContain("Warning: careful now");
    // A patch that makes the pod invalid is refused by validation.
    hook.respond = (r) => ({
      uid: r.request.uid,
      allowed: true,
      patchType: "JSONPatch",
      patch: Buffer.from(
        JSON.stringify([
          {
            op: "add",
            path: "/spec/containers/0/volumeMounts/-",
            value: { name: "missing", mountPath: "/x" },
          },
        ]),
      ).toString("base64"),
    });
    const invalid = await k(["create", "-n", "adm", "-f", "-"], JSON.stringify(pod("invalid")));
    expect(invalid.stderr).toContain(
      'spec.containers[0].volumeMounts[1].name: Not found: "missing"',
    );
    await k(["delete", "mutatingwebhookconfiguration", "good"]);
  });

  it("a wrong caBundle or a dead webhook follows failurePolicy", async () => {
    const wrongCa = Buffer.from(api.caPem).toString("base64");
    await k(
      ["apply", "-f", "-"],
      mwc("ignore", {
        clientConfig: { url: hook.url, caBundle: wrongCa },
        failurePolicy: "Ignore",
      }),
    );
    const unpatched = await k(
      ["create", "-n", "adm", "-f", "-", "-o", "jsonpath={.metadata.labels}"],
      JSON.stringify(pod("ignored", { labels: { a: "b" } })),
    );
    expect(unpatched.code).toBe(0);
    expect(unpatched.stdout).toBe('{"a":"b"}');
    await k(["delete", "mutatingwebhookconfiguration", "ignore"]);

    await k(
      ["apply", "-f", "-"],
      mwc("fail", { clientConfig: { url: hook.url, caBundle: wrongCa }, failurePolicy: "Fail" }),
    );
    const refused = await k(["create", "-n", "adm", "-f", "-"], JSON.stringify(pod("refused")));
    expect(refused.stderr).toContain(
      `Error from server (InternalError): error when creating "STDIN": Internal error occurred: failed calling webhook "fail.test.io": failed to call webhook: Post "${hook.url}?timeout=10s": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
    );
    const deadUrl = "https://127.0.0.1:1/mutate";
    await k(
      ["apply", "-f", "-"],
      mwc("fail", {
        clientConfig: { url: deadUrl, caBundle: hook.caBundle },
        failurePolicy: "Fail",
        timeoutSeconds: 2,
      }),
    );
    const dead = await k(["create", "-n", "adm", "-f", "-"], JSON.stringify(pod("dead")));
    expect(dead.stderr).toContain(
      'failed calling webhook "fail.test.io": failed to call webhook: Post "https://127.0.0.1:1/mutate?timeout=2s": dial tcp 127.0.0.1:1: connect: connection refused',
    );
    await k(["delete", "mutatingwebhookconfiguration", "fail"]);
    expect(
      (
        await k(["create", "-n", "adm", "-f", "-", "-o", "name"], JSON.stringify(pod("after")))
      ).stdout.trim(),
    ).toBe("pod/after");
  });

  it("honours objectSelector, timeoutSeconds and reinvocationPolicy IfNeeded", async () => {
    hook.respond = defaultRespond;
    await k(
      ["apply", "-f", "-"],
      mwc("objsel", {
        clientConfig: { url: hook.url, caBundle: hook.caBundle },
        objectSelector: { matchLabels: { pick: "me" } },
      }),
    );
    const skipped = await core.createNamespacedPod({ namespace: "adm", body: pod("not-picked") });
    expect(skipped.metadata?.labels?.mutated).toBeUndefined();
    const picked = await core.createNamespacedPod({
      namespace: "adm",
      body: pod("picked", { labels: { pick: "me" } }),
    });
    expect(picked.metadata?.labels?.mutated).toBe("yes");
    await k(["delete", "mutatingwebhookconfiguration", "objsel"]);

    hook.respond = (r) => {
      const until = Date.now() + 1500;
      while (Date.now() < until) {
        // A webhook slower than timeoutSeconds.
      }
      return { uid: r.request.uid, allowed: true };
    };
    await k(
      ["apply", "-f", "-"],
      mwc("slow", {
        clientConfig: { url: hook.url, caBundle: hook.caBundle },
        timeoutSeconds: 1,
        failurePolicy: "Fail",
      }),
    );
    const slow = await k(["create", "-n", "adm", "-f", "-"], JSON.stringify(pod("slow")));
    expect(slow.stderr).toContain(
      `failed calling webhook "slow.test.io": failed to call webhook: Post "${hook.url}?timeout=1s": context deadline exceeded`,
    );
    await k(["delete", "mutatingwebhookconfiguration", "slow"]);

    // "b-second" (called after "a-first", by name) adds a label; "a-first" (IfNeeded) is called again because of it.
    const calls: string[] = [];
    hook.respond = (r) => {
      const labels = r.request.object.metadata.labels as Record<string, string> | undefined;
      if (calls.length === 1) {
        calls.push("second");
        const patch = [{ op: "add", path: "/metadata/labels", value: { second: "yes" } }];
        return {
          uid: r.request.uid,
          allowed: true,
          patchType: "JSONPatch",
          patch: Buffer.from(JSON.stringify(patch)).toString("base64"),
        };
      }
      calls.push(labels?.second ? "first-again" : "first");
      return { uid: r.request.uid, allowed: true };
    };
    await k(
      ["apply", "-f", "-"],
      mwc("a-first", {
        clientConfig: { url: hook.url, caBundle: hook.caBundle },
        reinvocationPolicy: "IfNeeded",
      }),
    );
    await k(
      ["apply", "-f", "-"],
      mwc("b-second", { clientConfig: { url: hook.url, caBundle: hook.caBundle } }),
    );
    const re = await core.createNamespacedPod({ namespace: "adm", body: pod("reinvoked") });
    expect(re.metadata?.labels).toEqual({ second: "yes" });
    expect(calls).toEqual(["first", "second", "first-again"]);
    await k(["delete", "mutatingwebhookconfiguration", "a-first", "b-second"]);
    hook.respond = defaultRespond;
  });

  it("resolves a service reference to a ready pod's IP:targetPort and verifies the certificate for <svc>.<ns>.svc", async () => {
    hook.respond = defaultRespond;
    const port = Number(new URL(hook.url).port);
    for (const name of ["adm-hook", "other-hook"]) {
      await core.createNamespacedService({
        namespace: "adm",
        body: {
          metadata: { name },
          spec: { selector: { app: "hook" }, ports: [{ port: 443, targetPort: "https" as never }] },
        },
      });
    }
    const body = pod("hook-0", { labels: { app: "hook" } });
    body.spec!.containers[0]!.ports = [{ name: "https", containerPort: port }];
    const before = await k(
      ["apply", "-f", "-"],
      mwc("svc", {
        clientConfig: {
          service: { name: "adm-hook", namespace: "adm", path: "/mutate" },
          caBundle: hook.caBundle,
        },
        failurePolicy: "Fail",
      }),
    );
    expect(before.code).toBe(0);
    // No ready endpoint yet (the webhook pod itself is not matched: namespaceSelector matches, so use failurePolicy Ignore meanwhile).
    await k([
      "patch",
      "mutatingwebhookconfiguration",
      "svc",
      "--type",
      "json",
      "-p",
      '[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]',
    ]);
    const hp = await core.createNamespacedPod({ namespace: "adm", body });
    hp.status = {
      phase: "Running",
      podIP: "127.0.0.1",
      conditions: [{ type: "Ready", status: "True" }],
    };
    await core.replaceNamespacedPodStatus({ name: "hook-0", namespace: "adm", body: hp });
    await k([
      "patch",
      "mutatingwebhookconfiguration",
      "svc",
      "--type",
      "json",
      "-p",
      '[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Fail"}]',
    ]);
    const ok = await k(
      ["create", "-n", "adm", "-f", "-", "-o", "jsonpath={.metadata.labels.mutated}"],
      JSON.stringify(pod("via-svc")),
    );
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toBe("yes");
    // The certificate is not valid for other-hook.adm.svc: verification fails although the address is the same.
    await k([
      "patch",
      "mutatingwebhookconfiguration",
      "svc",
      "--type",
      "json",
      "-p",
      '[{"op":"replace","path":"/webhooks/0/clientConfig/service/name","value":"other-hook"}]',
    ]);
    const r = await k(["create", "-n", "adm", "-f", "-"], JSON.stringify(pod("via-other")));
    expect(r.stderr).toContain(
      'failed calling webhook "svc.test.io": failed to call webhook: Post "https://other-hook.adm.svc:443/mutate?timeout=10s": tls: failed to verify certificate: x509: certificate is not valid for other-hook.adm.svc',
    );
    await k(["delete", "mutatingwebhookconfiguration", "svc"]);
  });
});
