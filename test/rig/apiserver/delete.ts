// DELETE of one object or a collection: preconditions, dry run, finalizers, and the kinds' own deletion rules.
import { getStored, markDeleting, render, storageOf, timestamp } from "./context.js";
import type { AnyObj, ApiContext } from "./context.js";
import { selectItems } from "./get.js";
import type { Route } from "./request-info.js";
import { apiVersionOf, type ResourceInfo } from "./resources.js";
import { StatusError } from "./status.js";
import type { KubeObject } from "./store.js";
import { strategyOf } from "./strategies.js";

/** DeleteOptions from the body and the query (query parameters win). */
export function deleteOptions(body: AnyObj | undefined, q: URLSearchParams): AnyObj {
  const opts: AnyObj = { ...(body ?? {}) };
  if (q.get("gracePeriodSeconds") !== null)
    opts.gracePeriodSeconds = Number(q.get("gracePeriodSeconds"));
  if (q.get("propagationPolicy")) opts.propagationPolicy = q.get("propagationPolicy");
  return opts;
}

function preconditionFailed(info: ResourceInfo, name: string, what: string): StatusError {
  return new StatusError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${info.group ? `${info.resource}.${info.group}` : info.resource} "${name}": Precondition failed: ${what}`,
  );
}

/** Deletes one object with Kubernetes' rules for pods (graceful on a node), finalizers and namespaces. */
export function deleteOne(
  ctx: ApiContext,
  info0: ResourceInfo,
  namespace: string | undefined,
  name: string,
  opts: AnyObj,
  dryRun: boolean,
): AnyObj {
  const info = storageOf(info0);
  const strategy = strategyOf(info);
  const old = getStored(ctx, info0, namespace, name);
  const pre = opts.preconditions as { uid?: string; resourceVersion?: string } | undefined;
  if (pre?.uid && pre.uid !== old.metadata.uid) {
    throw preconditionFailed(
      info,
      name,
      `UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`,
    );
  }
  if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
    throw preconditionFailed(
      info,
      name,
      `ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
    );
  }
  const success = (o: KubeObject): AnyObj => ({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: { name, group: info.group, kind: info.resource, uid: o.metadata.uid },
  });
  if (dryRun) return strategy.dryRunDeleteShowsObject ? render(info0, old) : success(old);
  if (strategy.delete) return render(info0, strategy.delete(ctx, info, old, opts));
  if (old.metadata.finalizers?.length) {
    if (old.metadata.deletionTimestamp) return render(info0, old);
    const next = structuredClone(old);
    next.metadata.deletionTimestamp = timestamp();
    next.metadata.deletionGracePeriodSeconds = 0;
    return render(info0, markDeleting(ctx, info, old, next));
  }
  return success(ctx.store.delete(info, namespace, name));
}

/** DELETE on a collection: deletes every selected object; the reply lists those that are not gone yet. */
export function deleteCollection(
  ctx: ApiContext,
  route: Route,
  q: URLSearchParams,
  opts: AnyObj,
  dryRun: boolean,
): AnyObj {
  const items = selectItems(ctx, route, q).map((o) =>
    deleteOne(ctx, route.info, o.metadata.namespace, o.metadata.name!, opts, dryRun),
  );
  return {
    kind: `${route.info.kind}List`,
    apiVersion: apiVersionOf(route.info),
    metadata: { resourceVersion: ctx.store.currentResourceVersion() },
    items: items.filter((i) => i.kind !== "Status"),
  };
}
