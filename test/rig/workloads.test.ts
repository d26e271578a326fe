// The rig's workload controllers, driven and observed with the real kubectl: Deployment → ReplicaSet → Pods,
// rollout restart, scale, delete (garbage collection), `get -w`, DaemonSet per node and pause, StatefulSet, Job.
import type { ChildProcess } from "node:child_process";
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRig, type Rig } from "./index.js";

let rig: Rig;
const NS = "default";

beforeAll(async () => {
  rig = await startRig({ nodes: 2, s3: false, receivers: false });
});
afterAll(async () => {
  await rig?.stop();
});

async function ok(args: string[], input?: string): Promise<string> {
  const r = await rig.kubectl(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

interface PodJson {
  metadata: {
    name: string;
    deletionTimestamp?: unknown;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    podIP?: string;
    containerStatuses?: { state?: Record<string, unknown> }[];
  };
}

/** Pods by label (read in-process: polling with a kubectl per look would only cost time). */
async function pods(selector: string): Promise<PodJson[]> {
  const list = await rig.kc
    .makeApiClient(CoreV1Api)
    .listNamespacedPod({ namespace: NS, labelSelector: selector });
  return list.items as unknown as PodJson[];
}

/** Waits until exactly n pods match, none terminating, all Running, and returns them. */
function runningPods(selector: string, n: number, timeoutMs = 30_000): Promise<PodJson[]> {
  return rig.waitFor(
    `${n} running pods ${selector}`,
    async () => {
      const ps = await pods(selector);
      return ps.length === n &&
        ps.every((p) => !p.metadata.deletionTimestamp && p.status.phase === "Running")
        ? ps
        : undefined;
    },
    timeoutMs,
  );
}

const sleeper = `
      containers:
        - name: main
          image: busybox
          command: ["/bin/sh", "-c", "sleep 3600"]
      terminationGracePeriodSeconds: 1`;

describe("Deployment", () => {
  let watcher: ChildProcess;
  let watched = "";

  it("kubectl apply creates 3 pods with generated names, IPs and nodes (get -o wide)", async () => {
    watcher = rig.spawnKubectl([
      "get",
      "pods",
      "-n",
      NS,
      "-l",
      "app=web",
      "-w",
      "--output-watch-events",
    ]);
    watcher.stdout!.setEncoding("utf8").on("data", (d: string) => (watched += d));
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${NS}
spec:
  replicas: 3
  selector:
    matchLabels: { app: web }
  strategy:
    rollingUpdate: { maxSurge: 1, maxUnavailable: 0 }
  template:
    metadata:
      labels: { app: web }
    spec:${sleeper}
`,
    );
    const ps = await runningPods("app=web", 3);
    const rsName = ps[0]!.metadata.ownerReferences?.[0]?.name ?? "";
    expect(rsName).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
    for (const p of ps) {
      expect(p.metadata.name).toMatch(new RegExp(`^${rsName}-[a-z0-9]{5}$`));
      expect(p.status.podIP).toMatch(/^127\.\d+\.\d+\.\d+$/);
      expect(["node-1", "node-2"]).toContain(p.spec.nodeName);
    }
    // Spread over both nodes (least pods first).
    expect(new Set(ps.map((p) => p.spec.nodeName)).size).toBe(2);

    const wide = await ok(["get", "pods", "-n", NS, "-l", "app=web", "-o", "wide"]);
    const lines = wide.trim().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/);
    expect(lines).toHaveLength(4);
    for (const p of ps) {
      const row = lines.find((l) => l.startsWith(`${p.metadata.name} `));
      expect(row).toMatch(/\s1\/1\s+Running\s+0\s/);
      expect(row).toContain(p.status.podIP!);
      expect(row).toContain(p.spec.nodeName!);
    }
    const events = await ok([
      "get",
      "events",
      "-n",
      NS,
      "--field-selector",
      `involvedObject.kind=ReplicaSet,involvedObject.name=${rsName}`,
      "-o",
      'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}',
    ]);
    for (const p of ps)
      expect(events).toContain(`SuccessfulCreate: Created pod: ${p.metadata.name}`);
    expect(await ok(["describe", "deployment", "web", "-n", NS])).toContain(
      `Scaled up replica set ${rsName} to 3`,
    );
    const rs = await ok([
      "get",
      "rs",
      "-n",
      NS,
      "-l",
      "app=web",
      "-o",
      "jsonpath={.items[*].metadata.labels.pod-template-hash}",
    ]);
    expect(rsName).toBe(`web-${rs.trim()}`);
  });

  it("kubectl rollout restart replaces every pod and rollout status finishes", async () => {
    const before = (await pods("app=web")).map((p) => p.metadata.name);
    await ok(["rollout", "restart", "deployment/web", "-n", NS]);
    const status = await ok(["rollout", "status", "deployment/web", "-n", NS, "--timeout=60s"]);
    expect(status).toContain('deployment "web" successfully rolled out');
    const after = await runningPods("app=web", 3);
    for (const p of after) expect(before).not.toContain(p.metadata.name);
    const sets = JSON.parse(await ok(["get", "rs", "-n", NS, "-l", "app=web", "-o", "json"])) as {
      items: {
        metadata: { name: string; annotations: Record<string, string> };
        spec: { replicas: number };
      }[];
    };
    expect(sets.items).toHaveLength(2);
    expect(sets.items.map((s) => s.spec.replicas).sort()).toEqual([0, 3]);
    // maxSurge 1 / maxUnavailable 0: one new pod at a time, an old one goes once it is available.
    const oldRs = sets.items.find((s) => s.spec.replicas === 0)!.metadata.name;
    const newRs = sets.items.find((s) => s.spec.replicas === 3)!.metadata.name;
    const described = await ok(["describe", "deployment", "web", "-n", NS]);
    expect(described).toContain(`Scaled up replica set ${newRs} to 1`);
    expect(described).toContain(`Scaled down replica set ${oldRs} to 2 from 3`);
    expect(described).toContain(`Scaled down replica set ${oldRs} to 0 from 1`);
    expect(
      sets.items.map((s) => s.metadata.annotations["deployment.kubernetes.io/revision"]).sort(),
    ).toEqual(["1", "2"]);
    const d = JSON.parse(await ok(["get", "deploy", "web", "-n", NS, "-o", "json"])) as {
      metadata: { generation: number };
      status: Record<string, unknown> & {
        conditions: { type: string; status: string; reason: string }[];
      };
    };
    expect(d.status).toMatchObject({
      observedGeneration: d.metadata.generation,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    expect(d.status.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: "Available", status: "True" }),
        expect.objectContaining({
          type: "Progressing",
          status: "True",
          reason: "NewReplicaSetAvailable",
        }),
      ]),
    );

    // revisionHistoryLimit: 0 keeps no idle old ReplicaSet.
    await ok(["patch", "deployment/web", "-n", NS, "-p", '{"spec":{"revisionHistoryLimit":0}}']);
    await rig.waitFor("the old ReplicaSet to be cleaned up", async () => {
      const names = await ok(["get", "rs", "-n", NS, "-l", "app=web", "-o", "name"]);
      return names.trim().split("\n").length === 1;
    });
  });

  it("kubectl scale changes the number of pods; a deleted pod is replaced", async () => {
    await ok(["scale", "deployment/web", "-n", NS, "--replicas=1"]);
    await runningPods("app=web", 1);
    await ok(["scale", "deployment/web", "-n", NS, "--replicas=2"]);
    const two = await runningPods("app=web", 2);
    await ok(["delete", "pod", two[0]!.metadata.name, "-n", NS, "--wait=false"]);
    const replaced = await runningPods("app=web", 2);
    expect(replaced.map((p) => p.metadata.name)).not.toContain(two[0]!.metadata.name);
    expect(replaced.map((p) => p.metadata.name)).toContain(two[1]!.metadata.name);
  });

  it("kubectl delete removes the ReplicaSets and pods (garbage collection), and get -w streamed it all", async () => {
    const names = (await pods("app=web")).map((p) => p.metadata.name);
    await ok(["delete", "deployment", "web", "-n", NS]);
    await rig.waitFor("web's ReplicaSets and pods gone", async () => {
      const out = await ok(["get", "rs,pods", "-n", NS, "-l", "app=web", "-o", "name"]);
      return out.trim() === "";
    });
    await rig
      .waitFor("the watch to see the deletions", () =>
        names.every((n) => new RegExp(`DELETED\\s+${n}\\s`).test(watched)),
      )
      .catch((err: Error) => {
        throw new Error(`${err.message}; kubectl get -w printed:\n${watched}`);
      });
    watcher.kill();
    // Events for pods of both generations: added, running, terminating and deleted.
    expect(watched).toMatch(/ADDED\s+web-\S+\s+0\/1\s+(Pending|ContainerCreating)/);
    expect(watched).toMatch(/MODIFIED\s+web-\S+\s+1\/1\s+Running/);
    expect(watched).toMatch(/MODIFIED\s+web-\S+\s+\S+\s+Terminating/);
    const seen = new Set([...watched.matchAll(/ADDED\s+(web-\S+)/g)].map((m) => m[1]));
    expect(seen.size).toBeGreaterThanOrEqual(6);
  });
});

describe("DaemonSet", () => {
  const ds = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: ${NS}
spec:
  selector:
    matchLabels: { app: agent }
  template:
    metadata:
      labels: { app: agent }
    spec:${sleeper}
`;

  it("runs one pod per node and rolls them on restart", async () => {
    await ok(["apply", "-f", "-"], ds);
    const ps = await runningPods("app=agent", 2);
    expect(ps.map((p) => p.spec.nodeName).sort()).toEqual(["node-1", "node-2"]);
    expect(await ok(["rollout", "status", "ds/agent", "-n", NS, "--timeout=30s"])).toContain(
      'daemon set "agent" successfully rolled out',
    );
    await ok(["rollout", "restart", "ds/agent", "-n", NS]);
    expect(await ok(["rollout", "status", "ds/agent", "-n", NS, "--timeout=60s"])).toContain(
      "successfully rolled out",
    );
    const after = await runningPods("app=agent", 2);
    expect(after.map((p) => p.spec.nodeName).sort()).toEqual(["node-1", "node-2"]);
    for (const p of after) expect(ps.map((x) => x.metadata.name)).not.toContain(p.metadata.name);
  });

  it("removes its pods when its nodeSelector matches no node (watcher pause) and brings them back", async () => {
    await ok([
      "patch",
      "ds/agent",
      "-n",
      NS,
      "--type",
      "merge",
      "-p",
      '{"spec":{"template":{"spec":{"nodeSelector":{"coredog.io/paused":"true"}}}}}',
    ]);
    await rig.waitFor("agent pods gone", async () => (await pods("app=agent")).length === 0);
    const status = JSON.parse(
      await ok(["get", "ds/agent", "-n", NS, "-o", "jsonpath={.status}"]),
    ) as Record<string, number>;
    expect(status).toMatchObject({
      desiredNumberScheduled: 0,
      currentNumberScheduled: 0,
      numberReady: 0,
    });
    expect(await ok(["rollout", "status", "ds/agent", "-n", NS, "--timeout=20s"])).toContain(
      "successfully rolled out",
    );

    await ok([
      "patch",
      "ds/agent",
      "-n",
      NS,
      "--type",
      "json",
      "-p",
      '[{"op":"remove","path":"/spec/template/spec/nodeSelector"}]',
    ]);
    await runningPods("app=agent", 2);
    await ok(["delete", "ds/agent", "-n", NS]);
    await rig.waitFor("agent pods deleted", async () => (await pods("app=agent")).length === 0);
  });
});

describe("StatefulSet and Job", () => {
  it("a StatefulSet's pods are <name>-<ordinal>", async () => {
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: ${NS}
spec:
  replicas: 2
  serviceName: db
  selector:
    matchLabels: { app: db }
  template:
    metadata:
      labels: { app: db }
    spec:${sleeper}
`,
    );
    const ps = await runningPods("app=db", 2);
    expect(ps.map((p) => p.metadata.name).sort()).toEqual(["db-0", "db-1"]);
    expect(await ok(["rollout", "status", "sts/db", "-n", NS, "--timeout=30s"])).toMatch(
      /roll out complete|partitioned roll out complete/,
    );
    await ok(["delete", "sts/db", "-n", NS]);
    await rig.waitFor("db pods gone", async () => (await pods("app=db")).length === 0);
  });

  it("a Job runs pods until its completions succeed", async () => {
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: batch/v1
kind: Job
metadata:
  name: once
  namespace: ${NS}
spec:
  completions: 2
  parallelism: 1
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox
          command: ["/bin/sh", "-c", "exit 0"]
`,
    );
    await ok(["wait", "--for=condition=complete", "job/once", "-n", NS, "--timeout=30s"]);
    const job = JSON.parse(await ok(["get", "job/once", "-n", NS, "-o", "json"])) as {
      status: Record<string, unknown>;
    };
    expect(job.status).toMatchObject({ succeeded: 2, failed: 0, active: 0 });
    const ps = await pods("job-name=once");
    expect(ps).toHaveLength(2);
    for (const p of ps) {
      expect(p.status.phase).toBe("Succeeded");
      expect(p.metadata.name).toMatch(/^once-[a-z0-9]{5}$/);
    }
  });
});

const podSleeper = `  containers:
    - name: main
      image: busybox
      command: ["/bin/sh", "-c", "sleep 3600"]
  terminationGracePeriodSeconds: 1`;

describe("scheduler", () => {
  it("honours required node affinity, and keeps a pod Pending until a node gets the label it selects", async () => {
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Pod
metadata:
  name: pinned
  namespace: ${NS}
  labels: { app: sched }
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions:
              - { key: kubernetes.io/hostname, operator: In, values: [node-2] }
${podSleeper}
---
apiVersion: v1
kind: Pod
metadata:
  name: picky
  namespace: ${NS}
  labels: { app: sched }
spec:
  nodeSelector: { disk: ssd }
${podSleeper}
`,
    );
    const pinned = await rig.waitFor("pinned to run", async () => {
      const p = (await pods("app=sched")).find((x) => x.metadata.name === "pinned");
      return p?.status.phase === "Running" ? p : undefined;
    });
    expect(pinned.spec.nodeName).toBe("node-2");
    await new Promise((r) => setTimeout(r, 500));
    const picky = (await pods("app=sched")).find((x) => x.metadata.name === "picky")!;
    expect(picky.spec.nodeName).toBeUndefined();
    expect(picky.status.phase).toBe("Pending");

    await ok(["label", "node", "node-1", "disk=ssd"]);
    const placed = await rig.waitFor("picky to run", async () => {
      const p = (await pods("app=sched")).find((x) => x.metadata.name === "picky");
      return p?.status.phase === "Running" ? p : undefined;
    });
    expect(placed.spec.nodeName).toBe("node-1");
    await ok(["label", "node", "node-1", "disk-"]);
    await ok(["delete", "pod", "-l", "app=sched", "-n", NS, "--wait=false"]);
  });
});

describe("Job failure", () => {
  it("a Job whose pods keep failing stops after backoffLimit with condition Failed", async () => {
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: batch/v1
kind: Job
metadata:
  name: doomed
  namespace: ${NS}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox
          command: ["/bin/sh", "-c", "exit 3"]
`,
    );
    await ok(["wait", "--for=condition=failed", "job/doomed", "-n", NS, "--timeout=30s"]);
    const job = JSON.parse(await ok(["get", "job/doomed", "-n", NS, "-o", "json"])) as {
      status: { failed: number; conditions: { type: string; reason: string }[] };
    };
    expect(job.status.failed).toBe(2);
    expect(job.status.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: "Failed", reason: "BackoffLimitExceeded" }),
      ]),
    );
    await ok(["delete", "job/doomed", "-n", NS]);
    await rig.waitFor(
      "doomed's pods collected",
      async () => (await pods("job-name=doomed")).length === 0,
    );
  });
});

