// `kubectl coredog tui` in a real terminal (tmux) against the rig: keys in, capture-pane and the
// cluster's state out.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRig, type Rig } from "../rig/index.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const SOCKET = `coredog-tui-e2e-${process.pid}`;
const SESSION = "tui";

const FIXTURE = `
apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Namespace
metadata: { name: coredog-system }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: api, namespace: shop }
spec:
  replicas: 2
  selector: { matchLabels: { app: api } }
  template:
    metadata:
      labels: { app: api }
      annotations: { coredog.io/inject: "true", coredog.io/path: /corefile }
    spec:
      containers:
        - { name: app, image: busybox, command: ["/bin/sh", "-c", "sleep 3600"] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: cart, namespace: shop }
spec:
  replicas: 1
  selector: { matchLabels: { app: cart } }
  template:
    metadata: { labels: { app: cart } }
    spec:
      containers:
        - { name: app, image: busybox, command: ["/bin/sh", "-c", "sleep 3600"] }
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: coredog-watcher
  namespace: coredog-system
  labels: { app.kubernetes.io/name: coredog, app.kubernetes.io/component: watcher }
spec:
  selector:
    matchLabels: { app.kubernetes.io/name: coredog, app.kubernetes.io/component: watcher }
  template:
    metadata:
      labels: { app.kubernetes.io/name: coredog, app.kubernetes.io/component: watcher }
    spec:
      containers:
        # An image whose repository ends in coredog runs this checkout: the purge pods take it.
        - name: watcher
          image: ghcr.io/coredog/coredog:0.1.0
          command: ["/bin/sh", "-c", "sleep 3600"]
`;

// Installed-CoreDog-like; the objectSelector keeps its dummy URL away from the pods this test rolls.
const WEBHOOK = `
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: { name: coredog }
webhooks:
  - name: pods.coredog.io
    failurePolicy: Fail
    sideEffects: None
    admissionReviewVersions: ["v1"]
    clientConfig: { url: "https://127.0.0.1:9/mutate" }
    rules:
      - { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }
    objectSelector: { matchLabels: { coredog-e2e: never } }
`;

function tmux(...args: string[]): string {
  return execFileSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" });
}
const screen = () => tmux("capture-pane", "-p", "-t", SESSION);
const keys = (...k: string[]) => tmux("send-keys", "-t", SESSION, ...k);
/** The table's rows: lines that start with the selection column and the namespace. */
const tableRows = (s: string) => s.split("\n").filter((l) => /^[ >] shop\s/.test(l));

