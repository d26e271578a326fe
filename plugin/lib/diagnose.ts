// Reads what `doctor` and `status` look at; each read may fail on its own (forbidden, missing) without
// stopping the others.
import type { V1Pod } from "@kubernetes/client-node";
import {
  CONFIGMAP,
  NAMESPACE,
  TLS_SECRET,
  WATCHER_NAME,
  WATCHER_SELECTOR,
  WEBHOOK_CONFIGURATION,
  WEBHOOK_SELECTOR,
} from "../../src/names.js";
import type { DoctorInput, Read } from "./doctor.js";
import { explainKubeError, UserError } from "./errors.js";
import type { Cluster } from "./kube.js";
import { errorText } from "../../src/error-text.js";

async function read<T>(fn: () => Promise<T>, missing?: T): Promise<Read<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if ((err as { code?: unknown }).code === 404 && missing !== undefined)
      return { ok: true, value: missing };
    return {
      ok: false,
      reason: explainKubeError(err)?.message ?? errorText(err),
      error: err,
    };
  }
}

export async function gatherCluster(
  cluster: Cluster,
): Promise<Omit<DoctorInput, "now" | "pod" | "podNamespace">> {
  const [webhookConfig, webhookPods, tlsSecret, configMap, watcher, watcherPods] =
    await Promise.all([
      read(
        () => cluster.admission.readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION }),
        null,
      ),
      read(
        async () =>
          (
            await cluster.core.listNamespacedPod({
              namespace: NAMESPACE,
              labelSelector: WEBHOOK_SELECTOR,
            })
          ).items,
      ),
      read(
        () => cluster.core.readNamespacedSecret({ name: TLS_SECRET, namespace: NAMESPACE }),
        null,
      ),
      read(
        () => cluster.core.readNamespacedConfigMap({ name: CONFIGMAP, namespace: NAMESPACE }),
        null,
      ),
      read(
        () => cluster.apps.readNamespacedDaemonSet({ name: WATCHER_NAME, namespace: NAMESPACE }),
        null,
      ),
      read(
        async () =>
          (
            await cluster.core.listNamespacedPod({
              namespace: NAMESPACE,
              labelSelector: WATCHER_SELECTOR,
            })
          ).items,
      ),
    ]);
  const reads = [webhookConfig, webhookPods, tlsSecret, configMap, watcher, watcherPods];
  // Nothing could be read (no cluster, no credentials, no permission at all): say so and fail.
  const first = reads[0]!;
  if (reads.every((r) => !r.ok) && !first.ok) {
    throw explainKubeError(first.error, cluster.server) ?? new UserError(first.reason);
  }
  return { webhookConfig, webhookPods, tlsSecret, configMap, watcher, watcherPods };
}

export async function gatherForPod(
  cluster: Cluster,
  name: string,
  namespace: string,
): Promise<DoctorInput> {
  let pod: V1Pod;
  try {
    pod = await cluster.core.readNamespacedPod({ name, namespace });
  } catch (err) {
    if ((err as { code?: unknown }).code === 404) {
      throw new UserError(
        `pod "${name}" not found in namespace ${namespace}`,
        "kubectl get pods -n " + namespace,
      );
    }
    throw err;
  }
  const [base, podNamespace] = await Promise.all([
    gatherCluster(cluster),
    read(() => cluster.core.readNamespace({ name: namespace })),
  ]);
  return { ...base, now: new Date(), pod, podNamespace };
}
