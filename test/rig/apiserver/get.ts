// GET of one object and of lists: selectors, paging with continue tokens, Table output.
import type { ServerResponse } from "node:http";
import { getStored, render, storageOf, type ServerContext } from "./context.js";
import { send } from "./http.js";
import type { Route } from "./request-info.js";
import { apiVersionOf } from "./resources.js";
import { scaleOf } from "./scale.js";
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from "./selectors.js";
import { badRequest, gone } from "./status.js";
import type { KubeObject } from "./store.js";
import { toTable, type IncludeObject } from "./table.js";

export function wantsTable(accept: string): boolean {
  return /as=Table/.test(accept);
}

export function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get("includeObject");
  return v === "None" || v === "Object" ? v : "Metadata";
}

export function getOne(
  ctx: ServerContext,
  route: Route,
  res: ServerResponse,
  accept: string,
  q: URLSearchParams,
): void {
  const o = getStored(ctx, route.info, route.namespace, route.name!);
  if (route.subresource === "scale") {
    send(res, 200, scaleOf(o));
    return;
  }
  if (wantsTable(accept) && !route.subresource) {
    send(
      res,
      200,
      toTable(route.info, [o], {
        includeObject: includeObject(q),
        resourceVersion: o.metadata.resourceVersion!,
        render: (x) => render(route.info, x),
      }),
    );
    return;
  }
  send(res, 200, render(route.info, o));
}

/** The objects of a route that match its labelSelector and fieldSelector parameters. */
export function selectItems(ctx: ServerContext, route: Route, q: URLSearchParams): KubeObject[] {
  const labels = parseLabelSelector(q.get("labelSelector"));
  const fields = parseFieldSelector(q.get("fieldSelector"), route.info);
  return ctx.store
    .list(storageOf(route.info), route.namespace)
    .filter((o) => matchLabels(labels, o.metadata.labels) && matchFields(fields, o));
}

export function list(
  ctx: ServerContext,
  route: Route,
  q: URLSearchParams,
  res: ServerResponse,
  accept: string,
): void {
  const rv = ctx.store.currentResourceVersion();
  let items = selectItems(ctx, route, q);
  const limit = Number(q.get("limit") ?? 0);
  const cont = q.get("continue");
  if (cont) {
    let token: { rv: string; start: string };
    try {
      token = JSON.parse(Buffer.from(cont, "base64").toString("utf8")) as {
        rv: string;
        start: string;
      };
    } catch {
      throw badRequest("continue key is not valid: illegal base64 data");
    }
    if (Number(token.rv) < ctx.store.oldestResourceVersion()) {
      throw gone(
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
      );
    }
    items = items.filter((o) => `${o.metadata.namespace ?? ""}/${o.metadata.name}` > token.start);
  }
  let next: string | undefined;
  let remaining: number | undefined;
  if (limit > 0 && items.length > limit) {
    remaining = items.length - limit;
    items = items.slice(0, limit);
    const last = items[items.length - 1]!;
    next = Buffer.from(
      JSON.stringify({ rv, start: `${last.metadata.namespace ?? ""}/${last.metadata.name}` }),
    ).toString("base64");
  }
  if (wantsTable(accept)) {
    send(
      res,
      200,
      toTable(route.info, items, {
        includeObject: includeObject(q),
        resourceVersion: rv,
        ...(next ? { continueToken: next } : {}),
        render: (x) => render(route.info, x),
      }),
    );
    return;
  }
  send(res, 200, {
    kind: `${route.info.kind}List`,
    apiVersion: apiVersionOf(route.info),
    metadata: {
      resourceVersion: rv,
      ...(next ? { continue: next, remainingItemCount: remaining } : {}),
    },
    items: items.map((o) => {
      const r = render(route.info, o) as Partial<KubeObject>;
      delete r.apiVersion;
      delete r.kind;
      return r;
    }),
  });
}
