// PATCH: JSON patch, merge patch, strategic merge patch, and server-side apply (which may create).
import fjp from "fast-json-patch";
import type { Operation } from "fast-json-patch";
import YAML from "yaml";
import { render, storageOf, type AnyObj, type ApiContext } from "./context.js";
import { create } from "./create.js";
import type { UserInfo } from "./rbac.js";
import type { Route } from "./request-info.js";
import { scaleOf, withScale } from "./scale.js";
import { badRequest, notFound, StatusError } from "./status.js";
import { fromEventsV1, type KubeObject } from "./store.js";
import { jsonMergePatch, strategicMergePatch } from "./strategic-merge.js";
import { commitUpdate } from "./update.js";

const APPLY = "application/apply-patch+yaml";

function applyPatch(
  contentType: string,
  base: AnyObj,
  patchDoc: unknown,
  q: URLSearchParams,
): AnyObj {
  try {
    switch (contentType) {
      case "application/json-patch+json": {
        if (!Array.isArray(patchDoc)) throw new Error("json patch must be an array");
        return fjp.applyPatch(structuredClone(base), patchDoc as Operation[], true, false)
          .newDocument;
      }
      case "application/merge-patch+json":
        return jsonMergePatch(base, patchDoc);
      case "application/strategic-merge-patch+json":
        return strategicMergePatch(base, patchDoc);
      case APPLY:
        if (!q.get("fieldManager"))
          throw badRequest("PATCH requests with apply content type require a fieldManager");
        return strategicMergePatch(base, patchDoc);
      default:
        throw new StatusError(
          415,
          "UnsupportedMediaType",
          `the server does not support the patch type "${contentType}"`,
        );
    }
  } catch (e) {
    if (e instanceof StatusError) throw e;
    throw new StatusError(
      422,
      "Invalid",
      `the server rejected our request due to an error in our request: ${(e as Error).message}`,
    );
  }
}

export async function patch(
  ctx: ApiContext,
  route: Route,
  contentType: string,
  text: string,
  user: UserInfo,
  dryRun: boolean,
  q: URLSearchParams,
): Promise<{ body: unknown; warnings: string[]; created?: boolean }> {
  const info = storageOf(route.info);
  let patchDoc: unknown;
  try {
    patchDoc = contentType === APPLY ? YAML.parse(text) : JSON.parse(text);
  } catch (e) {
    throw badRequest(`error decoding patch: ${(e as Error).message}`);
  }
  const existing = ctx.store.get(info, route.namespace, route.name!);
  if (!existing) {
    if (contentType === APPLY && !route.subresource) {
      const body = patchDoc as KubeObject;
      body.metadata = { ...(body.metadata ?? {}), name: route.name };
      const r = await create(ctx, route, body, user, dryRun);
      return { body: render(route.info, r.object), warnings: r.warnings, created: true };
    }
    throw notFound(route.info.resource, route.info.group, route.name!);
  }
  const base: AnyObj =
    route.subresource === "scale" ? scaleOf(existing) : render(route.info, existing);
  const patched = applyPatch(contentType, base, patchDoc, q);
  if (route.subresource === "scale") {
    const r = await commitUpdate(ctx, route, existing, withScale(existing, patched), user, dryRun);
    return { body: scaleOf(r.object), warnings: r.warnings };
  }
  let next = patched as KubeObject;
  if (route.info.storageKey === "events") next = fromEventsV1(next);
  next.metadata ??= {};
  next.metadata.name = route.name;
  // The patch may carry a resourceVersion precondition; otherwise the update is unconditional on the current one.
  if (!next.metadata.resourceVersion)
    next.metadata.resourceVersion = existing.metadata.resourceVersion;
  for (const k of ["uid", "creationTimestamp"] as const) next.metadata[k] = existing.metadata[k];
  const r = await commitUpdate(ctx, route, existing, next, user, dryRun);
  return { body: render(route.info, r.object), warnings: r.warnings };
}
