// The scheduler: binds pods without spec.nodeName to the fitting node with the fewest pods (pods/binding).
import type { V1Pod } from "@kubernetes/client-node";
import type { Context } from "./context.js";
import { errorCode, isTerminal, key, mergePatch, splitKey } from "./kube.js";
import { podFitsNode } from "./node-match.js";
import { WorkQueue } from "./queue.js";

export const SCHEDULER_NAME = "default-scheduler";

function wantsScheduling(pod: V1Pod): boolean {
  return (
    !pod.spec?.nodeName &&
    !pod.metadata?.deletionTimestamp &&
    !isTerminal(pod) &&
    (pod.spec?.schedulerName ?? SCHEDULER_NAME) === SCHEDULER_NAME
  );
}

export function startScheduler(ctx: Context): WorkQueue {
  const { pods, nodes } = ctx.informers;
  // Bindings made but not yet seen in the cache count for their node.
  const assumed = new Map<string, { node: string; at: number }>();
  let bindingMissing = false;

  const queue = new WorkQueue("scheduler", schedule, ctx.log, ctx.synced, 1);
  pods.on("add", (p) => wantsScheduling(p) && queue.add(key(p)));
  pods.on("update", (p) => wantsScheduling(p) && queue.add(key(p)));
  pods.on("delete", (p) => assumed.delete(key(p)));
  const retryPending = () => {
    for (const p of pods.list()) if (wantsScheduling(p)) queue.add(key(p));
  };
  nodes.onChange(retryPending);

  async function schedule(k: string): Promise<number | void> {
    const { namespace, name } = splitKey(k);
    const pod = pods.get(name, namespace);
    if (!pod || !wantsScheduling(pod)) return;
    const a = assumed.get(k);
    if (a && Date.now() - a.at < 10_000) return; // bound already, cache not there yet

    const load = new Map<string, number>();
    for (const p of pods.list()) {
      const n = p.spec?.nodeName;
      if (n && !isTerminal(p)) load.set(n, (load.get(n) ?? 0) + 1);
    }
    for (const [pk, x] of assumed) {
      const cached = pods.get(splitKey(pk).name, splitKey(pk).namespace);
      if (cached?.spec?.nodeName || Date.now() - x.at > 10_000) assumed.delete(pk);
      else load.set(x.node, (load.get(x.node) ?? 0) + 1);
    }
    const fitting = nodes
      .list()
      .filter((n) => podFitsNode(pod.spec, n))
      .sort((x, y) => {
        const d = (load.get(x.metadata!.name!) ?? 0) - (load.get(y.metadata!.name!) ?? 0);
        return d !== 0 ? d : x.metadata!.name! < y.metadata!.name! ? -1 : 1;
      });
    const target = fitting[0]?.metadata?.name;
    if (!target) return; // stays Pending; node changes retry it

    // Assume before binding, so the next pod counts this one (one pod at a time, as kube-scheduler).
    assumed.set(k, { node: target, at: Date.now() });
    try {
      await bind(pod, target);
    } catch (err) {
      assumed.delete(k);
      throw err;
    }
  }

  async function bind(pod: V1Pod, node: string): Promise<void> {
    const namespace = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    if (!bindingMissing) {
      try {
        await ctx.clients.core.createNamespacedPodBinding({
          name,
          namespace,
          body: {
            apiVersion: "v1",
            kind: "Binding",
            metadata: { name, namespace, uid: pod.metadata?.uid },
            target: { apiVersion: "v1", kind: "Node", name: node },
          },
        });
        return;
      } catch (err) {
        const code = errorCode(err);
        if (code !== 404 && code !== 405) throw err;
        if (code === 404 && !pods.get(name, namespace)) return; // the pod went away
        bindingMissing = true;
        ctx.log("scheduler: pods/binding not served; binding by patching spec.nodeName");
      }
    }
    await ctx.clients.core.patchNamespacedPod(
      { name, namespace, body: { spec: { nodeName: node } } },
      mergePatch,
    );
  }

  return queue;
}
