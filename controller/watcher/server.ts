// /healthz, /readyz, /metrics.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface Health {
  healthy: () => string | null;
  ready: () => string | null;
  registry: Registry;
}

export async function startHttp(
  host: string,
  port: number,
  h: Health,
): Promise<{ server: Server; address: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (code: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(code, { "content-type": type });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return reply(405, "method not allowed\n");
    if (path === "/healthz") {
      const bad = h.healthy();
      return bad ? reply(503, `${bad}\n`) : reply(200, "ok\n");
    }
    if (path === "/readyz") {
      const bad = h.ready();
      return bad ? reply(503, `${bad}\n`) : reply(200, "ok\n");
    }
    if (path === "/metrics") {
      h.registry.metrics().then(
        (text) => reply(200, text, h.registry.contentType),
        (err: Error) => reply(500, `${err.message}\n`),
      );
      return;
    }
    reply(404, "not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const address = a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  return { server, address };
}
