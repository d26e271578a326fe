// pods/exec, as kube-apiserver serves it: authenticate, authorize `create pods/exec`, check the pod and the
// container (Kubernetes' wording), then proxy the upgrade request unchanged to the node's kubelet endpoint
// (InternalIP : status.daemonEndpoints.kubeletEndpoint.Port, path /exec/{ns}/{pod}/{uid}/{container}) and pipe
// the bytes both ways. The kubelet answers the WebSocket handshake and speaks the channel protocol itself.
import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import type { Authorizer, Attributes, Tokens } from "./rbac.js";
import { Authorizer as AuthorizerClass } from "./rbac.js";
import { badRequest, notFound, StatusError } from "./status.js";
import type { KubeObject, Store } from "./store.js";

type AnyObj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const EXEC_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec\/?$/;

/** Is this upgrade request one the exec proxy serves? (Others take the normal path.) */
export function isExecPath(url: string | undefined): boolean {
  return EXEC_PATH.test(new URL(url ?? "/", "https://127.0.0.1").pathname);
}

const HTTP_REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  500: "Internal Server Error",
};

/** Answers a not-upgraded request with a Status, as the API server does, and closes the socket. */
function refuse(socket: Socket, e: StatusError): void {
  const body = JSON.stringify(e.body());
  socket.end(
    `HTTP/1.1 ${e.code} ${HTTP_REASONS[e.code] ?? "Error"}\r\n` +
      `Content-Type: application/json\r\nCache-Control: no-cache, private\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function bool(v: string | null): boolean {
  return v === "true" || v === "1";
}

export interface ExecProxyContext {
  store: Store;
  tokens: Tokens;
  authorizer: Authorizer;
  /** Presented to the kubelet endpoints (the nodes authenticate the API server with it). */
  kubeletToken: string;
  log: (msg: string) => void;
}

export class ExecProxy {
  private readonly sockets = new Set<Socket>();

  constructor(private readonly ctx: ExecProxyContext) {}

  handleUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    socket.on("error", () => undefined);
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    try {
      this.proxy(req, socket, head);
    } catch (e) {
      if (e instanceof StatusError) refuse(socket, e);
      else {
        this.ctx.log(`exec: ${(e as Error).stack ?? String(e)}`);
        refuse(
          socket,
          new StatusError(500, "InternalError", `Internal error occurred: ${(e as Error).message}`),
        );
      }
    }
  };

  stop(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  private proxy(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const m = EXEC_PATH.exec(url.pathname)!;
    const namespace = decodeURIComponent(m[1]!);
    const name = decodeURIComponent(m[2]!);
    const auth = (req.headers.authorization ?? "").match(/^Bearer\s+(.+)$/i);
    const user = auth ? this.ctx.tokens.lookup(auth[1]!.trim()) : undefined;
    if (!user) throw new StatusError(401, "Unauthorized", "Unauthorized");
    // GET (WebSocket) and POST (SPDY) alike need `create` (AuthorizePodWebsocketUpgradeCreatePermission).
    const attrs: Attributes = {
      verb: "create",
      apiGroup: "",
      resource: "pods",
      subresource: "exec",
      namespace,
      name,
    };
    if (!this.ctx.authorizer.allowed(user, attrs)) {
      throw new StatusError(403, "Forbidden", AuthorizerClass.forbiddenMessage(user, attrs), {
        name,
        kind: "pods",
      });
    }
    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "POST") {
      throw new StatusError(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
      );
    }
    const pod = this.ctx.store.get<KubeObject & AnyObj>("pods", namespace, name);
    if (!pod) throw notFound("pods", "", name);
    const q = url.searchParams;
    const container = this.container(pod, q.get("container") ?? "");
    const command = q.getAll("command");
    if (command.length === 0)
      throw badRequest("you must specify at least one command for the container");
    const stdin = bool(q.get("stdin"));
    const stdout = bool(q.get("stdout"));
    const stderr = bool(q.get("stderr"));
    const tty = bool(q.get("tty"));
    if (!stdin && !stdout && !stderr)
      throw badRequest("you must specify at least 1 of stdin, stdout, stderr");
    const nodeName = pod.spec?.nodeName as string | undefined;
    if (!nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
    const node = this.ctx.store.get<KubeObject & AnyObj>("nodes", undefined, nodeName);
    if (!node) throw notFound("nodes", "", nodeName);
    const host =
      (node.status?.addresses ?? []).find((a: AnyObj) => a.type === "InternalIP")?.address ??
      "127.0.0.1";
    const port = Number(node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0);

    const params = new URLSearchParams();
    for (const c of command) params.append("command", c);
    if (stdin) params.set("input", "1");
    if (stdout) params.set("output", "1");
    if (stderr) params.set("error", "1");
    if (tty) params.set("tty", "1");
    const path = `/exec/${[namespace, name, pod.metadata.uid as string, container].map(encodeURIComponent).join("/")}?${params}`;
    const lines = [`${method} ${path} HTTP/1.1`, `Host: ${host}:${port}`];
    const raw = req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const k = raw[i]!.toLowerCase();
      if (k === "host" || k === "authorization" || k === "content-length") continue;
      lines.push(`${raw[i]}: ${raw[i + 1]}`);
    }
    lines.push(`Authorization: Bearer ${this.ctx.kubeletToken}`, "", "");

    let connected = false;
    const upstream = connect({ host, port });
    this.sockets.add(upstream);
    upstream.on("close", () => this.sockets.delete(upstream));
    upstream.on("error", (err) => {
      if (connected) {
        socket.destroy();
        return;
      }
      refuse(
        socket,
        new StatusError(500, "InternalError", `error dialing backend: ${err.message}`),
      );
    });
    upstream.on("connect", () => {
      connected = true;
      this.ctx.log(`exec ${namespace}/${name}/${container} -> ${host}:${port}`);
      upstream.write(lines.join("\r\n"));
      if (head.length) upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
      socket.on("close", () => upstream.destroy());
      upstream.on("close", () => socket.destroy());
    });
  }

  /** The container to exec in, chosen and checked as kube-apiserver does. */
  private container(pod: AnyObj, wanted: string): string {
    const name = pod.metadata.name as string;
    const names = (list: AnyObj[] | undefined) => (list ?? []).map((c) => c.name as string);
    const main = names(pod.spec?.containers);
    const init = names(pod.spec?.initContainers);
    const ephemeral = names(pod.spec?.ephemeralContainers);
    if (wanted) {
      if (![...main, ...init, ...ephemeral].includes(wanted))
        throw badRequest(`container ${wanted} is not valid for pod ${name}`);
      return wanted;
    }
    if (main.length === 1) return main[0]!;
    if (main.length === 0) throw badRequest(`a container name must be specified for pod ${name}`);
    let msg = `a container name must be specified for pod ${name}, choose one of: [${main.join(" ")}]`;
    if (init.length) msg += ` or one of the init containers: [${init.join(" ")}]`;
    throw badRequest(msg);
  }
}
