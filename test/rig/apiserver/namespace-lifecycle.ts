// A namespace's life: what a new one gets, and how a deleted one empties and goes
// (kube-controller-manager's root-CA publisher, service-account controller and namespace controller).
import { markDeleting, timestamp, type AnyObj, type ServerContext } from "./context.js";
import { deletePod } from "./pod-deletion.js";
import { RESOURCES, type ResourceInfo } from "./resources.js";
import { StatusError } from "./status.js";
import type { KubeObject } from "./store.js";

const UNDELETABLE = ["default", "kube-system", "kube-public"];

/** What kube-controller-manager puts in every namespace: ServiceAccount default and ConfigMap kube-root-ca.crt. */
export function populateNamespace(ctx: ServerContext, ns: string): void {
  const s = ctx.store;
  if (!s.get("serviceaccounts", ns, "default"))
    s.create("serviceaccounts", {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "default", namespace: ns },
    });
  if (!s.get("configmaps", ns, "kube-root-ca.crt")) {
    s.create("configmaps", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "kube-root-ca.crt",
        namespace: ns,
        annotations: {
          "kubernetes.io/description":
            "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.",
        },
      },
      data: { "ca.crt": ctx.caPem },
    });
  }
}

/** DELETE of a namespace: it turns Terminating and its contents are deleted; returns the namespace as it is then. */
export function deleteNamespace(
  ctx: ServerContext,
  info: ResourceInfo,
  old: KubeObject,
): KubeObject {
  const name = old.metadata.name!;
  if (UNDELETABLE.includes(name)) {
    throw new StatusError(
      403,
      "Forbidden",
      `namespaces "${name}" is forbidden: this namespace may not be deleted`,
    );
  }
  let ns = old;
  if (!old.metadata.deletionTimestamp) {
    const next = structuredClone(old) as KubeObject & AnyObj;
    next.metadata.deletionTimestamp = timestamp();
    next.status = { ...(next.status ?? {}), phase: "Terminating" };
    ns = markDeleting(ctx, info, old, next);
  }
  purgeNamespace(ctx, name);
  return ctx.store.get(info, undefined, name) ?? ns;
}

/** The namespaced kinds with storage of their own (not views such as events.k8s.io events). */
function namespacedKinds(): ResourceInfo[] {
  return RESOURCES.filter((info) => info.namespaced && !info.storageKey);
}

/** Deletes a terminating namespace's contents; the namespace goes when its last pod is gone. */
export function purgeNamespace(ctx: ServerContext, ns: string): void {
  const store = ctx.store;
  for (const info of namespacedKinds()) {
    for (const o of store.list(info, ns)) {
      try {
        const current = store.get(info, ns, o.metadata.name!);
        if (!current) continue;
        if (info.resource === "pods" && !info.group) deletePod(ctx, info, current, {});
        else store.delete(info, ns, o.metadata.name!);
      } catch {
        // Already gone.
      }
    }
  }
  finishNamespace(ctx, ns);
}

/** Removes a Terminating namespace once no pods are left in it. */
export function finishNamespace(ctx: ServerContext, ns: string): void {
  const store = ctx.store;
  const o = store.get("namespaces", undefined, ns);
  if (!o?.metadata.deletionTimestamp) return;
  if (store.list("pods", ns).length > 0) return;
  for (const info of namespacedKinds()) {
    for (const x of store.list(info, ns)) {
      try {
        store.delete(info, ns, x.metadata.name!);
      } catch {
        // Already gone.
      }
    }
  }
  store.delete("namespaces", undefined, ns);
}
