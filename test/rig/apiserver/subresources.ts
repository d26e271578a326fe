// POST to a subresource: pods/binding (the scheduler's), pods/eviction, serviceaccounts/token.
// (status and scale go through update.ts and patch.ts, log through pod-log.ts, exec through exec.ts.)
import { getStored, timestamp, type AnyObj, type ApiContext } from "./context.js";
import { deleteOne } from "./delete.js";
import { methodNotAllowed } from "./http.js";
import type { Route } from "./request-info.js";
import { badRequest, StatusError } from "./status.js";
import type { KubeObject } from "./store.js";

export interface SubresourceReply {
  code: number;
  body: unknown;
}

type CreateHandler = (
  ctx: ApiContext,
  route: Route,
  body: AnyObj,
  dryRun: boolean,
) => SubresourceReply;

const CREATED: SubresourceReply = {
  code: 201,
  body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 },
};

function bind(ctx: ApiContext, route: Route, b: AnyObj, dryRun: boolean): SubresourceReply {
  const pod = getStored(ctx, route.info, route.namespace, route.name!) as KubeObject & AnyObj;
  if (pod.spec?.nodeName) {
    throw new StatusError(
      409,
      "Conflict",
      `Operation cannot be fulfilled on pods/binding "${route.name}": pod ${route.name} is already assigned to node "${pod.spec.nodeName}"`,
    );
  }
  const node = b.target?.name as string | undefined;
  if (!node) throw badRequest("target.name is required");
  if (!dryRun) {
    const next = structuredClone(pod);
    next.spec.nodeName = node;
    const conds = (next.status?.conditions ?? []).filter((c: AnyObj) => c.type !== "PodScheduled");
    next.status = {
      ...(next.status ?? {}),
      conditions: [
        ...conds,
        {
          type: "PodScheduled",
          status: "True",
          lastProbeTime: null,
          lastTransitionTime: timestamp(),
        },
      ],
    };
    ctx.store.update(route.info, next);
  }
  return CREATED;
}

function evict(ctx: ApiContext, route: Route, b: AnyObj, dryRun: boolean): SubresourceReply {
  deleteOne(ctx, route.info, route.namespace, route.name!, b.deleteOptions ?? {}, dryRun);
  return CREATED;
}

function requestToken(ctx: ApiContext, route: Route, b: AnyObj): SubresourceReply {
  getStored(ctx, route.info, route.namespace, route.name!);
  const seconds = Number(b.spec?.expirationSeconds ?? 3600);
  const token = ctx.tokens.issue(`system:serviceaccount:${route.namespace}:${route.name}`, [
    "system:serviceaccounts",
    `system:serviceaccounts:${route.namespace}`,
  ]);
  return {
    code: 201,
    body: {
      kind: "TokenRequest",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { name: route.name, namespace: route.namespace, creationTimestamp: null },
      spec: {
        audiences: b.spec?.audiences ?? ["https://kubernetes.default.svc"],
        expirationSeconds: seconds,
        boundObjectRef: b.spec?.boundObjectRef ?? null,
      },
      status: { token, expirationTimestamp: timestamp(Date.now() + seconds * 1000) },
    },
  };
}

/** Keyed by "resource/subresource". */
const CREATE_HANDLERS: Record<string, CreateHandler> = {
  "pods/binding": bind,
  "pods/eviction": evict,
  "serviceaccounts/token": requestToken,
};

export function createSubresource(
  ctx: ApiContext,
  route: Route,
  body: KubeObject | undefined,
  dryRun: boolean,
): SubresourceReply {
  const handler = CREATE_HANDLERS[`${route.info.resource}/${route.subresource}`];
  if (!handler) throw methodNotAllowed();
  return handler(ctx, route, (body ?? {}) as AnyObj, dryRun);
}
