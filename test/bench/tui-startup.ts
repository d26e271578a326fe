// `npm run bench:tui`: start-up of `kubectl coredog tui -A` to its first frame, in a real terminal
// (tmux), on the rig with 2,000 pods (200 opted in) across 20 namespaces. Baseline: `kubectl get
// pods -A`, the least any listing of those pods costs. Median of RUNS runs each.
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pLimit from "p-limit";
import { CoreV1Api } from "@kubernetes/client-node";
import { startRig } from "../rig/index.js";

const RUNS = Number(process.env.RUNS ?? 5);
const PODS = 2000;
const NAMESPACES = 20;
const root = fileURLToPath(new URL("../..", import.meta.url));
const SOCKET = `coredog-tui-bench-${process.pid}`;
// Asynchronous: the rig's API server runs in this process, a blocking call would stall it.
const run = promisify(execFile);
const tmux = async (...args: string[]) => (await run("tmux", ["-L", SOCKET, ...args])).stdout;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

if (!existsSync(path.join(root, "dist", "plugin", "commands", "tui.js"))) {
  execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
}

const rig = await startRig({ s3: false, receivers: false });
try {
  const core = rig.kc.makeApiClient(CoreV1Api);
  for (let n = 0; n < NAMESPACES; n++) {
    await core.createNamespace({ body: { metadata: { name: `bench-${n}` } } });
  }
  const limit = pLimit(16);
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: PODS }, (_, i) =>
      limit(() =>
        core.createNamespacedPod({
          namespace: `bench-${i % NAMESPACES}`,
          body: {
            metadata: {
              name: `pod-${i}`,
              annotations:
                i % 10 === 0 ? { "coredog.io/inject": "true", "coredog.io/path": "/corefile" } : {},
            },
            // Bound to a node that does not exist: listed and watched like any pod, never run.
            spec: { nodeName: "bench-ghost", containers: [{ name: "app", image: "busybox" }] },
          },
        }),
      ),
    ),
  );
  console.log(`created ${PODS} pods in ${NAMESPACES} namespaces in ${Date.now() - t0} ms`);

  const env = Object.entries(rig.env).map(([k, v]) => `${k}=${v}`);
  const firstFrame: number[] = [];
  const fullFrame: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const session = `run${i}`;
    const started = performance.now();
    await tmux(
      "new-session",
      "-d",
      "-s",
      session,
      "-x",
      "160",
      "-y",
      "45",
      "env",
      ...env,
      "TERM=xterm-256color",
      "sh",
      "-c",
      "kubectl coredog tui -A; sleep 30",
    );
    let first: number | undefined;
    for (;;) {
      const screen = await tmux("capture-pane", "-p", "-t", session);
      const now = performance.now() - started;
      if (first === undefined && screen.includes("CoreDog │")) first = now;
      if (/pods: 200 shown, 200 opted in/.test(screen) && screen.includes("│ live")) {
        firstFrame.push(first ?? now);
        fullFrame.push(now);
        break;
      }
      if (now > 30_000) throw new Error(`no frame with the pods after 30 s:\n${screen}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await tmux("send-keys", "-t", session, "q");
    await new Promise((r) => setTimeout(r, 300));
    await tmux("kill-session", "-t", session);
  }

  const baseline: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await run("kubectl", ["get", "pods", "-A"], {
      env: { ...process.env, ...rig.env },
      maxBuffer: 64 * 1024 * 1024,
    });
    baseline.push(performance.now() - started);
  }
  const f = median(firstFrame);
  const full = median(fullFrame);
  const b = median(baseline);
  console.log(
    `tui first frame (status bar):        median ${f.toFixed(0)} ms  runs ${firstFrame.map((x) => x.toFixed(0)).join(" ")}`,
  );
  console.log(
    `tui first frame with all 2,000 pods: median ${full.toFixed(0)} ms  runs ${fullFrame.map((x) => x.toFixed(0)).join(" ")}`,
  );
  console.log(
    `kubectl get pods -A (baseline):      median ${b.toFixed(0)} ms  runs ${baseline.map((x) => x.toFixed(0)).join(" ")}`,
  );
  console.log(`tui-first-full-frame/kubectl-get time ratio: ${(full / b).toFixed(2)}`);
} finally {
  try {
    await tmux("kill-server");
  } catch {
    // already gone
  }
  await rig.stop();
}
