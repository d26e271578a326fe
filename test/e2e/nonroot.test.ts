// Cores from pods that do not run as root: the rig creates each container's directory as the kubelet does (the
// node directory's mode, which the watcher sets to 1733) and runs the process with the credentials the runtime
// gives it; every pod crashes for real and ends with its core stored and reported. Then what a non-root user
// cannot do with somebody else's core, and planted links refused.
import { spawnSync } from "node:child_process";
import { chmodSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DUMP_DIR_MODE } from "../../src/names.js";
import { startRig, type Rig } from "../rig/index.js";
import type { WatcherProc } from "../unit/watcher/harness.js";
import { coreKeys } from "../unit/watcher/stored.js";
import { admitted, crash, sleeper, startWatcher, uploadedEvents } from "./support/crash-pods.js";

const NS = "users";
let rig: Rig;
let watcher: WatcherProc | undefined;
let scratch: string | undefined;

beforeAll(async () => {
  rig = await startRig({ coreDumps: true });
  await rig.s3.createBucket("crashes");
});
afterAll(async () => {
  await watcher?.stop();
  await rig?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const kubectl = async (args: string[], input?: string): Promise<string> => {
  const r = await rig.kubectl(args, input === undefined ? {} : { input });
  expect(r.code, `kubectl ${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r.stdout;
};

/** Runs bash with these credentials on the node (for what a pod's user could do if it reached the path). */
const as = (uid: number, script: string) =>
  spawnSync(
    "/usr/bin/setpriv",
    [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--", "/bin/bash", "-c", script],
    { encoding: "utf8" },
  );

it("stores the cores of pods running as any user, and keeps them apart", async () => {
  await kubectl(["create", "namespace", NS]);
  await kubectl(["create", "namespace", "coredog-system"]);
  // The watcher's own pod (a stand-in the node runs), where it publishes the node state doctor reads.
  await kubectl(
    ["apply", "-f", "-"],
    `apiVersion: v1
kind: Pod
metadata:
  name: watcher-node-1
  namespace: coredog-system
  labels: { app.kubernetes.io/name: coredog, app.kubernetes.io/component: watcher }
spec:
  containers:
    - { name: w, image: busybox, command: ["/bin/sh", "-c", "sleep 3600"] }
`,
  );
  // Before CoreDog's watcher ran on the node: the kubelet made the node directory 0755 (hostPath
  // DirectoryOrCreate) and the container's directory with that mode, so a non-root crash leaves nothing.
  await kubectl(
    ["apply", "-f", "-"],
    JSON.stringify(
      admitted(NS, "before", {
        securityContext: { runAsUser: 1000 },
        containers: [{ name: "app", image: "debian:12", command: crash("0.2") }],
      }),
    ),
  );
  await rig.waitFor(
    "the pod that crashed before the watcher ran",
    async () =>
      (await kubectl(["get", "pod", "-n", NS, "before", "-o", "jsonpath={.status.phase}"])) ===
      "Failed",
    60_000,
  );
  const beforeDir = join(rig.nodes[0]!.hostRoot, "data/coredog-system/dumps", NS, "before", "app");
  expect(statSync(beforeDir).mode & 0o7777).toBe(0o755);
  expect(readdirSync(beforeDir)).toEqual([]);

  let dumps: string;
  ({ watcher, scratch, dumps } = await startWatcher(rig, "crashes", {
    namespace: "coredog-system",
    name: "watcher-node-1",
  }));
  expect(statSync(dumps).mode & 0o7777).toBe(DUMP_DIR_MODE);
  // ... and it brought the directories made before to that mode too.
  expect(statSync(beforeDir).mode & 0o7777).toBe(DUMP_DIR_MODE);

  const one = (name: string, spec: V1Pod["spec"]) => admitted(NS, name, spec);
  const app = { name: "app", image: "debian:12", command: crash() };
  const pods: V1Pod[] = [
    one("uid1000", {
      securityContext: { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true },
      containers: [app],
    }),
    one("groups", {
      securityContext: {
        runAsUser: 2000,
        runAsGroup: 3000,
        fsGroup: 4000,
        supplementalGroups: [5000],
      },
      containers: [app],
    }),
    one("random", { securityContext: { runAsUser: 1000680000 }, containers: [app] }),
    one("init", {
      initContainers: [
        {
          name: "migrate",
          image: "debian:12",
          securityContext: { runAsUser: 1001 },
          command: crash(),
        },
      ],
      containers: [{ name: "app", image: "debian:12", command: sleeper() }],
    }),
    one("fast", {
      securityContext: { runAsUser: 1000 },
      containers: [{ ...app, command: crash("0.05") }],
    }),
    one("root", { containers: [app] }),
    // A hostile non-root pod: plants a symlink and a hard link before it crashes.
    one("planter", {
      securityContext: { runAsUser: 1002 },
      containers: [
        {
          name: "app",
          image: "debian:12",
          command: [
            "/bin/bash",
            "-c",
            "ln -s /etc/shadow /corefile/core.link; echo x > /corefile/core.mine; ln /corefile/core.mine /corefile/core.hard; ls /corefile; echo ls=$?; ulimit -c unlimited; sleep 1; kill -SEGV $BASHPID",
          ],
        },
      ],
    }),
  ];
  for (const p of pods) await kubectl(["apply", "-f", "-"], JSON.stringify(p));

  const wants: [string, string, number | undefined][] = [
    ["uid1000", "app", 1000],
    ["groups", "app", 2000],
    ["random", "app", 1000680000],
    ["init", "migrate", 1001],
    ["fast", "app", 1000],
    ["root", "app", 0],
    ["planter", "app", 1002],
  ];
  for (const [pod, container] of wants) {
    const event = await rig.waitFor(
      `the CoreDumpUploaded event of ${pod}`,
      async () => (await uploadedEvents(rig, NS, pod))[0],
      90_000,
    );
    expect(event.message).toContain(`container ${container}`);
    const listed = await coreKeys(rig.s3.client, "crashes", `corefiles/${NS}/${pod}/${container}/`);
    expect(listed.length, pod).toBe(1);
    const head = await rig.s3.client.send(
      new HeadObjectCommand({ Bucket: "crashes", Key: listed[0]! }),
    );
    expect(head.Metadata).toMatchObject({ pod, container, signal: "11" });
    await rig.receivers.waitFor(
      "slack",
      (r) => JSON.stringify(r.body).includes(`[${NS}/${pod}] core:`),
      30_000,
    );
  }
  // The kubelet made each container's directory with the node directory's mode, owned by root.
  for (const [pod, container] of wants) {
    const st = statSync(join(dumps, NS, pod, container));
    expect(st.mode & 0o7777, pod).toBe(DUMP_DIR_MODE);
    expect(st.uid).toBe(0);
  }

  // doctor reads the node directory's mode the watcher published and finds every user of these pods served.
  for (const pod of ["uid1000", "groups", "random", "init"]) {
    const check = await rig.waitFor(
      `doctor's dir-writable check for ${pod}`,
      async () => {
        const r = await rig.kubectl(["coredog", "doctor", pod, "-n", NS, "-o", "json"]);
        const report = JSON.parse(r.stdout || "{}") as {
          checks?: { id: string; status: string; detail?: string }[];
        };
        const c = report.checks?.find((x) => x.id === "dir-writable");
        return c?.status === "pass" ? c : undefined;
      },
      30_000,
    );
    expect(check.detail).toContain("/data/coredog-system/dumps on node-1 is 1733 owned by 0:0");
  }

  // Planted links are refused and left alone; the pod's user could not list its own directory.
  await watcher!.waitFor(/refused \S*\/planter\/app\/core\.link: it is a symbolic link/, 30_000);
  await watcher!.waitFor(/refused \S*\/planter\/app\/core\.hard: it has 2 hard links/, 30_000);
  const planterLog = await kubectl(["logs", "-n", NS, "planter"]);
  expect(planterLog).toMatch(/ls=[1-9]/);

  // Another user's core: a file of uid 2000 (the kernel writes cores 0600) in uid1000's directory.
  // Let uid 1001 reach the node directory's parents (in a cluster a pod cannot reach them at all).
  for (let d = dirname(dumps); d !== "/" && d !== dirname(d); d = dirname(d)) {
    chmodSync(d, statSync(d).mode | 0o001);
  }
  const victimDir = join(dumps, NS, "uid1000", "app");
  const victim = join(victimDir, "core.other.1.h.1");
  const planted = as(2000, `umask 077; echo secret > ${victim}`);
  expect(planted.status, planted.stderr).toBe(0);
  const r = as(
    1001,
    [
      `ls ${join(dumps, NS)}; echo ns=$?`,
      `ls ${victimDir}; echo dir=$?`,
      `cat ${victim}; echo read=$?`,
      `echo evil > ${victim}; echo write=$?`,
      `rm -f ${victim}; echo rm=$?`,
      `echo evil > /tmp/evil-$$ && mv /tmp/evil-$$ ${victim}; echo mv=$?; rm -f /tmp/evil-$$`,
      `ln -s /etc/passwd ${victimDir}/core.sym; echo link=$?`,
    ].join("; "),
  );
  for (const what of ["ns", "dir", "read", "write", "rm", "mv"]) {
    expect(r.stdout, `${what}: ${r.stdout}`).toMatch(new RegExp(`${what}=[1-9]`));
  }
  expect(r.stdout).not.toContain("secret");
  // It may create its own entries there (the directory is writable for all)...
  expect(r.stdout).toMatch(/link=0/);
  // ... which the watcher refuses, and the victim's file is intact.
  await watcher!.waitFor(/refused \S*\/uid1000\/app\/core\.sym: it is a symbolic link/, 30_000);
  expect(statSync(victim).uid).toBe(2000);
}, 240_000);
