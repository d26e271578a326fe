// The rig S3 server's fault layer (a Koa middleware behind the strict one): a store that misbehaves for some keys,
// as a test asks, to show what the watcher does when what it reads back is not what it wrote.
// - "lose":    a PUT is answered 200 with an ETag but nothing is stored (a write lost by the store);
// - "hang":    the request is held open and never answered (until the client goes away);
// - "rewrite": a GET's body is passed through `rewrite` (a store returning other bytes than it was given);
// - "size":    a HEAD's Content-Length is passed through `size` (a store holding another size than it was sent).
// Only requests whose method and path (the key, URL-decoded) match are touched; the rig's own client never is.
import { createHash } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { ADMIN_HEADER, ADMIN_SECRET } from "./s3-strict.js";

export type S3Fault = { method: "GET" | "PUT" | "HEAD"; key: RegExp } & (
  | { action: "lose" | "hang" }
  | { action: "rewrite"; rewrite: (body: Buffer) => Buffer }
  | { action: "size"; size: (n: number) => number }
);

interface KoaContext {
  method: string;
  req: IncomingMessage & { headers: IncomingHttpHeaders };
  status: number;
  body: unknown;
  set(name: string, value: string): void;
  response: { get(name: string): string };
}

async function drain(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === "string") return Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Requests held by "hang" faults; release() lets them go (answered 503), e.g. when the faults are cleared. */
export class HeldRequests {
  private readonly held = new Set<() => void>();
  hold(req: IncomingMessage): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.held.delete(done);
        resolve();
      };
      this.held.add(done);
      req.socket.once("close", done);
    });
  }
  release(): void {
    for (const done of [...this.held]) done();
  }
}

export function faultMiddleware(faults: S3Fault[], held = new HeldRequests()) {
  return async function fault(ctx: KoaContext, next: () => Promise<unknown>): Promise<unknown> {
    if (ctx.req.headers[ADMIN_HEADER] === ADMIN_SECRET || faults.length === 0) return next();
    const path = decodeURIComponent((ctx.req.url ?? "/").split("?")[0] ?? "/");
    const f = faults.find((x) => x.method === ctx.method && x.key.test(path));
    if (!f) return next();
    switch (f.action) {
      case "hang":
        await held.hold(ctx.req);
        ctx.status = 503;
        ctx.body = "";
        return undefined;
      case "lose": {
        const bytes = await drain(ctx.req);
        ctx.status = 200;
        ctx.set("ETag", `"${createHash("md5").update(bytes).digest("hex")}"`);
        ctx.body = "";
        return undefined;
      }
      case "rewrite": {
        await next();
        if (ctx.status === 200) ctx.body = f.rewrite(await bodyBytes(ctx.body));
        return undefined;
      }
      case "size": {
        await next();
        const n = Number(ctx.response.get("Content-Length"));
        if (ctx.status === 200 && Number.isFinite(n)) ctx.set("Content-Length", String(f.size(n)));
        return undefined;
      }
    }
  };
}