async function waitScreen(what: RegExp, ms = 8000): Promise<string> {
  const end = Date.now() + ms;
  let last = "";
  while (Date.now() < end) {
    last = screen();
    if (what.test(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the screen never showed ${what}; it shows:\n${last}`);
}

let rig: Rig;

beforeAll(async () => {
  if (!existsSync(path.join(root, "dist", "plugin", "commands", "tui.js"))) {
    execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
  }
  rig = await startRig({ s3: false, receivers: false });
  const applied = await rig.kubectl(["apply", "-f", "-"], { input: FIXTURE });
  expect(applied.code, applied.stderr).toBe(0);
  await rig.waitForPods("shop", "app=api", 2);
  await rig.waitForPods("shop", "app=cart", 1);
  const hook = await rig.kubectl(["apply", "-f", "-"], { input: WEBHOOK });
  expect(hook.code, hook.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  try {
    tmux("kill-server");
  } catch {
    // no server left
  }
  await rig?.stop();
});

describe("kubectl coredog tui", () => {
  it("refuses without a terminal: a clear message and a non-zero exit", async () => {
    const r = await rig.kubectl(["coredog", "tui", "-A"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("needs an interactive terminal");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("in a terminal, a bad context ends with one clear sentence and a non-zero exit", async () => {
    const env = Object.entries(rig.env).map(([k, v]) => `${k}=${v}`);
    tmux(
      "new-session",
      "-d",
      "-s",
      "badctx",
      "-x",
      "120",
      "-y",
      "30",
      "env",
      ...env,
      "sh",
      "-c",
      'kubectl coredog tui --context nope; echo "tui exited $?"; sleep 60',
    );
    try {
      const end = Date.now() + 15_000;
      let s = "";
      while (!/tui exited/.test(s) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
        s = tmux("capture-pane", "-p", "-t", "badctx");
      }
      expect(s).toContain('error: context "nope" does not exist in the kubeconfig');
      expect(s).toMatch(/tui exited [1-9]/);
      expect(s).not.toMatch(/\n\s+at /);
    } finally {
      tmux("kill-session", "-t", "badctx");
    }
  });

  it("filter, enable with confirmation, emergency webhook ignore, cancel, quit", async () => {
    const env = Object.entries(rig.env).map(([k, v]) => `${k}=${v}`);
    tmux(
      "new-session",
      "-d",
      "-s",
      SESSION,
      "-x",
      "150",
      "-y",
      "40",
      "env",
      ...env,
      "TERM=xterm-256color",
      "NO_COLOR=1",
      "sh",
      "-c",
      'kubectl coredog tui -A; echo "tui exited $?"; sleep 60',
    );

    // First frame: the opted-in pods and the status bar.
    await waitScreen(/webhook failurePolicy: Fail.*watcher: running/, 15_000);
    let s = await waitScreen(/> shop\s+api-/);
    expect(tableRows(s)).toHaveLength(2);
    expect(s).not.toContain("cart-");

    // All pods, then the filter narrows them to cart.
    keys("a");
    s = await waitScreen(/shop\s+cart-/);
    expect(tableRows(s)).toHaveLength(3);
    keys("/", "c", "a", "r", "t", "Enter");
    s = await waitScreen(/filter: cart/);
    expect(tableRows(s).map((l) => l.split(/\s+/)[2])).toEqual([expect.stringMatching(/^cart-/)]);

    // Enable the selected pod's workload: the owner is found (pod → ReplicaSet → Deployment).
    keys("e");
    s = await waitScreen(/Proceed\?/);
    expect(s).toContain("enable deployments/cart in shop");
    expect(s).toContain('+ coredog.io/inject: "true"');
    expect(s).toContain("undo with:");
    keys("y");
    await waitScreen(/done: deployments\/cart enabled/);
    const annotations = await rig.kubectl([
      "get",
      "deploy",
      "cart",
      "-n",
      "shop",
      "-o",
      "jsonpath={.spec.template.metadata.annotations}",
    ]);
    expect(JSON.parse(annotations.stdout)).toMatchObject({
      "coredog.io/inject": "true",
      "coredog.io/path": "/corefile",
    });

    // Emergency: webhook ignore, confirmed.
    keys("Escape");
    keys("!");
    await waitScreen(/Emergency \(now: webhook failurePolicy: Fail/);
    keys("Enter");
    s = await waitScreen(/Proceed\?/);
    expect(s).toContain("failurePolicy Fail -> Ignore");
    expect(s).toContain("undo with: kubectl coredog emergency webhook restore");
    keys("y");
    await waitScreen(/done: emergency webhook ignore/);
    await waitScreen(/webhook failurePolicy: Ignore/);
    const policy = await rig.kubectl([
      "get",
      "mutatingwebhookconfiguration",
      "coredog",
      "-o",
      "jsonpath={.webhooks[*].failurePolicy}",
    ]);
    expect(policy.stdout.trim()).toBe("Ignore");

    // Emergency again, cancelled twice: in the menu, and at the confirmation.
    keys("!");
    await waitScreen(/Emergency \(now: webhook failurePolicy: Ignore/);
    keys("Escape");
    await waitScreen(/emergency menu closed: nothing was changed/);
    keys("!");
    await waitScreen(/Emergency/);
    keys("5");
    s = await waitScreen(/Proceed\?/);
    expect(s).toContain("nodeSelector coredog.io/paused=true");
    keys("n");
    s = await waitScreen(/cancelled: nothing was changed/);
    expect(s).toContain("watcher: running");
    const ds = await rig.kubectl([
      "get",
      "ds",
      "coredog-watcher",
      "-n",
      "coredog-system",
      "-o",
      "jsonpath={.spec.template.spec.nodeSelector}",
    ]);
    expect(ds.stdout).not.toContain("coredog.io/paused");

    // NO_COLOR=1: the pane holds no colour attributes.
    const styled = tmux("capture-pane", "-p", "-e", "-t", SESSION);
    // eslint-disable-next-line no-control-regex
    expect(styled).not.toMatch(/\u001B\[[0-9;]*[1-9][0-9;]*m/);

    // A smaller terminal: the frame follows, nothing wider than the pane.
    tmux("resize-window", "-t", SESSION, "-x", "90", "-y", "20");
    s = await waitScreen(/\? help/);
    expect(Math.max(...s.split("\n").map((l) => l.trimEnd().length))).toBeLessThanOrEqual(90);
    expect(s).toContain("CoreDog");

    keys("q");
    await waitScreen(/tui exited 0/);
  });
});

describe("kubectl coredog tui: emergency purge", () => {
  it("lists the dumps older than 24h (dry run), deletes them after y, keeps the newer one", async () => {
    const dumps = path.join(rig.nodes[0]!.hostRoot, "data/coredog-system/dumps/shop/p");
    mkdirSync(dumps, { recursive: true });
    const old = path.join(dumps, "core.app.1.node-1.1764000000");
    const fresh = path.join(dumps, "core.app.2.node-1.1764200000");
    writeFileSync(old, Buffer.alloc(2048));
    writeFileSync(fresh, Buffer.alloc(1024));
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(old, twoDaysAgo, twoDaysAgo);

    const env = Object.entries(rig.env).map(([k, v]) => `${k}=${v}`);
    tmux(
      "new-session",
      "-d",
      "-s",
      "purge",
      "-x",
      "160",
      "-y",
      "40",
      "env",
      ...env,
      "TERM=xterm-256color",
      "NO_COLOR=1",
      "sh",
      "-c",
      'kubectl coredog tui -A; echo "tui exited $?"; sleep 60',
    );
    const shown = () => tmux("capture-pane", "-p", "-t", "purge");
    const press = (...k: string[]) => tmux("send-keys", "-t", "purge", ...k);
    const waitFor = async (what: RegExp, ms = 10_000) => {
      const end = Date.now() + ms;
      let last = "";
      while (Date.now() < end) {
        last = shown();
        if (what.test(last)) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`the screen never showed ${what}; it shows:\n${last}`);
    };
    try {
      await waitFor(/watcher: running/, 15_000);
      press("!");
      await waitFor(/9\. purge dumps/);
      press("9");
      await waitFor(/all nodes \(1\)/);
      press("t", "t");
      await waitFor(/\[older than 24h\]/);
      press("Enter");
      let s = await waitFor(/Delete these 1 file\(s\) on node-1 for good\?/, 30_000);
      expect(s).toContain("dry run (nothing deleted yet): older than 24h, on node-1");
      expect(s).toMatch(
        /node-1\s+2\.0 KiB\s+\S+\s+\/data\/coredog-system\/dumps\/shop\/p\/core\.app\.1\.node-1\.1764000000/,
      );
      expect(s).not.toContain("core.app.2");
      expect(s).toContain("Total: 1 file(s), 2.0 KiB");
      expect(s).toContain("This cannot be undone");
      expect(existsSync(old) && existsSync(fresh)).toBe(true);

      press("y");
      s = await waitFor(/Deleted 1 file\(s\), 2\.0 KiB in total\. This cannot be undone\./, 30_000);
      expect(s).toContain("node-1: deleted 1 file(s), 2.0 KiB");
      expect(existsSync(old)).toBe(false);
      expect(existsSync(fresh)).toBe(true);
      press("Enter");
      await waitFor(/done: purge deleted 1 file\(s\), 2\.0 KiB, on node-1/);

      // The short-lived pods are gone.
      await rig.waitFor(
        "the purge pods to be deleted",
        async () => {
          const r = await rig.kubectl([
            "get",
            "pods",
            "-n",
            "coredog-system",
            "-l",
            "app.kubernetes.io/component=purge",
            "-o",
            "name",
          ]);
          return r.code === 0 && r.stdout.trim() === "";
        },
        15_000,
      );
      press("q");
      await waitFor(/tui exited 0/);
    } finally {
      tmux("kill-session", "-t", "purge");
    }
  });
});

describe("the TUI's data source against the rig", () => {
  it("re-lists and re-watches after the API server's connections drop", async () => {
    // A TCP proxy in front of the rig's API server (TLS passes through): dropping its sockets and
    // refusing for a while is what a restarting API server looks like to the client.
    const { createServer, connect: tcpConnect } = await import("node:net");
    const { readFileSync, writeFileSync } = await import("node:fs");
    const { connect } = await import("../../plugin/lib/kube.js");
    const { createClusterSource } = await import("../../plugin/tui/source.js");
    const upstream = new URL(rig.kc.getCurrentCluster()!.server);
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      const server = tcpConnect(Number(upstream.port), upstream.hostname);
      for (const s of [client, server]) {
        sockets.add(s);
        s.on("error", () => undefined).on("close", () => sockets.delete(s));
      }
      client.pipe(server).pipe(client);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const port = (proxy.address() as { port: number }).port;
    const kubeconfig = path.join(rig.dir, "tui-proxy.kubeconfig");
    writeFileSync(
      kubeconfig,
      readFileSync(rig.kubeconfig, "utf8").replace(upstream.origin, `https://127.0.0.1:${port}`),
    );
    const source = createClusterSource(await connect({ kubeconfig }), {
      namespace: "shop",
      batchMs: 10,
      initialBackoffMs: 100,
    });
    const until = async (what: string, check: () => boolean, ms = 10_000) => {
      const end = Date.now() + ms;
      while (!check()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await until("pods listed", () =>
        source.getSnapshot().pods.some((p) => p.pod.startsWith("api-")),
      );
      expect(source.getSnapshot().link).toBe("live");
      await until("the webhook's state", () => source.getSnapshot().webhook.state === "present");

      // Drop every connection and refuse new ones.
      await new Promise<void>((r) => {
        proxy.close(() => r());
        for (const s of sockets) s.destroy();
      });
      await until("reconnecting", () => source.getSnapshot().link === "reconnecting");
      const created = await rig.kubectl([
        "run",
        "late",
        "-n",
        "shop",
        "--image=busybox",
        "--",
        "sleep",
        "3600",
      ]);
      expect(created.code, created.stderr).toBe(0);
      expect(source.getSnapshot().pods.some((p) => p.pod === "late")).toBe(false);

      // The API server is back: the pod made meanwhile appears, the link is live again.
      await new Promise<void>((r) => proxy.listen(port, "127.0.0.1", r));
      await until("the pod made while disconnected", () =>
        source.getSnapshot().pods.some((p) => p.pod === "late"),
      );
      await until("live again", () => source.getSnapshot().link === "live");
      // ...and the watch works after the reconnect.
      await rig.kubectl(["annotate", "pod", "late", "-n", "shop", "coredog.io/inject=true"]);
      await until("a change seen through the new watch", () =>
        source.getSnapshot().pods.some((p) => p.pod === "late" && p.optedIn),
      );
    } finally {
      source.stop();
      for (const s of sockets) s.destroy();
      proxy.close();
    }
  });
});

