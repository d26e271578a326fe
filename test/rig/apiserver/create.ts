// POST of a new object: server-set fields, defaults, admission (built-in and webhooks), naming, validation, storage.
import { randomUUID } from "node:crypto";
import { runMutatingWebhooks, runValidatingWebhooks } from "./admission.js";
import { storageOf, timestamp, type ApiContext } from "./context.js";
import { randomSuffix } from "./random-suffix.js";
import { applyDefaults, assertNamespaceActive, validate } from "./objects.js";
import type { UserInfo } from "./rbac.js";
import type { Route } from "./request-info.js";
import { apiVersionOf, type ResourceInfo } from "./resources.js";
import { StatusError } from "./status.js";
import { fromEventsV1, type KubeObject } from "./store.js";
import { strategyOf } from "./strategies.js";
import { admissionAttributes, checkNamespace } from "./writes.js";

/** Fields the server owns; a client's values are dropped. */
const SERVER_SET = [
  "uid",
  "resourceVersion",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "generation",
  "managedFields",
  "selfLink",
];

export async function create(
  ctx: ApiContext,
  route: Route,
  body: KubeObject,
  user: UserInfo,
  dryRun: boolean,
): Promise<{ object: KubeObject; warnings: string[] }> {
  const info = storageOf(route.info);
  const strategy = strategyOf(info);
  let o = structuredClone(body);
  if (route.info.storageKey === "events") o = fromEventsV1(o);
  o.metadata ??= {};
  checkNamespace(route, o);
  for (const k of SERVER_SET) delete o.metadata[k];
  if (info.namespaced) {
    assertNamespaceActive(
      ctx.store.get("namespaces", undefined, o.metadata.namespace ?? ""),
      o.metadata.namespace ?? "",
      info.resource,
      info.group,
      o.metadata.name ?? o.metadata.generateName ?? "",
    );
  }
  if (!o.metadata.name && !o.metadata.generateName) {
    throw new StatusError(
      422,
      "Invalid",
      `${info.kind}${info.group ? `.${info.group}` : ""} "" is invalid: metadata.name: Required value: name or generateName is required`,
      {
        kind: info.kind,
        group: info.group,
        causes: [
          {
            reason: "FieldValueRequired",
            message: "Required value: name or generateName is required",
            field: "metadata.name",
          },
        ],
      },
    );
  }
  applyDefaults(info, o);
  strategy.admit?.(ctx, o);
  const { object: mutated, warnings } = await runMutatingWebhooks(
    ctx.store,
    admissionAttributes(route, "CREATE", o.metadata.name ?? "", o, undefined, user, dryRun),
    (x) => applyDefaults(info, x),
    ctx.log,
  );
  o = mutated!;
  o.metadata.namespace = info.namespaced ? (route.namespace ?? o.metadata.namespace) : undefined;
  if (!info.namespaced) delete o.metadata.namespace;
  applyDefaults(info, o);
  if (!o.metadata.name && o.metadata.generateName) o.metadata.name = generateName(ctx, info, o);
  o.metadata.uid = randomUUID();
  strategy.prepareForCreate?.(ctx, o);
  validate(info, o);
  warnings.push(
    ...(await runValidatingWebhooks(
      ctx.store,
      admissionAttributes(route, "CREATE", o.metadata.name ?? "", o, undefined, user, dryRun),
      ctx.log,
    )),
  );
  if (dryRun) {
    if (ctx.store.get(info, o.metadata.namespace, o.metadata.name!)) {
      throw new StatusError(
        409,
        "AlreadyExists",
        `${info.group ? `${info.resource}.${info.group}` : info.resource} "${o.metadata.name}" already exists`,
        { name: o.metadata.name!, group: info.group, kind: info.resource },
      );
    }
    o.metadata.creationTimestamp = timestamp();
    if (info.hasGeneration) o.metadata.generation = 1;
    o.apiVersion = apiVersionOf(info);
    o.kind = info.kind;
    return { object: o, warnings };
  }
  const created = ctx.store.create(info, o);
  strategy.afterCreate?.(ctx, created);
  return { object: created, warnings };
}

function generateName(ctx: ApiContext, info: ResourceInfo, o: KubeObject): string {
  for (;;) {
    const name = `${o.metadata.generateName}${randomSuffix()}`;
    if (!ctx.store.get(info, o.metadata.namespace, name)) return name;
  }
}
