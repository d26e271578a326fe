// The HTTP side of the rig's API server: routing, discovery, CRUD, list/watch, patches, logs, reviews.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import fjp from "fast-json-patch";
import type { Operation } from "fast-json-patch";
import YAML from "yaml";
import {
  runMutatingWebhooks,
  runValidatingWebhooks,
  type AdmissionAttributes,
} from "./admission.js";
import { applyDefaults, assertNamespaceActive, defaultJobSelector, validate } from "./objects.js";
import { Authorizer, type Attributes, type Tokens, type UserInfo } from "./rbac.js";
import {
  ALL_VERBS,
  apiVersionOf,
  findResource,
  groupVersions,
  keyOf,
  RESOURCES,
  REVIEWS,
  type ResourceInfo,
} from "./resources.js";
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from "./selectors.js";
import { badRequest, gone, notFound, StatusError } from "./status.js";
import { fromEventsV1, toEventsV1, type KubeObject, type Store, type WatchEvent } from "./store.js";
import { jsonMergePatch, strategicMergePatch } from "./strategicmerge.js";
import { toTable, type IncludeObject } from "./table.js";
import { decodeK8sProtobuf } from "./proto.js";

type AnyObj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ServerContext {
  store: Store;
  tokens: Tokens;
  authorizer: Authorizer;
  logsDir: string;
  caPem: string;
  address: () => string; // "127.0.0.1:PORT"
  log: (msg: string) => void;
  /** Open streaming responses (watches, log follows), ended by stop(). */
  streams: Set<ServerResponse>;
}

const CORE_EVENTS = findResource("", "v1", "events")!;

function send(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": "application/json",
    "Cache-Control": "no-cache, private",
    ...headers,
  });
  res.end(text);
}

function sendStatus(res: ServerResponse, e: StatusError): void {
  send(res, e.code, e.body());
}

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function readBody(req: IncomingMessage): Promise<string> {
  return (await readRaw(req)).toString("utf8");
}

/** Reads and decodes a request body (JSON, YAML, or the protobuf kinds kubectl's typed clients send). */
async function readObject(req: IncomingMessage, info?: ResourceInfo): Promise<unknown> {
  const raw = await readRaw(req);
  const contentType = String(req.headers["content-type"] ?? "");
  if (contentType.includes("protobuf")) {
    try {
      return decodeK8sProtobuf(raw, info ? apiVersionOf(info) : undefined, info?.kind);
    } catch (e) {
      throw new StatusError(
        415,
        "UnsupportedMediaType",
        `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (${(e as Error).message})`,
      );
    }
  }
  return parseBody(raw.toString("utf8"), contentType);
}

function parseBody(text: string, contentType: string): unknown {
  if (contentType.includes("cbor")) {
    throw new StatusError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
    );
  }
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    if (contentType.includes("yaml")) {
      try {
        return YAML.parse(text);
      } catch (e) {
        throw badRequest(`error decoding YAML: ${(e as Error).message}`);
      }
    }
    throw badRequest(
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
    );
  }
}

function warningHeaders(warnings: string[]): Record<string, string[]> {
  if (!warnings.length) return {};
  return { Warning: warnings.map((w) => `299 - ${JSON.stringify(w.replace(/[\r\n]+/g, " "))}`) };
}

function bool(v: string | null): boolean {
  return v === "true" || v === "1";
}