describe("admission failures", () => {
  it("a ReplicaSet whose pods a failing webhook rejects records FailedCreate, and recovers when the webhook goes", async () => {
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: rig-dead
webhooks:
  - name: dead.rig.test
    admissionReviewVersions: ["v1"]
    sideEffects: None
    failurePolicy: Fail
    timeoutSeconds: 2
    objectSelector:
      matchLabels: { app: rejected }
    clientConfig:
      url: https://127.0.0.1:1/mutate
    rules:
      - operations: ["CREATE"]
        apiGroups: [""]
        apiVersions: ["v1"]
        resources: ["pods"]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rejected
  namespace: ${NS}
spec:
  replicas: 1
  selector:
    matchLabels: { app: rejected }
  template:
    metadata:
      labels: { app: rejected }
    spec:${sleeper}
`,
    );
    const failed = await rig.waitFor("a FailedCreate event", async () => {
      const out = await ok([
        "get",
        "events",
        "-n",
        NS,
        "--field-selector",
        "involvedObject.kind=ReplicaSet,reason=FailedCreate",
        "-o",
        "jsonpath={.items[*].message}",
      ]);
      return out.includes("Error creating:") ? out : undefined;
    });
    expect(failed).toContain("dead.rig.test");
    expect(await pods("app=rejected")).toHaveLength(0);

    await ok(["delete", "mutatingwebhookconfiguration", "rig-dead"]);
    await runningPods("app=rejected", 1);
    await ok(["delete", "deployment", "rejected", "-n", NS]);
  });
});
