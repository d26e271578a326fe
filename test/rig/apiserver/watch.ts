// GET ?watch=true: a chunked stream of watch events, with bookmarks, initial events and Table rows.
import type { IncomingMessage, ServerResponse } from "node:http";
import { render, storageOf, type ServerContext } from "./context.js";
import { includeObject, wantsTable } from "./get.js";
import { flag } from "./http.js";
import type { Route } from "./request-info.js";
import { apiVersionOf } from "./resources.js";
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from "./selectors.js";
import { StatusError } from "./status.js";
import type { KubeObject, WatchEvent } from "./store.js";
import { toTable } from "./table.js";

export function watch(
  ctx: ServerContext,
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
  const table = wantsTable(accept);
  const include = includeObject(q);
  const bookmarks = flag(q.get("allowWatchBookmarks"));
  const sendInitial = flag(q.get("sendInitialEvents"));
  let headerSent = false;
  const buffered: string[] = [];
  let ready = false;
  let closed = false;
  const write = (type: string, o: KubeObject) => {
    let object: unknown;
    if (table && type !== "BOOKMARK") {
      object = toTable(route.info, [o], {
        includeObject: include,
        noHeaders: headerSent,
        render: (x) => render(route.info, x),
      });
      headerSent = true;
    } else object = type === "BOOKMARK" ? o : render(route.info, o);
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
    stopWatch = ctx.store.watch(
      storageOf(route.info),
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
        resourceVersion: ctx.store.currentResourceVersion(),
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
  ctx.streams.add(res);
  const timers: NodeJS.Timeout[] = [];
  const end = () => {
    if (closed) return;
    closed = true;
    stopWatch();
    for (const t of timers) clearTimeout(t);
    ctx.streams.delete(res);
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