interface Route {
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export class ApiHandler {
  private readonly ctx: ServerContext;
  private clusterIpNext = 10;

  constructor(ctx: ServerContext) {
    this.ctx = ctx;
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

  private authenticate(req: IncomingMessage): UserInfo {
    const h = req.headers.authorization ?? "";
    const m = h.match(/^Bearer\s+(.+)$/i);
    const user = m ? this.ctx.tokens.lookup(m[1]!.trim()) : undefined;
    if (!user) throw new StatusError(401, "Unauthorized", "Unauthorized");
    return user;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const method = req.method ?? "GET";
    const user = this.authenticate(req);
    this.ctx.log(`${method} ${req.url} user=${user.username}`);

    const nonResource = this.nonResource(path);
    if (nonResource !== undefined) {
      const verb = method.toLowerCase();
      if (!this.ctx.authorizer.allowed(user, { verb, apiGroup: "", resource: "", path })) {
        throw new StatusError(
          403,
          "Forbidden",
          Authorizer.forbiddenMessage(user, { verb, apiGroup: "", resource: "", path }),
        );
      }
      if (nonResource === null)
        throw new StatusError(404, "NotFound", "the server could not find the requested resource");
      send(res, 200, nonResource);
      return;
    }

    const route = this.route(path);
    if (!route)
      throw new StatusError(404, "NotFound", "the server could not find the requested resource");
    const q = url.searchParams;
    const watch = bool(q.get("watch"));
    let verb: string;
    if (method === "GET") verb = route.name ? "get" : watch ? "watch" : "list";
    else if (method === "POST") verb = "create";
    else if (method === "PUT") verb = "update";
    else if (method === "PATCH") verb = "patch";
    else if (method === "DELETE") verb = route.name ? "delete" : "deletecollection";
    else
      throw new StatusError(
        405,
        "MethodNotAllowed",
        `the server does not allow this method on the requested resource`,
      );
    if (route.subresource === "log" && method === "GET") verb = "get";
    const attrs: Attributes = {
      verb,
      apiGroup: route.info.group,
      resource: route.info.resource,
      ...(route.subresource ? { subresource: route.subresource } : {}),
      ...(route.namespace ? { namespace: route.namespace } : {}),
      ...(route.name ? { name: route.name } : {}),
    };
    if (!this.ctx.authorizer.allowed(user, attrs)) {
      throw new StatusError(403, "Forbidden", Authorizer.forbiddenMessage(user, attrs), {
        ...(route.name ? { name: route.name } : {}),
        group: route.info.group,
        kind: route.info.resource,
      });
    }
    if (route.subresource === "exec") {
      // Upgrade requests were taken by the exec proxy (exec.ts); this is a plain request.
      throw badRequest("Upgrade request required");
    }
    if (REVIEWS.includes(route.info)) {
      if (method !== "POST")
        throw new StatusError(
          405,
          "MethodNotAllowed",
          "the server does not allow this method on the requested resource",
        );
      const body = (await readObject(req, route.info)) as AnyObj;
      send(res, 201, this.review(route.info, body ?? {}, user));
      return;
    }
    if (!route.info.namespaced && route.namespace !== undefined) {
      throw new StatusError(404, "NotFound", "the server could not find the requested resource");
    }
    const dryRun = q.getAll("dryRun").includes("All");
    const accept = String(req.headers.accept ?? "");

    switch (method) {
      case "GET":
        if (route.subresource === "log") return await this.podLog(route, q, res);
        if (route.name) return this.getOne(route, res, accept, q);
        if (watch) return this.watch(route, q, req, res, accept);
        return this.list(route, q, res, accept);
      case "POST": {
        const body = (await readObject(req, route.subresource ? undefined : route.info)) as
          KubeObject | undefined;
        if (route.name && route.subresource)
          return await this.postSubresource(route, body, res, user, dryRun);
        if (route.name)
          throw new StatusError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
          );
        if (!body || typeof body !== "object") throw badRequest("the body of the request is empty");
        const { object, warnings } = await this.create(route, body, user, dryRun);
        send(res, 201, this.render(route.info, object), warningHeaders(warnings));
        return;
      }
      case "PUT": {
        if (!route.name)
          throw new StatusError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
          );
        const body = (await readObject(req, route.subresource ? undefined : route.info)) as
          KubeObject | undefined;
        if (!body || typeof body !== "object") throw badRequest("the body of the request is empty");
        const out = await this.update(route, body, user, dryRun, "PUT");
        send(res, 200, out.body, warningHeaders(out.warnings));
        return;
      }
      case "PATCH": {
        if (!route.name)
          throw new StatusError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
          );
        const ct = String(req.headers["content-type"] ?? "")
          .split(";")[0]!
          .trim();
        const text = await readBody(req);
        const out = await this.patch(route, ct, text, user, dryRun, q);
        send(res, out.created ? 201 : 200, out.body, warningHeaders(out.warnings));
        return;
      }
      case "DELETE": {
        const body = (await readObject(req)) as AnyObj | undefined;
        const opts: AnyObj = { ...(body ?? {}) };
        if (q.get("gracePeriodSeconds") !== null)
          opts.gracePeriodSeconds = Number(q.get("gracePeriodSeconds"));
        if (q.get("propagationPolicy")) opts.propagationPolicy = q.get("propagationPolicy");
        const dry = dryRun || (Array.isArray(opts.dryRun) && opts.dryRun.includes("All"));
        if (route.name) {
          const out = this.deleteOne(route.info, route.namespace, route.name, opts, dry);
          send(res, 200, out);
        } else {
          const items = this.selectItems(route, q).map((o) =>
            this.deleteOne(route.info, o.metadata.namespace, o.metadata.name!, opts, dry),
          );
          send(res, 200, {
            kind: `${route.info.kind}List`,
            apiVersion: apiVersionOf(route.info),
            metadata: { resourceVersion: this.ctx.store.currentResourceVersion() },
            items: items.filter((i) => i.kind !== "Status"),
          });
        }
        return;
      }
    }
  }

  // ------------------------------------------------------------------ discovery and non-resource paths

  /** Returns the body for a non-resource path, null for an unknown non-resource path, undefined for resource paths. */
  private nonResource(path: string): unknown | null | undefined {
    if (path === "/version") {
      return {
        major: "1",
        minor: "32",
        gitVersion: "v1.32.0-coredog-rig",
        gitCommit: "0000000000000000000000000000000000000000",
        gitTreeState: "clean",
        buildDate: "2026-01-01T00:00:00Z",
        goVersion: "go1.23",
        compiler: "gc",
        platform: "linux/amd64",
      };
    }
    if (path === "/healthz" || path === "/livez" || path === "/readyz") return "ok";
    if (path === "/openapi/v3") return this.openapiIndex();
    if (path.startsWith("/openapi/v3/"))
      return this.openapiGroupVersion(path.slice("/openapi/v3/".length));
    if (path.startsWith("/openapi")) return null;
    if (path === "/api") {
      return {
        kind: "APIVersions",
        versions: ["v1"],
        serverAddressByClientCIDRs: [
          { clientCIDR: "0.0.0.0/0", serverAddress: this.ctx.address() },
        ],
      };
    }
    if (path === "/api/v1") return this.resourceList("", "v1");
    if (path === "/apis") {
      return {
        kind: "APIGroupList",
        apiVersion: "v1",
        groups: groupVersions().map((g) => this.apiGroup(g.group, g.versions)),
      };
    }
    const m = path.match(/^\/apis\/([^/]+)(?:\/([^/]+))?$/);
    if (m) {
      const g = groupVersions().find((x) => x.group === m[1]);
      if (!g) return null;
      if (!m[2])
        return { kind: "APIGroup", apiVersion: "v1", ...this.apiGroup(g.group, g.versions) };
      if (!g.versions.includes(m[2])) return null;
      return this.resourceList(g.group, m[2]);
    }
    if (path.startsWith("/api/") || path.startsWith("/apis/")) return undefined;
    return null;
  }

  /**
   * OpenAPI v3 without schemas: just the PATCH operations with their GVK and the fieldValidation parameter, which
   * is what kubectl looks at to decide that the server validates (so it does not need client-side schemas), and
   * without strategic-merge content so that `kubectl apply` computes patches from its built-in types.
   */
  private openapiIndex(): AnyObj {
    const paths: AnyObj = { "api/v1": { serverRelativeURL: "/openapi/v3/api/v1?hash=rig1" } };
    for (const g of groupVersions())
      for (const v of g.versions)
        paths[`apis/${g.group}/${v}`] = {
          serverRelativeURL: `/openapi/v3/apis/${g.group}/${v}?hash=rig1`,
        };
    return { paths };
  }

  private openapiGroupVersion(gv: string): AnyObj | null {
    const m = gv.match(/^(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/);
    if (!m) return null;
    const group = m[2] ?? "";
    const version = m[1] ?? m[3]!;
    const infos = RESOURCES.filter(
      (i) => i.group === group && i.version === version && !REVIEWS.includes(i),
    );
    if (!infos.length) return null;
    const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const params = ["dryRun", "fieldManager", "fieldValidation", "force", "pretty"].map((name) => ({
      name,
      in: "query",
      schema: { type: "string", uniqueItems: true },
    }));
    const paths: AnyObj = {};
    for (const i of infos) {
      const item = i.namespaced
        ? `${prefix}/namespaces/{namespace}/${i.resource}/{name}`
        : `${prefix}/${i.resource}/{name}`;
      paths[item] = {
        patch: {
          parameters: params,
          operationId: `patch${i.kind}`,
          "x-kubernetes-action": "patch",
          "x-kubernetes-group-version-kind": { group, version, kind: i.kind },
          requestBody: {
            content: {
              "application/json-patch+json": { schema: { type: "object" } },
              "application/merge-patch+json": { schema: { type: "object" } },
            },
            required: true,
          },
          responses: { "200": { description: "OK" } },
        },
      };
    }
    return {
      openapi: "3.0.0",
      info: { title: "Kubernetes", version: "v1.32.0" },
      paths,
      components: { schemas: {} },
    };
  }

  private apiGroup(group: string, versions: string[]): AnyObj {
    const vs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
    return { name: group, versions: vs, preferredVersion: vs[0] };
  }

  private resourceList(group: string, version: string): AnyObj {
    const resources: AnyObj[] = [];
    for (const i of [...RESOURCES, ...REVIEWS]) {
      if (i.group !== group || i.version !== version) continue;
      const review = REVIEWS.includes(i);
      resources.push({
        name: i.resource,
        singularName: i.singular,
        namespaced: i.namespaced,
        kind: i.kind,
        verbs: review ? ["create"] : ALL_VERBS,
        ...(i.shortNames ? { shortNames: i.shortNames } : {}),
        ...(i.categories ? { categories: i.categories } : {}),
        storageVersionHash: Buffer.from(`${group}/${version}/${i.resource}`)
          .toString("base64")
          .slice(0, 11),
      });
      for (const s of i.subresources ?? []) {
        resources.push({
          name: `${i.resource}/${s.name}`,
          singularName: "",
          namespaced: i.namespaced,
          ...(s.kind === "Scale" ? { group: "autoscaling", version: "v1" } : {}),
          ...(s.kind === "Eviction" ? { group: "policy", version: "v1" } : {}),
          kind: s.kind,
          verbs: s.verbs,
        });
      }
      if (i.resource === "serviceaccounts") {
        resources.push({
          name: "serviceaccounts/token",
          singularName: "",
          namespaced: true,
          group: "authentication.k8s.io",
          version: "v1",
          kind: "TokenRequest",
          verbs: ["create"],
        });
      }
    }
    return {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: group ? `${group}/${version}` : version,
      resources,
    };
  }

  private route(path: string): Route | undefined {
    let group: string;
    let version: string;
    let rest: string[];
    const segs = path.split("/").filter(Boolean).map(decodeURIComponent);
    if (segs[0] === "api" && segs[1]) {
      group = "";
      version = segs[1];
      rest = segs.slice(2);
    } else if (segs[0] === "apis" && segs[1] && segs[2]) {
      group = segs[1];
      version = segs[2];
      rest = segs.slice(3);
    } else return undefined;
    let namespace: string | undefined;
    if (
      rest[0] === "namespaces" &&
      rest.length >= 3 &&
      findResource(group, version, rest[2]!)?.namespaced
    ) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const info = findResource(group, version, rest[0] ?? "");
    if (!info || rest.length > 3) return undefined;
    const name = rest[1];
    const subresource = rest[2];
    if (subresource) {
      const known =
        (info.subresources ?? []).some((s) => s.name === subresource) ||
        (info.resource === "serviceaccounts" && subresource === "token") ||
        (info.resource === "namespaces" && subresource === "finalize");
      if (!known) return undefined;
    }
    return {
      info,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(subresource ? { subresource } : {}),
    };
  }

  // ------------------------------------------------------------------ representation

  /** Storage info for a route: events.k8s.io/v1 reads and writes core/v1 Events. */
  private storage(info: ResourceInfo): ResourceInfo {
    return info.storageKey === "events" ? CORE_EVENTS : info;
  }

  private render(info: ResourceInfo, o: KubeObject): KubeObject {
    const out = info.storageKey === "events" ? toEventsV1(structuredClone(o)) : structuredClone(o);
    out.apiVersion = apiVersionOf(info);
    out.kind = info.kind;
    return out;
  }

  private wantsTable(accept: string): boolean {
    return /as=Table/.test(accept);
  }

  private includeObject(q: URLSearchParams): IncludeObject {
    const v = q.get("includeObject");
    return v === "None" || v === "Object" ? v : "Metadata";
  }

  private getStored(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject {
    const o = this.ctx.store.get(this.storage(info), namespace, name);
    if (!o) throw notFound(info.resource, info.group, name);
    return o;
  }

  private getOne(route: Route, res: ServerResponse, accept: string, q: URLSearchParams): void {
    const o = this.getStored(route.info, route.namespace, route.name!);
    if (route.subresource === "scale") {
      send(res, 200, this.scaleOf(route.info, o));
      return;
    }
    if (this.wantsTable(accept) && !route.subresource) {
      send(
        res,
        200,
        toTable(route.info, [o], {
          includeObject: this.includeObject(q),
          resourceVersion: o.metadata.resourceVersion!,
          render: (x) => this.render(route.info, x),
        }),
      );
      return;
    }
    send(res, 200, this.render(route.info, o));
  }

  private scaleOf(info: ResourceInfo, o: KubeObject): AnyObj {
    const x = o as AnyObj;
    const sel = x.spec?.selector?.matchLabels as Record<string, string> | undefined;
    return {
      kind: "Scale",
      apiVersion: "autoscaling/v1",
      metadata: {
        name: o.metadata.name,
        namespace: o.metadata.namespace,
        uid: o.metadata.uid,
        resourceVersion: o.metadata.resourceVersion,
        creationTimestamp: o.metadata.creationTimestamp,
      },
      spec: { replicas: x.spec?.replicas ?? 0 },
      status: {
        replicas: x.status?.replicas ?? 0,
        selector: Object.entries(sel ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(","),
      },
    };
  }

  private selectItems(route: Route, q: URLSearchParams): KubeObject[] {
    const labels = parseLabelSelector(q.get("labelSelector"));
    const fields = parseFieldSelector(q.get("fieldSelector"), route.info);
    return this.ctx.store
      .list(this.storage(route.info), route.namespace)
      .filter((o) => matchLabels(labels, o.metadata.labels) && matchFields(fields, o));
  }

  private list(route: Route, q: URLSearchParams, res: ServerResponse, accept: string): void {
    const rv = this.ctx.store.currentResourceVersion();
    let items = this.selectItems(route, q);
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
      if (Number(token.rv) < this.ctx.store.oldestResourceVersion()) {
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
    if (this.wantsTable(accept)) {
      send(
        res,
        200,
        toTable(route.info, items, {
          includeObject: this.includeObject(q),
          resourceVersion: rv,
          ...(next ? { continueToken: next } : {}),
          render: (x) => this.render(route.info, x),
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
        const r = this.render(route.info, o) as Partial<KubeObject>;
        delete r.apiVersion;
        delete r.kind;
        return r;
      }),
    });
  }

  private watch(
    route: Route,
    q: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
    accept: string,
  ): void {
    const labels = parseLabelSelector(q.get("labelSelector"));
    const fields = parseFieldSelector(q.get("fieldSelector"), route.info);
    const matches = (o: KubeObject | undefined) =>
      !!o && matchLabels(labels, o.metadata.labels) && matchFields(fields, o);
    const table = this.wantsTable(accept);
    const includeObject = this.includeObject(q);
    const bookmarks = bool(q.get("allowWatchBookmarks"));
    const sendInitial = bool(q.get("sendInitialEvents"));
    let headerSent = false;
    const buffered: string[] = [];
    let ready = false;
    let closed = false;
    const write = (type: string, o: KubeObject) => {
      let object: unknown;
      if (table && type !== "BOOKMARK") {
        object = toTable(route.info, [o], {
          includeObject,
          noHeaders: headerSent,
          render: (x) => this.render(route.info, x),
        });
        headerSent = true;
      } else object = type === "BOOKMARK" ? o : this.render(route.info, o);
      const line = `${JSON.stringify({ type, object })}\n`;
      if (!ready) buffered.push(line);
      else if (!closed) res.write(line);
    };
    const onEvent = (ev: WatchEvent) => {
      const now = matches(ev.object);
      if (ev.type === "MODIFIED") {
        const before = ev.old ? matches(ev.old) : now;
        if (now && before) write("MODIFIED", ev.object);
        else if (now) write("ADDED", ev.object);
        else if (before) write("DELETED", ev.object);
      } else if (ev.type === "DELETED") {
        if (now || matches(ev.old)) write("DELETED", ev.object);
      } else if (now) write(ev.type, ev.object);
    };
    const rv = q.get("resourceVersion") ?? undefined;
    let stopWatch: () => void;
    try {
      stopWatch = this.ctx.store.watch(
        this.storage(route.info),
        {
          ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
          ...(rv !== undefined ? { resourceVersion: rv } : {}),
          sendInitial,
        },
        onEvent,
      );
    } catch (e) {
      if (e instanceof StatusError && e.code === 410) {
        // kube-apiserver answers 200 and sends the 410 as an ERROR event.
        res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
        res.end(`${JSON.stringify({ type: "ERROR", object: e.body() })}\n`);
        return;
      }
      throw e;
    }
    const bookmark = (initialEnd: boolean) => {
      const o = {
        kind: route.info.kind,
        apiVersion: apiVersionOf(route.info),
        metadata: {
          resourceVersion: this.ctx.store.currentResourceVersion(),
          ...(initialEnd ? { annotations: { "k8s.io/initial-events-end": "true" } } : {}),
        },
      } as KubeObject;
      write("BOOKMARK", o);
    };
    if (sendInitial && bookmarks) bookmark(true);
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Transfer-Encoding": "chunked",
      "Cache-Control": "no-cache, private",
    });
    res.flushHeaders();
    ready = true;
    for (const l of buffered) res.write(l);
    this.ctx.streams.add(res);
    const timers: NodeJS.Timeout[] = [];
    const end = () => {
      if (closed) return;
      closed = true;
      stopWatch();
      for (const t of timers) clearTimeout(t);
      this.ctx.streams.delete(res);
      if (!res.writableEnded) res.end();
    };
    if (bookmarks) {
      const t = setInterval(() => bookmark(false), 10_000);
      t.unref();
      timers.push(t);
    }
    const timeout = Number(q.get("timeoutSeconds") ?? 0);
    if (timeout > 0) timers.push(setTimeout(end, timeout * 1000));
    req.on("close", end);
    res.on("close", end);
  }

  // ------------------------------------------------------------------ writes

  private checkNamespace(route: Route, o: KubeObject): void {
    if (!route.info.namespaced) return;
    if (o.metadata.namespace && route.namespace && o.metadata.namespace !== route.namespace) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    o.metadata.namespace = route.namespace ?? o.metadata.namespace;
  }

  private async create(
    route: Route,
    body: KubeObject,
    user: UserInfo,
    dryRun: boolean,
  ): Promise<{ object: KubeObject; warnings: string[] }> {
    const info = this.storage(route.info);
    let o = structuredClone(body);
    if (route.info.storageKey === "events") o = fromEventsV1(o);
    o.metadata ??= {};
    this.checkNamespace(route, o);
    for (const k of [
      "uid",
      "resourceVersion",
      "creationTimestamp",
      "deletionTimestamp",
      "deletionGracePeriodSeconds",
      "generation",
      "managedFields",
      "selfLink",
    ]) {
      delete o.metadata[k];
    }
    if (info.namespaced) {
      assertNamespaceActive(
        this.ctx.store.get("namespaces", undefined, o.metadata.namespace ?? ""),
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
    if (info.resource === "pods" && !info.group) this.serviceAccountAdmission(o);
    const { object: mutated, warnings } = await runMutatingWebhooks(
      this.ctx.store,
      this.attrs(route, "CREATE", o.metadata.name ?? "", o, undefined, user, dryRun),
      (x) => applyDefaults(info, x),
      this.ctx.log,
    );
    o = mutated!;
    o.metadata.namespace = info.namespaced ? (route.namespace ?? o.metadata.namespace) : undefined;
    if (!info.namespaced) delete o.metadata.namespace;
    applyDefaults(info, o);
    if (!o.metadata.name && o.metadata.generateName) o.metadata.name = this.generateName(info, o);
    o.metadata.uid = randomUUID();
    if (info.resource === "jobs" && info.group === "batch") defaultJobSelector(o);
    if (info.resource === "services" && !info.group) this.allocateClusterIp(o);
    validate(info, o);
    warnings.push(
      ...(await runValidatingWebhooks(
        this.ctx.store,
        this.attrs(route, "CREATE", o.metadata.name ?? "", o, undefined, user, dryRun),
        this.ctx.log,
      )),
    );
    if (dryRun) {
      if (this.ctx.store.get(info, o.metadata.namespace, o.metadata.name!)) {
        throw new StatusError(
          409,
          "AlreadyExists",
          `${info.group ? `${info.resource}.${info.group}` : info.resource} "${o.metadata.name}" already exists`,
          { name: o.metadata.name!, group: info.group, kind: info.resource },
        );
      }
      o.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      if (info.hasGeneration) o.metadata.generation = 1;
      o.apiVersion = apiVersionOf(info);
      o.kind = info.kind;
      return { object: o, warnings };
    }
    const created = this.ctx.store.create(info, o);
    if (info.resource === "namespaces" && !info.group)
      this.populateNamespace(created.metadata.name!);
    return { object: created, warnings };
  }

  private generateName(info: ResourceInfo, o: KubeObject): string {
    const alphabet = "bcdfghjklmnpqrstvwxz2456789";
    for (;;) {
      let s = "";
      for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
      const name = `${o.metadata.generateName}${s}`;
      if (!this.ctx.store.get(info, o.metadata.namespace, name)) return name;
    }
  }

  private allocateClusterIp(o: KubeObject): void {
    const spec = (o as AnyObj).spec;
    if (spec.type === "ExternalName") return;
    if (spec.clusterIP === "None") {
      spec.clusterIPs = ["None"];
      return;
    }
    if (!spec.clusterIP) {
      const used = new Set(
        this.ctx.store.list<KubeObject & AnyObj>("services").map((s) => s.spec?.clusterIP),
      );
      let ip: string;
      do {
        const n = this.clusterIpNext++;
        ip = `10.96.${Math.floor(n / 250)}.${(n % 250) + 1}`;
      } while (used.has(ip));
      spec.clusterIP = ip;
    }
    spec.clusterIPs = [spec.clusterIP];
  }

  /** The ServiceAccount admission plugin: the account must exist; its token is mounted as a projected volume. */
  private serviceAccountAdmission(o: KubeObject): void {
    const spec = (o as AnyObj).spec;
    const sa = spec.serviceAccountName as string;
    const account = this.ctx.store.get<KubeObject & AnyObj>(
      "serviceaccounts",
      o.metadata.namespace,
      sa,
    );
    if (!account) {
      throw new StatusError(
        403,
        "Forbidden",
        `pods "${o.metadata.name || o.metadata.generateName || ""}" is forbidden: error looking up service account ${o.metadata.namespace}/${sa}: serviceaccount "${sa}" not found`,
        { name: o.metadata.name ?? "", kind: "pods" },
      );
    }
    const automount =
      spec.automountServiceAccountToken ?? account.automountServiceAccountToken ?? true;
    if (!automount) return;
    const mountPath = "/var/run/secrets/kubernetes.io/serviceaccount";
    const all = [...(spec.containers ?? []), ...(spec.initContainers ?? [])] as AnyObj[];
    if (all.some((c) => (c.volumeMounts ?? []).some((m: AnyObj) => m.mountPath === mountPath)))
      return;
    const alphabet = "bcdfghjklmnpqrstvwxz2456789";
    let suffix = "";
    for (let i = 0; i < 5; i++) suffix += alphabet[Math.floor(Math.random() * alphabet.length)];
    const volName = `kube-api-access-${suffix}`;
    spec.volumes = [
      ...(spec.volumes ?? []),
      {
        name: volName,
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
            { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
            {
              downwardAPI: {
                items: [
                  {
                    fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" },
                    path: "namespace",
                  },
                ],
              },
            },
          ],
        },
      },
    ];
    for (const c of all)
      c.volumeMounts = [...(c.volumeMounts ?? []), { name: volName, readOnly: true, mountPath }];
  }

  /** What kube-controller-manager puts in every namespace: ServiceAccount default and ConfigMap kube-root-ca.crt. */
  populateNamespace(ns: string): void {
    const s = this.ctx.store;
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
        data: { "ca.crt": this.ctx.caPem },
      });
    }
  }

  private attrs(
    route: Route,
    operation: AdmissionAttributes["operation"],
    name: string,
    object: KubeObject | undefined,
    oldObject: KubeObject | undefined,
    user: UserInfo,
    dryRun: boolean,
  ): AdmissionAttributes {
    const ns = route.info.namespaced ? (route.namespace ?? object?.metadata.namespace) : undefined;
    return {
      info: route.info,
      ...(route.subresource ? { subresource: route.subresource } : {}),
      operation,
      ...(ns ? { namespace: ns } : {}),
      name,
      ...(object ? { object: this.render(route.info, object) } : {}),
      ...(oldObject ? { oldObject: this.render(route.info, oldObject) } : {}),
      user,
      dryRun,
    };
  }

  /** Shared by PUT and PATCH: `next` is the full new object (for status/scale: the whole object with the change). */
  private async commitUpdate(
    route: Route,
    old: KubeObject,
    next: KubeObject,
    user: UserInfo,
    dryRun: boolean,
  ): Promise<{ object: KubeObject; warnings: string[] }> {
    const info = this.storage(route.info);
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
        this.ctx.store,
        this.attrs(route, "UPDATE", old.metadata.name!, o, old, user, dryRun),
        (x) => applyDefaults(info, x),
        this.ctx.log,
      );
      o = r.object!;
      warnings = r.warnings;
    }
    validate(info, o, old);
    warnings.push(
      ...(await runValidatingWebhooks(
        this.ctx.store,
        this.attrs(route, "UPDATE", old.metadata.name!, o, old, user, dryRun),
        this.ctx.log,
      )),
    );
    if (dryRun) {
      if (
        o.metadata.resourceVersion &&
        o.metadata.resourceVersion !== old.metadata.resourceVersion
      ) {
        this.ctx.store.update(info, o); // throws the Conflict
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
    return { object: this.ctx.store.update(info, o), warnings };
  }

  private async update(
    route: Route,
    body: KubeObject,
    user: UserInfo,
    dryRun: boolean,
    _how: string,
  ): Promise<{ body: unknown; warnings: string[] }> {
    const info = this.storage(route.info);
    let o = structuredClone(body);
    if (route.info.storageKey === "events") o = fromEventsV1(o);
    o.metadata ??= {};
    const old = this.getStored(route.info, route.namespace, route.name!);
    if (route.subresource === "scale") {
      const replicas = (body as AnyObj).spec?.replicas;
      const next = structuredClone(old) as AnyObj;
      next.spec.replicas = replicas;
      next.metadata.resourceVersion =
        body.metadata?.resourceVersion || old.metadata.resourceVersion;
      const r = await this.commitUpdate(route, old, next as KubeObject, user, dryRun);
      return { body: this.scaleOf(info, r.object), warnings: r.warnings };
    }
    if (o.metadata.name && o.metadata.name !== route.name) {
      throw badRequest(
        `the name of the object (${o.metadata.name}) does not match the name on the URL (${route.name})`,
      );
    }
    o.metadata.name = route.name;
    this.checkNamespace(route, o);
    const r = await this.commitUpdate(route, old, o, user, dryRun);
    return { body: this.render(route.info, r.object), warnings: r.warnings };
  }

  private async patch(
    route: Route,
    contentType: string,
    text: string,
    user: UserInfo,
    dryRun: boolean,
    q: URLSearchParams,
  ): Promise<{ body: unknown; warnings: string[]; created?: boolean }> {
    const info = this.storage(route.info);
    let patchDoc: unknown;
    try {
      patchDoc =
        contentType === "application/apply-patch+yaml" ? YAML.parse(text) : JSON.parse(text);
    } catch (e) {
      throw badRequest(`error decoding patch: ${(e as Error).message}`);
    }
    const existing = this.ctx.store.get(info, route.namespace, route.name!);
    if (!existing) {
      if (contentType === "application/apply-patch+yaml" && !route.subresource) {
        const body = patchDoc as KubeObject;
        body.metadata = { ...(body.metadata ?? {}), name: route.name };
        const r = await this.create(route, body, user, dryRun);
        return { body: this.render(route.info, r.object), warnings: r.warnings, created: true };
      }
      throw notFound(route.info.resource, route.info.group, route.name!);
    }
    const base: AnyObj =
      route.subresource === "scale"
        ? this.scaleOf(info, existing)
        : this.render(route.info, existing);
    let patched: AnyObj;
    try {
      switch (contentType) {
        case "application/json-patch+json": {
          if (!Array.isArray(patchDoc)) throw new Error("json patch must be an array");
          patched = fjp.applyPatch(
            structuredClone(base),
            patchDoc as Operation[],
            true,
            false,
          ).newDocument;
          break;
        }
        case "application/merge-patch+json":
          patched = jsonMergePatch(base, patchDoc);
          break;
        case "application/strategic-merge-patch+json":
          patched = strategicMergePatch(base, patchDoc);
          break;
        case "application/apply-patch+yaml":
          if (!q.get("fieldManager"))
            throw badRequest("PATCH requests with apply content type require a fieldManager");
          patched = strategicMergePatch(base, patchDoc);
          break;
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
    if (route.subresource === "scale") {
      const next = structuredClone(existing) as AnyObj;
      next.spec.replicas = patched.spec?.replicas;
      const r = await this.commitUpdate(route, existing, next as KubeObject, user, dryRun);
      return { body: this.scaleOf(info, r.object), warnings: r.warnings };
    }
    let next = patched as KubeObject;
    if (route.info.storageKey === "events") next = fromEventsV1(next);
    next.metadata ??= {};
    next.metadata.name = route.name;
    // The patch may carry a resourceVersion precondition; otherwise the update is unconditional on the current one.
    if (!next.metadata.resourceVersion)
      next.metadata.resourceVersion = existing.metadata.resourceVersion;
    for (const k of ["uid", "creationTimestamp"] as const) next.metadata[k] = existing.metadata[k];
    const r = await this.commitUpdate(route, existing, next, user, dryRun);
    return { body: this.render(route.info, r.object), warnings: r.warnings };
  }

  // ------------------------------------------------------------------ deletes

  /** Deletes one object with Kubernetes' rules for pods (graceful on a node), finalizers and namespaces. */
  deleteOne(
    info0: ResourceInfo,
    namespace: string | undefined,
    name: string,
    opts: AnyObj,
    dryRun: boolean,
  ): AnyObj {
    const info = this.storage(info0);
    const store = this.ctx.store;
    const old = this.getStored(info0, namespace, name) as KubeObject & AnyObj;
    const pre = opts.preconditions as { uid?: string; resourceVersion?: string } | undefined;
    if (pre?.uid && pre.uid !== old.metadata.uid) {
      throw new StatusError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${info.group ? `${info.resource}.${info.group}` : info.resource} "${name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw new StatusError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${info.group ? `${info.resource}.${info.group}` : info.resource} "${name}": Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
      );
    }
    const success = (o: KubeObject): AnyObj => ({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name, group: info.group, kind: info.resource, uid: o.metadata.uid },
    });
    if (dryRun) return info.resource === "pods" ? this.render(info0, old) : success(old);
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    if (info.resource === "pods" && !info.group) {
      const grace =
        typeof opts.gracePeriodSeconds === "number"
          ? opts.gracePeriodSeconds
          : (old.spec?.terminationGracePeriodSeconds ?? 30);
      const phase = old.status?.phase;
      const graceful =
        grace > 0 && !!old.spec?.nodeName && phase !== "Succeeded" && phase !== "Failed";
      if (!graceful) return this.render(info0, store.delete(info, namespace, name));
      if (old.metadata.deletionTimestamp) return this.render(info0, old);
      const next = structuredClone(old);
      next.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000)
        .toISOString()
        .replace(/\.\d+Z$/, "Z");
      next.metadata.deletionGracePeriodSeconds = grace;
      return this.render(info0, this.forceUpdate(info, old, next));
    }
    if (info.resource === "namespaces" && !info.group) {
      if (["default", "kube-system", "kube-public"].includes(name)) {
        throw new StatusError(
          403,
          "Forbidden",
          `namespaces "${name}" is forbidden: this namespace may not be deleted`,
        );
      }
      let ns = old;
      if (!old.metadata.deletionTimestamp) {
        const next = structuredClone(old);
        next.metadata.deletionTimestamp = now;
        next.status = { ...(next.status ?? {}), phase: "Terminating" };
        ns = this.forceUpdate(info, old, next) as KubeObject & AnyObj;
      }
      this.purgeNamespace(name);
      return this.render(info0, this.ctx.store.get(info, undefined, name) ?? ns);
    }
    if (old.metadata.finalizers?.length) {
      if (old.metadata.deletionTimestamp) return this.render(info0, old);
      const next = structuredClone(old);
      next.metadata.deletionTimestamp = now;
      next.metadata.deletionGracePeriodSeconds = 0;
      return this.render(info0, this.forceUpdate(info, old, next));
    }
    return success(store.delete(info, namespace, name));
  }

  /** Update that may set deletionTimestamp (which the store otherwise keeps from the old object). */
  private forceUpdate(info: ResourceInfo, old: KubeObject, next: KubeObject): KubeObject {
    const store = this.ctx.store;
    const dt = next.metadata.deletionTimestamp;
    const g = next.metadata.deletionGracePeriodSeconds;
    // The store keeps deletionTimestamp from the stored object; set it through a copy that has it.
    const withMeta = {
      ...next,
      metadata: { ...next.metadata, resourceVersion: old.metadata.resourceVersion },
    };
    return store.updateDeleting(info, withMeta, dt!, g);
  }

  /** Deletes a terminating namespace's contents; the namespace goes when its last pod is gone. */
  purgeNamespace(ns: string): void {
    const store = this.ctx.store;
    for (const info of RESOURCES) {
      if (!info.namespaced || info.storageKey) continue;
      for (const o of store.list(info, ns)) {
        try {
          if (info.resource === "pods" && !info.group)
            this.deleteOne(info, ns, o.metadata.name!, {}, false);
          else if (store.get(info, ns, o.metadata.name!)) store.delete(info, ns, o.metadata.name!);
        } catch {
          // Already gone.
        }
      }
    }
    this.finishNamespace(ns);
  }

  /** Removes a Terminating namespace once no pods are left in it. */
  finishNamespace(ns: string): void {
    const store = this.ctx.store;
    const o = store.get("namespaces", undefined, ns);
    if (!o?.metadata.deletionTimestamp) return;
    if (store.list("pods", ns).length > 0) return;
    for (const info of RESOURCES) {
      if (!info.namespaced || info.storageKey) continue;
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

  // ------------------------------------------------------------------ subresources: binding, eviction, token, logs

  private async postSubresource(
    route: Route,
    body: KubeObject | undefined,
    res: ServerResponse,
    user: UserInfo,
    dryRun: boolean,
  ): Promise<void> {
    const info = route.info;
    const b = (body ?? {}) as AnyObj;
    if (info.resource === "pods" && route.subresource === "binding") {
      const pod = this.getStored(info, route.namespace, route.name!) as KubeObject & AnyObj;
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
        const conds = (next.status?.conditions ?? []).filter(
          (c: AnyObj) => c.type !== "PodScheduled",
        );
        next.status = {
          ...(next.status ?? {}),
          conditions: [
            ...conds,
            {
              type: "PodScheduled",
              status: "True",
              lastProbeTime: null,
              lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
            },
          ],
        };
        this.ctx.store.update(info, next);
      }
      send(res, 201, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Success",
        code: 201,
      });
      return;
    }
    if (info.resource === "pods" && route.subresource === "eviction") {
      this.deleteOne(info, route.namespace, route.name!, b.deleteOptions ?? {}, dryRun);
      send(res, 201, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Success",
        code: 201,
      });
      return;
    }
    if (info.resource === "serviceaccounts" && route.subresource === "token") {
      this.getStored(info, route.namespace, route.name!);
      const seconds = Number(b.spec?.expirationSeconds ?? 3600);
      const token = this.ctx.tokens.issue(
        `system:serviceaccount:${route.namespace}:${route.name}`,
        ["system:serviceaccounts", `system:serviceaccounts:${route.namespace}`],
      );
      send(res, 201, {
        kind: "TokenRequest",
        apiVersion: "authentication.k8s.io/v1",
        metadata: { name: route.name, namespace: route.namespace, creationTimestamp: null },
        spec: {
          audiences: b.spec?.audiences ?? ["https://kubernetes.default.svc"],
          expirationSeconds: seconds,
          boundObjectRef: b.spec?.boundObjectRef ?? null,
        },
        status: {
          token,
          expirationTimestamp: new Date(Date.now() + seconds * 1000)
            .toISOString()
            .replace(/\.\d+Z$/, "Z"),
        },
      });
      void user;
      return;
    }
    throw new StatusError(
      405,
      "MethodNotAllowed",
      "the server does not allow this method on the requested resource",
    );
  }

  private async podLog(route: Route, q: URLSearchParams, res: ServerResponse): Promise<void> {
    const pod = this.getStored(route.info, route.namespace, route.name!) as KubeObject & AnyObj;
    const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map(
      (c: AnyObj) => c.name as string,
    );
    let container = q.get("container") ?? undefined;
    if (!container) {
      const def = pod.metadata.annotations?.["kubectl.kubernetes.io/default-container"];
      const main = (pod.spec?.containers ?? []).map((c: AnyObj) => c.name as string);
      if (main.length === 1) container = main[0];
      else if (def && main.includes(def)) container = def;
      else
        throw badRequest(
          `a container name must be specified for pod ${route.name}, choose one of: [${main.join(" ")}]`,
        );
    }
    if (!names.includes(container!))
      throw badRequest(`container ${container} is not valid for pod ${route.name}`);
    const dir = join(this.ctx.logsDir, route.namespace ?? "", route.name!);
    const previous = bool(q.get("previous"));
    const file = join(dir, previous ? `${container}.previous.log` : `${container}.log`);
    if (!existsSync(file)) {
      if (previous)
        throw badRequest(
          `previous terminated container "${container}" in pod "${route.name}" not found`,
        );
      const st = [
        ...(pod.status?.containerStatuses ?? []),
        ...(pod.status?.initContainerStatuses ?? []),
      ].find((c: AnyObj) => c.name === container);
      const waiting = st?.state?.waiting?.reason ?? "ContainerCreating";
      throw badRequest(
        `container "${container}" in pod "${route.name}" is waiting to start: ${waiting}`,
      );
    }
    let text = readFileSync(file, "utf8");
    const tail = q.get("tailLines");
    if (tail !== null) {
      const n = Number(tail);
      const lines = text.split("\n");
      const trailing = lines[lines.length - 1] === "" ? lines.pop() : undefined;
      text =
        lines.slice(Math.max(0, lines.length - n)).join("\n") +
        (trailing !== undefined && n > 0 ? "\n" : "");
    }
    const limitBytes = q.get("limitBytes");
    if (limitBytes !== null)
      text = Buffer.from(text).subarray(0, Number(limitBytes)).toString("utf8");
    if (!bool(q.get("follow"))) {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end(text);
      return;
    }
    res.writeHead(200, { "Content-Type": "text/plain", "Transfer-Encoding": "chunked" });
    res.write(text);
    this.ctx.streams.add(res);
    let offset = statSync(file).size;
    let closed = false;
    const stop = () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      this.ctx.streams.delete(res);
      if (!res.writableEnded) res.end();
    };
    const readMore = async (): Promise<boolean> => {
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        return false;
      }
      if (size < offset) offset = 0;
      if (size === offset) return false;
      const fh = await open(file, "r");
      try {
        const buf = Buffer.alloc(size - offset);
        await fh.read(buf, 0, buf.length, offset);
        offset = size;
        if (!closed) res.write(buf);
      } finally {
        await fh.close();
      }
      return true;
    };
    let busy = false;
    const timer = setInterval(() => {
      if (busy || closed) return;
      busy = true;
      void (async () => {
        try {
          const grew = await readMore();
          const cur = this.ctx.store.get<KubeObject & AnyObj>("pods", route.namespace, route.name!);
          const st = [
            ...(cur?.status?.containerStatuses ?? []),
            ...(cur?.status?.initContainerStatuses ?? []),
          ].find((c: AnyObj) => c.name === container);
          const over =
            !cur ||
            cur.metadata.uid !== pod.metadata.uid ||
            (st?.state?.terminated && !st?.state?.running);
          if (over && !grew) stop();
        } finally {
          busy = false;
        }
      })();
    }, 150);
    res.on("close", stop);
    void createReadStream;
  }

  // ------------------------------------------------------------------ reviews

  private review(info: ResourceInfo, body: AnyObj, user: UserInfo): AnyObj {
    const out = {
      ...body,
      apiVersion: apiVersionOf(info),
      kind: info.kind,
      metadata: { ...(body.metadata ?? {}), creationTimestamp: null },
    };
    const spec = (body.spec ?? {}) as AnyObj;
    const check = (u: UserInfo): AnyObj => {
      const ra = spec.resourceAttributes as AnyObj | undefined;
      const nra = spec.nonResourceAttributes as AnyObj | undefined;
      const attrs: Attributes = ra
        ? {
            verb: ra.verb ?? "",
            apiGroup: ra.group ?? "",
            resource: ra.resource ?? "",
            ...(ra.subresource ? { subresource: ra.subresource } : {}),
            ...(ra.namespace ? { namespace: ra.namespace } : {}),
            ...(ra.name ? { name: ra.name } : {}),
          }
        : { verb: nra?.verb ?? "", apiGroup: "", resource: "", path: nra?.path ?? "" };
      const allowed = this.ctx.authorizer.allowed(u, attrs);
      return allowed
        ? {
            allowed: true,
            reason: u.groups.includes("system:masters") ? "" : "RBAC: allowed by a binding",
          }
        : { allowed: false };
    };
    switch (info.resource) {
      case "selfsubjectaccessreviews":
        return { ...out, status: check(user) };
      case "subjectaccessreviews":
        return { ...out, status: check({ username: spec.user ?? "", groups: spec.groups ?? [] }) };
      case "selfsubjectrulesreviews": {
        const ns = spec.namespace as string | undefined;
        const master = user.groups.includes("system:masters");
        const rules = master
          ? [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }]
          : this.ctx.authorizer.rulesFor(user, ns);
        return {
          ...out,
          status: {
            resourceRules: [
              {
                verbs: ["create"],
                apiGroups: ["authorization.k8s.io"],
                resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
              },
              ...rules.filter((r) => !r.nonResourceURLs),
            ],
            nonResourceRules: [
              {
                verbs: ["get"],
                nonResourceURLs: [
                  "/api",
                  "/api/*",
                  "/apis",
                  "/apis/*",
                  "/healthz",
                  "/livez",
                  "/openapi",
                  "/openapi/*",
                  "/readyz",
                  "/version",
                  "/version/",
                ],
              },
            ],
            incomplete: false,
          },
        };
      }
      case "tokenreviews": {
        const u = this.ctx.tokens.lookup(spec.token ?? "");
        return {
          ...out,
          status: u
            ? {
                authenticated: true,
                user: { username: u.username, groups: u.groups },
                audiences: spec.audiences ?? [],
              }
            : { authenticated: false, error: "invalid bearer token" },
        };
      }
      case "selfsubjectreviews":
        return { ...out, status: { userInfo: { username: user.username, groups: user.groups } } };
    }
    throw new StatusError(404, "NotFound", "the server could not find the requested resource");
  }
}

export { keyOf };
