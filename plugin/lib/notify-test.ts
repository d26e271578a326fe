// `kubectl coredog notify test`: runs `coredog-controller notify-test` in a watcher's container with `kubectl exec`.
// Why exec, not the watcher's HTTP port through the API server's pod proxy: the message then leaves from a node
// (the address a robot's IP allowlist sees), with the watcher's own settings file and mounted Secret
// coredog-notify, exactly as a core's notice would; it needs the `create pods/exec` permission in coredog-system,
// which is the right gate for "post to the team's chat", whereas the watcher's port has no authentication of its
// own and stays read-only (health and metrics).
import type { V1Pod } from "@kubernetes/client-node";
import { UserError } from "./errors.js";
import type { Cluster } from "./kube.js";
import { errorText } from "../../src/error-text.js";
import { NAMESPACE, WATCHER_SELECTOR } from "../../src/names.js";
import { parseNotifyTestOutput, type NotifyTestOutput } from "../../src/notify-test.js";

function ready(pod: V1Pod): boolean {
  return (
    pod.status?.phase === "Running" &&
    (pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false)
  );
}

/** A ready watcher pod (on `node` when given). */
export async function pickWatcher(cluster: Cluster, node?: string): Promise<V1Pod> {
  const pods = (
    await cluster.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: WATCHER_SELECTOR })
  ).items;
  const candidates = pods.filter((p) => !node || p.spec?.nodeName === node);
  const pod = candidates.find(ready);
  if (pod) return pod;
  if (node && candidates.length === 0)
    throw new UserError(
      `no watcher pod on node ${node}`,
      "kubectl get pods -n coredog-system -o wide shows where the watchers run",
    );
  throw new UserError(
    pods.length === 0
      ? "no watcher pod in coredog-system: CoreDog is not installed (kubectl apply -k manifests)"
      : `no watcher pod is ready${node ? ` on node ${node}` : ""}`,
    "kubectl coredog doctor says why",
  );
}

export interface ExecOptions {
  kubeconfig?: string;
  context?: string;
  channel?: number;
}

/** Runs the test in the pod; the watcher's results, or a UserError saying what went wrong. */
export async function runInWatcher(pod: V1Pod, o: ExecOptions): Promise<NotifyTestOutput> {
  const { execa } = await import("execa");
  const args = [
    ...(o.kubeconfig ? ["--kubeconfig", o.kubeconfig] : []),
    ...(o.context ? ["--context", o.context] : []),
    "-n",
    NAMESPACE,
    "exec",
    pod.metadata!.name!,
    "-c",
    pod.spec?.containers?.[0]?.name ?? "watcher",
    "--",
    "coredog-controller",
    "notify-test",
    "--json",
    ...(o.channel !== undefined ? ["--channel", String(o.channel)] : []),
  ];
  let r;
  try {
    r = await execa(process.env.COREDOG_KUBECTL || "kubectl", args, {
      reject: false,
      timeout: 120_000,
    });
  } catch (err) {
    throw new UserError(
      `cannot run kubectl: ${errorText(err)}`,
      "install kubectl and put it on PATH",
    );
  }
  if (r.failed && r.exitCode === undefined)
    throw new UserError(`kubectl exec did not finish: ${r.shortMessage}`);
  const out = parseNotifyTestOutput(String(r.stdout));
  if (out && "error" in out) throw new UserError(out.error);
  if (out) return out;
  const why = String(r.stderr).trim().split("\n").at(-1) || `exit code ${r.exitCode}`;
  throw new UserError(
    `kubectl exec into ${pod.metadata?.name} failed: ${why}`,
    /forbidden/i.test(why)
      ? "notify test needs permission to create pods/exec in coredog-system"
      : "kubectl coredog logs shows the watchers' side",
  );
}
