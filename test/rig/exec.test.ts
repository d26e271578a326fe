// `kubectl exec` against the rig with the real kubectl (WebSocket, v5.channel.k8s.io): commands run in the
// container's mount namespace with its env, working dir, user and the runtime's RLIMIT_CORE; exit codes,
// stdin, RBAC and Kubernetes' error wording; `-it bash` in a real terminal (tmux).
import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { startRig, type Rig } from "./index.js";

let rig: Rig;
const TMUX = `rig-exec-${process.pid}`;

const pod = (
  name: string,
  node: string | undefined,
  container: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default" },
  spec: {
    ...(node ? { nodeName: node } : {}),
    terminationGracePeriodSeconds: 0,
    ...extra,
    containers: [container],
  },
});

beforeAll(async () => {
  // node-1 gives containers a soft RLIMIT_CORE of 0 (raisable), node-2 "unlimited" like containerd's unit.
  rig = await startRig({
    nodes: 2,
    s3: false,
    receivers: false,
    containerCoreLimit: (name) => (name === "node-1" ? "0:unlimited" : "unlimited"),
  });
  const pods = [
    pod(
      "app",
      "node-1",
      {
        name: "main",
        image: "debian",
        command: [
          "/bin/bash",
          "-c",
          "echo from-the-pod > /corefile/x; ulimit -c unlimited; ulimit -c > /corefile/limit; exec sleep 3600",
        ],
        env: [{ name: "GREETING", value: "hello-env" }],
        workingDir: "/corefile",
        volumeMounts: [{ name: "cf", mountPath: "/corefile" }],
      },
      { volumes: [{ name: "cf", emptyDir: {} }] },
    ),
    pod(
      "user",
      "node-2",
      {
        name: "main",
        image: "debian",
        command: ["sleep", "3600"],
        securityContext: { runAsUser: 1234, runAsGroup: 1234 },
      },
      { securityContext: { fsGroup: 4000, supplementalGroups: [5000] } },
    ),
    pod(
      "initializing",
      "node-1",
      { name: "main", image: "debian", command: ["sleep", "3600"] },
      { initContainers: [{ name: "wait", image: "debian", command: ["sleep", "3600"] }] },
    ),
    pod(
      "unscheduled",
      undefined,
      { name: "main", image: "debian", command: ["sleep", "3600"] },
      { nodeSelector: { "no-such-label": "x" } },
    ),
    pod(
      "finished",
      "node-2",
      { name: "main", image: "debian", command: ["true"] },
      { restartPolicy: "Never" },
    ),
  ];
  const applied = await rig.kubectl(["apply", "-f", "-"], {
    input: pods.map((p) => YAML.stringify(p)).join("---\n"),
  });
  expect(applied.stderr).toBe("");
  await rig.waitFor("pods app, user Running; finished Succeeded", async () => {
    const r = await rig.kubectl([
      "get",
      "pods",
      "-o",
      "jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}",
    ]);
    return (
      r.stdout.includes("app=Running") &&
      r.stdout.includes("user=Running") &&
      r.stdout.includes("finished=Succeeded") &&
      r.stdout.includes("initializing=Pending")
    );
  });
}, 90_000);

afterAll(async () => {
  spawnSync("tmux", ["-L", TMUX, "kill-server"]);
  await rig?.stop();
});