describe("the TUI's actions: the CLI's checks and plans on the rig", () => {
  it("refuses what the webhook would skip, finds owners, plans disable/restart, says noop", async () => {
    const { connect } = await import("../../plugin/lib/kube.js");
    const { createClusterSource } = await import("../../plugin/tui/source.js");
    const setup = await rig.kubectl(["apply", "-f", "-"], {
      input: `
apiVersion: v1
kind: Namespace
metadata:
  name: locked
  labels: { pod-security.kubernetes.io/enforce: restricted }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: locked }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - { name: app, image: busybox, command: ["/bin/sh", "-c", "sleep 3600"] }
---
apiVersion: v1
kind: Pod
metadata: { name: solo, namespace: shop }
spec:
  containers:
    - { name: app, image: busybox, command: ["/bin/sh", "-c", "sleep 3600"] }
`,
    });
    expect(setup.code, setup.stderr).toBe(0);
    const [web] = await rig.waitForPods("locked", "app=web", 1);
    const [api] = await rig.waitForPods("shop", "app=api", 2);
    const source = createClusterSource(await connect({ kubeconfig: rig.kubeconfig }));
    try {
      const refused = await source.prepare({
        kind: "enable",
        namespace: "locked",
        pod: web!.metadata!.name!,
      });
      expect(refused.title).toBe("enable deployments/web in locked");
      expect(refused.refused).toMatch(/Pod Security|restricted/);

      const solo = await source.prepare({ kind: "restart", namespace: "shop", pod: "solo" });
      expect(solo.refused).toContain("pod/solo has no workload to roll");

      const again = await source.prepare({
        kind: "enable",
        namespace: "shop",
        pod: api!.metadata!.name!,
      });
      expect(again.noop).toBe("deployments/api is already enabled");

      const restart = await source.prepare({
        kind: "restart",
        namespace: "shop",
        pod: api!.metadata!.name!,
      });
      expect(restart.changes).toEqual([
        "deployments/api: rolling restart (what kubectl rollout restart does)",
      ]);

      const disable = await source.prepare({
        kind: "disable",
        namespace: "shop",
        pod: api!.metadata!.name!,
      });
      expect(disable.changes).toEqual(["- coredog.io/inject", "- coredog.io/path"]);
      expect(disable.undo).toContain("kubectl coredog enable deployments/api -n shop");
      await disable.apply();
      const after = await rig.kubectl([
        "get",
        "deploy",
        "api",
        "-n",
        "shop",
        "-o",
        "jsonpath={.spec.template.metadata.annotations}",
      ]);
      expect(after.stdout).not.toContain("coredog.io/");
    } finally {
      source.stop();
    }
  });
});
