// PUT, and the commit shared with PATCH: status/spec separation, admission, validation, optimistic concurrency.
import { runMutatingWebhooks, runValidatingWebhooks } from "./admission.js";
import { getStored, render, storageOf, type AnyObj, type ApiContext } from "./context.js";
import { applyDefaults, validate } from "./objects.js";
import type { UserInfo } from "./rbac.js";
import type { Route } from "./request-info.js";
import { scaleOf, withScale } from "./scale.js";
import { badRequest } from "./status.js";
import { fromEventsV1, type KubeObject } from "./store.js";
import { strategyOf } from "./strategies.js";
import { admissionAttributes, checkNamespace } from "./writes.js";

/**
 * Shared by PUT and PATCH: `next` is the full new object (for status/scale: the whole object with the change).
 * The main resource keeps the stored status; the status subresource changes nothing but the status.
 */
export async function commitUpdate(
  ctx: ApiContext,
  route: Route,
  old: KubeObject,
  next: KubeObject,
  user: UserInfo,
  dryRun: boolean,
): Promise<{ object: KubeObject; warnings: string[] }> {
  const info = storageOf(route.info);
  let o = structuredClone(next);
  o.metadata ??= {};
  o.metadata.namespace = old.metadata.namespace;
  if (!info.namespaced) delete o.metadata.namespace;
  const hasStatus = (info.subresources ?? []).some((s) => s.name === "status");
  if (route.subresource === "status") {
    const status = (o as AnyObj).status;
    const rv = o.metadata.resourceVersion;
    o = structuredClone(old);
    (o as AnyObj).status = status;
    o.metadata.resourceVersion = rv ?? old.metadata.resourceVersion;
  } else if (hasStatus && !route.subresource) {
    (o as AnyObj).status = (old as AnyObj).status;
    if ((o as AnyObj).status === undefined) delete (o as AnyObj).status;
  }
  if (!route.subresource) applyDefaults(info, o);
  let warnings: string[] = [];
  if (route.subresource !== "status") {
    const r = await runMutatingWebhooks(
      ctx.store,
      admissionAttributes(route, "UPDATE", old.metadata.name!, o, old, user, dryRun),
      (x) => applyDefaults(info, x),
      ctx.log,
    );
    o = r.object!;
    warnings = r.warnings;
  }
  validate(info, o, old);
  warnings.push(
    ...(await runValidatingWebhooks(
      ctx.store,
      admissionAttributes(route, "UPDATE", old.metadata.name!, o, old, user, dryRun),
      ctx.log,
    )),
  );
  if (dryRun) {
    if (o.metadata.resourceVersion && o.metadata.resourceVersion !== old.metadata.resourceVersion) {
      ctx.store.update(info, o); // throws the Conflict
    }
    return {
      object: {
        ...o,
        metadata: {
          ...o.metadata,
          uid: old.metadata.uid,
          creationTimestamp: old.metadata.creationTimestamp,
          resourceVersion: old.metadata.resourceVersion,
        },
      },
      warnings,
    };
  }
  const stored = ctx.store.update(info, o);
  strategyOf(info).afterUpdate?.(ctx, stored);
  return { object: stored, warnings };
}

export async function update(
  ctx: ApiContext,
  route: Route,
  body: KubeObject,
  user: UserInfo,
  dryRun: boolean,
): Promise<{ body: unknown; warnings: string[] }> {
  let o = structuredClone(body);
  if (route.info.storageKey === "events") o = fromEventsV1(o);
  o.metadata ??= {};
  const old = getStored(ctx, route.info, route.namespace, route.name!);
  if (route.subresource === "scale") {
    const next = withScale(old, body as AnyObj);
    next.metadata.resourceVersion = body.metadata?.resourceVersion || old.metadata.resourceVersion;
    const r = await commitUpdate(ctx, route, old, next, user, dryRun);
    return { body: scaleOf(r.object), warnings: r.warnings };
  }
  if (o.metadata.name && o.metadata.name !== route.name) {
    throw badRequest(
      `the name of the object (${o.metadata.name}) does not match the name on the URL (${route.name})`,
    );
  }
  o.metadata.name = route.name;
  checkNamespace(route, o);
  const r = await commitUpdate(ctx, route, old, o, user, dryRun);
  return { body: render(route.info, r.object), warnings: r.warnings };
}
