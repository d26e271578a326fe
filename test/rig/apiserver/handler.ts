// The rig API server's handler chain, as kube-apiserver's: authenticate, serve non-resource paths (discovery,
// version, health, openapi), resolve the request's resource, authorize, then hand it to the handler for its verb.
// A kind's data lives in resources.ts, its write-path rules in strategies.ts; nothing here names a kind.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ClusterIps } from "./cluster-ip.js";
import type { AnyObj, ApiContext, ServerContext } from "./context.js";
import { render } from "./context.js";
import { create } from "./create.js";
import { deleteCollection, deleteOne, deleteOptions } from "./delete.js";
import { nonResource } from "./discovery.js";
import { authenticate, authorizeNonResource, authorizeResource } from "./filters.js";
import { getOne, list } from "./get.js";
import {
  flag,
  methodNotAllowed,
  pathNotFound,
  readBody,
  readObject,
  send,
  sendStatus,
  warningHeaders,
} from "./http.js";
import { finishNamespace, populateNamespace } from "./namespace-lifecycle.js";
import { patch } from "./patch.js";
import { podLog } from "./pod-log.js";
import type { UserInfo } from "./rbac.js";
import { parseRoute, verbOf, type Route } from "./request-info.js";
import { REVIEWS } from "./resources.js";
import { review } from "./reviews.js";
import { badRequest, StatusError } from "./status.js";
import type { KubeObject } from "./store.js";
import { createSubresource } from "./subresources.js";
import { update } from "./update.js";
import { watch } from "./watch.js";

export type { ServerContext } from "./context.js";

interface ResourceRequest {
  req: IncomingMessage;
  res: ServerResponse;
  route: Route;
  q: URLSearchParams;
  user: UserInfo;
  dryRun: boolean;
  accept: string;
}

async function body(r: ResourceRequest): Promise<KubeObject | undefined> {
  // A subresource's body is not the resource's kind (Binding, Eviction, Scale...), so it is not decoded as one.
  return (await readObject(r.req, r.route.subresource ? undefined : r.route.info)) as
    KubeObject | undefined;
}

function requireBody(o: KubeObject | undefined): KubeObject {
  if (!o || typeof o !== "object") throw badRequest("the body of the request is empty");
  return o;
}

export class ApiHandler {
  private readonly ctx: ApiContext;

  constructor(ctx: ServerContext) {
    this.ctx = { ...ctx, clusterIps: new ClusterIps(ctx.store) };
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.dispatch(req, res).catch((e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof StatusError) sendStatus(res, e);
      else {
        this.ctx.log(`internal error: ${(e as Error).stack ?? String(e)}`);
        sendStatus(
          res,
          new StatusError(500, "InternalError", `Internal error occurred: ${(e as Error).message}`),
        );
      }
    });
  };

  /** What kube-controller-manager puts in a namespace (for the namespaces the server starts with). */
  populateNamespace(ns: string): void {
    populateNamespace(this.ctx, ns);
  }

  /** Removes a Terminating namespace once no pods are left in it. */
  finishNamespace(ns: string): void {
    finishNamespace(this.ctx, ns);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const method = req.method ?? "GET";
    const user = authenticate(this.ctx.tokens, req);
    this.ctx.log(`${method} ${req.url} user=${user.username}`);

    const nonResourceBody = nonResource(path, this.ctx.address());
    if (nonResourceBody !== undefined) {
      authorizeNonResource(this.ctx.authorizer, user, method.toLowerCase(), path);
      if (nonResourceBody === null) throw pathNotFound();
      send(res, 200, nonResourceBody);
      return;
    }

    const route = parseRoute(path);
    if (!route) throw pathNotFound();
    const q = url.searchParams;
    authorizeResource(
      this.ctx.authorizer,
      user,
      verbOf(method, route, flag(q.get("watch"))),
      route,
    );
    if (route.subresource === "exec") {
      // Upgrade requests were taken by the exec proxy (exec.ts); this is a plain request.
      throw badRequest("Upgrade request required");
    }
    if (REVIEWS.includes(route.info)) {
      if (method !== "POST") throw methodNotAllowed();
      const b = (await readObject(req, route.info)) as AnyObj;
      send(res, 201, review(this.ctx, route.info, b ?? {}, user));
      return;
    }
    if (!route.info.namespaced && route.namespace !== undefined) throw pathNotFound();
    const r: ResourceRequest = {
      req,
      res,
      route,
      q,
      user,
      dryRun: q.getAll("dryRun").includes("All"),
      accept: String(req.headers.accept ?? ""),
    };
    switch (method) {
      case "GET":
        return await this.get(r);
      case "POST":
        return await this.post(r);
      case "PUT":
        return await this.put(r);
      case "PATCH":
        return await this.patch(r);
      case "DELETE":
        return await this.delete(r);
    }
  }

  private async get({ route, q, req, res, accept }: ResourceRequest): Promise<void> {
    if (route.subresource === "log") return await podLog(this.ctx, route, q, res);
    if (route.name) return getOne(this.ctx, route, res, accept, q);
    if (flag(q.get("watch"))) return watch(this.ctx, route, q, req, res, accept);
    return list(this.ctx, route, q, res, accept);
  }

  private async post(r: ResourceRequest): Promise<void> {
    const { route, res, user, dryRun } = r;
    const b = await body(r);
    if (route.name && route.subresource) {
      const out = createSubresource(this.ctx, route, b, dryRun);
      send(res, out.code, out.body);
      return;
    }
    if (route.name) throw methodNotAllowed();
    const { object, warnings } = await create(this.ctx, route, requireBody(b), user, dryRun);
    send(res, 201, render(route.info, object), warningHeaders(warnings));
  }

  private async put(r: ResourceRequest): Promise<void> {
    const { route, res, user, dryRun } = r;
    if (!route.name) throw methodNotAllowed();
    const out = await update(this.ctx, route, requireBody(await body(r)), user, dryRun);
    send(res, 200, out.body, warningHeaders(out.warnings));
  }

  private async patch({ route, req, res, user, dryRun, q }: ResourceRequest): Promise<void> {
    if (!route.name) throw methodNotAllowed();
    const contentType = String(req.headers["content-type"] ?? "")
      .split(";")[0]!
      .trim();
    const text = await readBody(req);
    const out = await patch(this.ctx, route, contentType, text, user, dryRun, q);
    send(res, out.created ? 201 : 200, out.body, warningHeaders(out.warnings));
  }

  private async delete({ route, req, res, q, dryRun }: ResourceRequest): Promise<void> {
    const opts = deleteOptions((await readObject(req)) as AnyObj | undefined, q);
    const dry = dryRun || (Array.isArray(opts.dryRun) && opts.dryRun.includes("All"));
    if (route.name)
      send(res, 200, deleteOne(this.ctx, route.info, route.namespace, route.name, opts, dry));
    else send(res, 200, deleteCollection(this.ctx, route, q, opts, dry));
  }
}
