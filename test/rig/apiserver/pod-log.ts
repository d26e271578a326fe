// GET pods/NAME/log: the container's log file as the node wrote it, with tailLines, limitBytes, previous, follow.
import type { ServerResponse } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { getStored, type AnyObj, type ServerContext } from "./context.js";
import { flag } from "./http.js";
import type { Route } from "./request-info.js";
import { badRequest } from "./status.js";
import type { KubeObject } from "./store.js";

/** How often a follow checks the file for more and the pod for the container's end. */
const FOLLOW_POLL_MS = 150;

function statusOf(pod: AnyObj | undefined, container: string): AnyObj | undefined {
  return [
    ...(pod?.status?.containerStatuses ?? []),
    ...(pod?.status?.initContainerStatuses ?? []),
  ].find((c: AnyObj) => c.name === container);
}

/** The container a request names, or the pod's only or default container. */
function containerOf(pod: KubeObject & AnyObj, route: Route, q: URLSearchParams): string {
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
  return container!;
}

function tailLines(text: string, n: number): string {
  const lines = text.split("\n");
  const trailing = lines[lines.length - 1] === "" ? lines.pop() : undefined;
  return (
    lines.slice(Math.max(0, lines.length - n)).join("\n") +
    (trailing !== undefined && n > 0 ? "\n" : "")
  );
}

export async function podLog(
  ctx: ServerContext,
  route: Route,
  q: URLSearchParams,
  res: ServerResponse,
): Promise<void> {
  const pod = getStored(ctx, route.info, route.namespace, route.name!) as KubeObject & AnyObj;
  const container = containerOf(pod, route, q);
  const dir = join(ctx.logsDir, route.namespace ?? "", route.name!);
  const previous = flag(q.get("previous"));
  const file = join(dir, previous ? `${container}.previous.log` : `${container}.log`);
  if (!existsSync(file)) {
    if (previous)
      throw badRequest(
        `previous terminated container "${container}" in pod "${route.name}" not found`,
      );
    const waiting = statusOf(pod, container)?.state?.waiting?.reason ?? "ContainerCreating";
    throw badRequest(
      `container "${container}" in pod "${route.name}" is waiting to start: ${waiting}`,
    );
  }
  let text = readFileSync(file, "utf8");
  const tail = q.get("tailLines");
  if (tail !== null) text = tailLines(text, Number(tail));
  const limitBytes = q.get("limitBytes");
  if (limitBytes !== null)
    text = Buffer.from(text).subarray(0, Number(limitBytes)).toString("utf8");
  if (!flag(q.get("follow"))) {
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end(text);
    return;
  }
  res.writeHead(200, { "Content-Type": "text/plain", "Transfer-Encoding": "chunked" });
  res.write(text);
  follow(ctx, route, pod, container, file, res);
}

/** Streams what is appended to the log until the container has ended and the file stopped growing. */
function follow(
  ctx: ServerContext,
  route: Route,
  pod: KubeObject,
  container: string,
  file: string,
  res: ServerResponse,
): void {
  ctx.streams.add(res);
  let offset = statSync(file).size;
  let closed = false;
  const stop = () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    ctx.streams.delete(res);
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
        const cur = ctx.store.get<KubeObject & AnyObj>("pods", route.namespace, route.name!);
        const st = statusOf(cur, container);
        const over =
          !cur ||
          cur.metadata.uid !== pod.metadata.uid ||
          (st?.state?.terminated && !st?.state?.running);
        if (over && !grew) stop();
      } finally {
        busy = false;
      }
    })();
  }, FOLLOW_POLL_MS);
  res.on("close", stop);
}
