// The node's kubelet endpoint (HTTP on 127.0.0.1, port published as the Node's
// status.daemonEndpoints.kubeletEndpoint.Port): the API server proxies `pods/exec` here, as it does to a real
// kubelet's /exec/{namespace}/{pod}/{uid}/{container}?command=...&input=1&output=1&error=1&tty=1.
// Only the API server may call it: it authenticates with the bearer token the node itself was given.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { EXEC_PROTOCOLS, runExecSession, type ExecOptions, type ExecTarget } from "./exec.js";

export interface KubeletServerOptions {
  /** The bearer token callers must present. */
  token: string;
  /** The running container to exec in, or undefined when the node has no such running container. */
  execTarget(
    namespace: string,
    pod: string,
    uid: string | undefined,
    container: string,
  ): ExecTarget | undefined;
  log: (msg: string) => void;
}

export interface KubeletServer {
  port: number;
  stop(): Promise<void>;
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  500: "Internal Server Error",
};

/** Writes a plain-text HTTP error on a socket that was not upgraded, and closes it. */
function refuse(socket: Socket, code: number, text: string): void {
  const body = Buffer.from(`${text}\n`);
  socket.end(
    `HTTP/1.1 ${code} ${REASONS[code] ?? "Error"}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n` +
      body.toString("utf8"),
  );
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === "1" || v === "true";
}

export async function startKubeletServer(opts: KubeletServerOptions): Promise<KubeletServer> {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => EXEC_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  const sockets = new Set<Socket>();
  const sessions = new Set<WebSocket>();

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://node").pathname;
    if (path === "/healthz") {
      res.end("ok");
      return;
    }
    res.writeHead(path.startsWith("/exec/") ? 400 : 404, { "Content-Type": "text/plain" });
    res.end(path.startsWith("/exec/") ? "Upgrade request required\n" : "404 page not found\n");
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on("error", () => undefined);
    const url = new URL(req.url ?? "/", "http://node");
    if ((req.headers.authorization ?? "") !== `Bearer ${opts.token}`) {
      refuse(socket, 401, "Unauthorized");
      return;
    }
    const segs = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (segs[0] !== "exec" || (segs.length !== 4 && segs.length !== 5)) {
      refuse(socket, 404, "404 page not found");
      return;
    }
    const [, namespace, pod] = segs as [string, string, string];
    const uid = segs.length === 5 ? segs[3] : undefined;
    const container = segs[segs.length - 1]!;
    const q = url.searchParams;
    const execOpts: ExecOptions = {
      command: q.getAll("command"),
      stdin: flag(q, "input"),
      stdout: flag(q, "output"),
      stderr: flag(q, "error"),
      tty: flag(q, "tty"),
    };
    if (!execOpts.stdin && !execOpts.stdout && !execOpts.stderr) {
      refuse(socket, 400, "you must specify at least 1 of stdin, stdout, stderr");
      return;
    }
    const target = opts.execTarget(namespace, pod, uid, container);
    if (!target) {
      // The kubelet's wording: it looks the container up among the running ones.
      refuse(socket, 500, `container not found (${JSON.stringify(container)})`);
      return;
    }
    if (String(req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
      refuse(
        socket,
        400,
        "the rig's kubelet supports exec over WebSocket only (v5.channel.k8s.io)",
      );
      return;
    }
    const offered = String(req.headers["sec-websocket-protocol"] ?? "")
      .split(",")
      .map((p) => p.trim());
    if (!EXEC_PROTOCOLS.some((p) => offered.includes(p))) {
      refuse(
        socket,
        400,
        `unsupported subprotocols ${JSON.stringify(offered)}; supported: ${EXEC_PROTOCOLS.join(", ")}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sessions.add(ws);
      opts.log(
        `exec ${namespace}/${pod}/${container}: ${JSON.stringify(execOpts.command)} (${ws.protocol})`,
      );
      void runExecSession(ws, target, execOpts).finally(() => sessions.delete(ws));
      ws.on("close", () => sessions.delete(ws));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    async stop() {
      for (const ws of sessions) ws.terminate();
      sessions.clear();
      for (const s of sockets) s.destroy();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
