// Graceful pod deletion: a running pod on a node gets a deletionTimestamp and is removed by its kubelet.
import { markDeleting, timestamp, type AnyObj, type ServerContext } from "./context.js";
import type { ResourceInfo } from "./resources.js";
import type { KubeObject } from "./store.js";

/** Deletes a pod, or marks it for graceful deletion; returns the pod as the reply shows it. */
export function deletePod(
  ctx: ServerContext,
  info: ResourceInfo,
  old: KubeObject,
  opts: AnyObj,
): KubeObject {
  const pod = old as KubeObject & AnyObj;
  const grace =
    typeof opts.gracePeriodSeconds === "number"
      ? opts.gracePeriodSeconds
      : (pod.spec?.terminationGracePeriodSeconds ?? 30);
  const phase = pod.status?.phase;
  const graceful = grace > 0 && !!pod.spec?.nodeName && phase !== "Succeeded" && phase !== "Failed";
  if (!graceful) return ctx.store.delete(info, old.metadata.namespace, old.metadata.name!);
  if (old.metadata.deletionTimestamp) return old;
  const next = structuredClone(old);
  next.metadata.deletionTimestamp = timestamp(Date.now() + grace * 1000);
  next.metadata.deletionGracePeriodSeconds = grace;
  return markDeleting(ctx, info, old, next);
}