describe("kubectl exec", () => {
  it("runs the command in the pod's mount namespace, with its env, working dir and user", async () => {
    const r = await rig.kubectl(["exec", "app", "--", "cat", "/corefile/x"]);
    expect(r).toMatchObject({ stdout: "from-the-pod\n", code: 0 });
    // The same path on the host is not the pod's file.
    expect(
      spawnSync("cat", ["/corefile/x"], { encoding: "utf8" }).stdout.includes("from-the-pod"),
    ).toBe(false);

    const env = await rig.kubectl([
      "exec",
      "app",
      "-c",
      "main",
      "--",
      "sh",
      "-c",
      "echo $GREETING; pwd",
    ]);
    expect(env.stdout).toBe("hello-env\n/corefile\n");
    const id = await rig.kubectl(["exec", "user", "--", "sh", "-c", "id -u; id -g; id -G"]);
    const [uid, gid, groups] = id.stdout.trim().split("\n");
    expect([uid, gid]).toEqual(["1234", "1234"]);
    // The supplementary groups, as the container's process has them (the kubelet's exec keeps them).
    expect(groups!.split(" ").map(Number).sort()).toEqual([1234, 4000, 5000]);
  });

  it("keeps stdout and stderr apart and propagates the exit code", async () => {
    const r = await rig.kubectl([
      "exec",
      "app",
      "--",
      "sh",
      "-c",
      "echo out; echo err >&2; exit 3",
    ]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toBe("err\ncommand terminated with exit code 3\n");
    const killed = await rig.kubectl(["exec", "app", "--", "sh", "-c", "kill -9 $$"]);
    expect(killed.code).toBe(137);
  });

  it("passes stdin with -i, binary-safe, and ends it at EOF", async () => {
    const r = await rig.kubectl(["exec", "-i", "app", "--", "cat"], { input: "hi\n" });
    expect(r).toMatchObject({ stdout: "hi\n", code: 0 });
    const big = Buffer.alloc(300_000, "xyz").toString();
    const wc = await rig.kubectl(["exec", "-i", "app", "--", "wc", "-c"], { input: big });
    expect(wc.stdout.trim()).toBe(String(big.length));
  });

  it("needs create on pods/exec (RBAC), worded like Kubernetes", async () => {
    const rbac = await rig.kubectl(["apply", "-f", "-"], {
      input: [
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "Role",
          metadata: { name: "pod-reader", namespace: "default" },
          rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }],
        },
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "RoleBinding",
          metadata: { name: "pod-reader", namespace: "default" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" },
          subjects: [{ kind: "User", name: "alice", apiGroup: "rbac.authorization.k8s.io" }],
        },
      ]
        .map((o) => YAML.stringify(o))
        .join("---\n"),
    });
    expect(rbac.code).toBe(0);
    const r = await rig.kubectl(["exec", "app", "--", "true"], {
      env: { KUBECONFIG: rig.kubeconfigFor("alice") },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error from server (Forbidden): pods "app" is forbidden: User "alice" cannot create resource "pods/exec" in API group "" in the namespace "default"\n',
    );
  });

  it("reports a bad container, a container not running, an unscheduled or finished pod like Kubernetes", async () => {
    const cases: [string[], string][] = [
      [
        ["app", "-c", "nope"],
        "Error from server (BadRequest): container nope is not valid for pod app",
      ],
      [
        ["initializing", "-c", "main"],
        'error: unable to upgrade connection: container not found ("main")',
      ],
      [
        ["unscheduled"],
        "Error from server (BadRequest): pod unscheduled does not have a host assigned",
      ],
      [
        ["finished"],
        "error: cannot exec into a container in a completed pod; current phase is Succeeded",
      ],
      [["gone"], 'Error from server (NotFound): pods "gone" not found'],
    ];
    for (const [args, message] of cases) {
      const r = await rig.kubectl(["exec", ...args, "--", "true"]);
      expect({ args, code: r.code, stderr: r.stderr.trim() }).toEqual({
        args,
        code: 1,
        stderr: message,
      });
    }
    const missing = await rig.kubectl(["exec", "app", "--", "no-such-command"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^error: Internal error occurred: error executing command in container: .*exec: "no-such-command": executable file not found in \$PATH/,
    );
  });

  it("gives exec'd processes the runtime's RLIMIT_CORE, not the main process's own ulimit", async () => {
    // The guide's check. On node-1 the runtime's soft limit is 0: the pod raised only its own process's.
    const guide = await rig.kubectl(["exec", "app", "-c", "main", "--", "bash", "-c", "ulimit -c"]);
    expect(guide).toMatchObject({ stdout: "0\n", code: 0 });
    const own = await rig.kubectl(["exec", "app", "--", "cat", "/corefile/limit"]);
    expect(own.stdout).toBe("unlimited\n");
    const onNode2 = await rig.kubectl(["exec", "user", "--", "bash", "-c", "ulimit -c"]);
    expect(onNode2.stdout).toBe("unlimited\n");
  });

  it("ends the command when kubectl goes away", async () => {
    const child = rig.spawnKubectl(["exec", "app", "--", "sleep", "4321"]);
    const running = () =>
      spawnSync("pgrep", ["-f", "^sleep 4321$"], { encoding: "utf8" }).stdout.trim();
    await rig.waitFor("the exec'd sleep", running, 15_000);
    child.kill("SIGKILL");
    await rig.waitFor("the exec'd sleep to end", () => running() === "", 15_000);
  });

  it("-it bash: a real terminal, prompt, resize, exit code", async () => {
    const tmux = (...args: string[]) =>
      execFileSync("tmux", ["-L", TMUX, ...args], { encoding: "utf8" });
    const env = Object.entries(rig.env)
      .map(([k, v]) => `${k}='${v}'`)
      .join(" ");
    tmux(
      "new-session",
      "-d",
      "-s",
      "exec",
      "-x",
      "100",
      "-y",
      "30",
      `env ${env} kubectl exec -it app -- bash; echo EXITED=$?; sleep 600`,
    );
    const screen = () => tmux("capture-pane", "-p", "-t", "exec");
    await rig.waitFor("the bash prompt", () => /[#$]\s*$/m.test(screen()), 30_000);
    tmux("send-keys", "-t", "exec", "echo hello; stty size; cat /corefile/x", "Enter");
    await rig.waitFor("the command's output", () => screen().includes("from-the-pod"), 15_000);
    expect(screen()).toMatch(/^hello$/m);
    expect(screen()).toMatch(/^30 100$/m);
    tmux("resize-window", "-t", "exec", "-x", "90", "-y", "20");
    await new Promise((r) => setTimeout(r, 300));
    tmux("send-keys", "-t", "exec", "stty size; exit 5", "Enter");
    await rig.waitFor("kubectl to exit", () => screen().includes("EXITED="), 15_000);
    expect(screen()).toMatch(/^20 90$/m);
    expect(screen()).toContain("command terminated with exit code 5");
    expect(screen()).toMatch(/^EXITED=5$/m);
  });
});
