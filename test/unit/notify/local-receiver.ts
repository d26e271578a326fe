// A small chat-webhook receiver for the notify tests: one path per provider, a behaviour per path.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Kind = "wechat" | "slack" | "dingtalk" | "feishu" | "webhook";
export type Mode = "ok" | "fail" | "errcode" | "hang" | "slow" | "429" | "400" | "fail-once";

export interface Received {
  body: unknown;
  raw: string;
  headers: Record<string, string | string[] | undefined>;
  url: string;
  at: number;
}

const OK: Record<Kind, string> = {
  wechat: JSON.stringify({ errcode: 0, errmsg: "ok" }),
  dingtalk: JSON.stringify({ errcode: 0, errmsg: "ok" }),
  feishu: JSON.stringify({ code: 0, msg: "success", data: {} }),
  slack: "ok",
  webhook: "{}",
};
const ERR: Record<Kind, string> = {
  wechat: JSON.stringify({ errcode: 93000, errmsg: "invalid webhook url" }),
  dingtalk: JSON.stringify({ errcode: 310000, errmsg: "keywords not in content" }),
  feishu: JSON.stringify({ code: 19021, msg: "sign match fail" }),
  slack: "invalid_payload",
  webhook: "{}",
};

export async function startLocalReceiver() {
  const got = new Map<Kind, Received[]>();
  const modes = new Map<Kind, Mode>();
  const hanging = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const kind = (req.url ?? "/").split(/[/?]/)[1] as Kind;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // keep raw
      }
      const list = got.get(kind) ?? [];
      list.push({ body, raw, headers: req.headers, url: req.url ?? "", at: Date.now() });
      got.set(kind, list);
      let mode = modes.get(kind) ?? "ok";
      if (mode === "fail-once") {
        modes.set(kind, "ok");
        mode = "fail";
      }
      switch (mode) {
        case "ok":
          res.end(OK[kind]);
          return;
        case "fail":
          res.statusCode = 500;
          res.end("internal error");
          return;
        case "errcode":
          res.end(ERR[kind]);
          return;
        case "429":
          res.statusCode = 429;
          res.setHeader("retry-after", "0");
          res.end("slow down");
          return;
        case "400":
          res.statusCode = 400;
          res.end("bad request");
          return;
        case "slow":
          setTimeout(() => res.end(OK[kind]), 600);
          return;
        case "hang":
          hanging.add(res);
          return;
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (kind: Kind, suffix = "") => `http://127.0.0.1:${port}/${kind}${suffix}`,
    received: (kind: Kind) => got.get(kind) ?? [],
    behave: (kind: Kind, mode: Mode) => modes.set(kind, mode),
    async waitFor(kind: Kind, count: number, ms = 5000): Promise<Received[]> {
      const until = Date.now() + ms;
      while ((got.get(kind)?.length ?? 0) < count) {
        if (Date.now() > until)
          throw new Error(`${kind}: ${got.get(kind)?.length ?? 0} of ${count} in ${ms} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return got.get(kind) ?? [];
    },
    async stop() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export type LocalReceiver = Awaited<ReturnType<typeof startLocalReceiver>>;
