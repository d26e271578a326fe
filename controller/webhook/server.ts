// The HTTPS server: routing, input limits, timeouts, graceful close. Admission logic is in
// admission.ts; this file only moves bytes and records what happened.
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { SecureContextOptions } from "node:tls";
import { performance } from "node:perf_hooks";
import { MUTATE_PATH } from "../../src/names.js";
import type { Logger } from "../log.js";
import { review, statusBody, type NamespaceLookup, type Outcome } from "./admission.js";
import { pinoLineLog, type LineLog } from "./lines.js";
import type { WebhookMetrics } from "./metrics.js";
import { errorText } from "../../src/error-text.js";
import { createReplyBatch } from "./reply-batch.js";

/** kube-apiserver refuses request bodies over 3 MiB, so no real AdmissionReview is larger. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface WebhookServerOptions {
  log: Logger;
  /** The per-decision lines (default: through `log`); see lines.ts. */
  lines?: LineLog;
  metrics: WebhookMetrics;
  namespaces: NamespaceLookup;
  /** Readiness: empty when ready, else what is missing. */
  notReady: () => string[];
  /** Our own failure while answering (the answer already allowed the pod): alert. */
  onInternalError: (err: Error, pod: string | undefined) => void;
  maxBodyBytes?: number;
  /** Whole request (headers and body), default 10 s. */
  requestTimeoutMs?: number;
  /** Headers, default 5 s (slowloris). */
  headersTimeoutMs?: number;
  /** TLS handshake, default 5 s. */
  handshakeTimeoutMs?: number;
  /** Idle keep-alive, default 120 s: longer than the API server's idle timeout (90 s), so it closes first. */
  keepAliveTimeoutMs?: number;
}

export interface WebhookServer {
  server: Server;
  setCertificate(tls: { cert: Buffer; key: Buffer }): void;
  listen(port: number, host?: string): Promise<{ address: string; port: number }>;
  /** Stop accepting, finish requests in flight, close idle keep-alive connections; force after graceMs. */
  close(graceMs?: number): Promise<void>;
}

const TLS_OPTIONS: SecureContextOptions = { minVersion: "TLSv1.2" };
const JSON_HEADERS = { "content-type": "application/json" } as const;

function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(";");
  const media = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return media === "application/json";
}

export function createWebhookServer(
  tls: { cert: Buffer; key: Buffer },
  opts: WebhookServerOptions,
): WebhookServer {
  const { log, metrics, namespaces } = opts;
  const line = opts.lines ?? pinoLineLog(log);
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  let closing = false;
  let inFlight = 0;

  const server = createServer(
    {
      ...TLS_OPTIONS,
      cert: tls.cert,
      key: tls.key,
      handshakeTimeout: opts.handshakeTimeoutMs ?? 5_000,
      requestTimeout: opts.requestTimeoutMs ?? 10_000,
      headersTimeout: opts.headersTimeoutMs ?? 5_000,
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 120_000,
      connectionsCheckingInterval: 1_000,
      maxHeaderSize: 32 * 1024,
    },
    handle,
  );
  server.on("tlsClientError", (err) => {
    metrics.error("tls");
    log.debug({ error: err.message }, "TLS handshake failed");
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    metrics.error("client");
    log.debug({ error: err.message, code: err.code }, "bad HTTP request from client");
    if (!socket.writable || err.code === "ECONNRESET") return socket.destroy();
    const [code, text] =
      err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "Request Timeout"]
        : err.code === "HPE_HEADER_OVERFLOW"
          ? [431, "Request Header Fields Too Large"]
          : [400, "Bad Request"];
    socket.end(`HTTP/1.1 ${code} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });

  function send(
    res: ServerResponse,
    path: string,
    status: number,
    body: string,
    started: number,
    headers: Record<string, string> = JSON_HEADERS,
  ): void {
    if (closing) res.setHeader("connection", "close");
    res.writeHead(status, headers);
    res.end(body);
    metrics.request(path, status, (performance.now() - started) / 1000);
  }

  const batch = createReplyBatch((err) => {
    log.error({ error: errorText(err) }, "internal error writing an admission answer");
    metrics.error("internal");
  });

  /** An admission answer: written with the others of this event-loop turn (see reply-batch.ts). */
  function sendAnswer(res: ServerResponse, status: number, body: string, started: number): void {
    batch(() => {
      if (res.destroyed || res.headersSent) return;
      send(res, MUTATE_PATH, status, body, started);
    });
  }

  function done(): void {
    inFlight--;
    if (closing) server.closeIdleConnections();
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    inFlight++;
    res.once("close", done);
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method;
    try {
      if (path === MUTATE_PATH) {
        if (method !== "POST") {
          res.setHeader("allow", "POST");
          return send(res, path, 405, statusBody(405, `${method} ${path}: only POST`), started);
        }
        return mutate(req, res, started);
      }
      if (path === "/healthz" || path === "/readyz" || path === "/metrics") {
        if (method !== "GET" && method !== "HEAD") {
          res.setHeader("allow", "GET, HEAD");
          return send(res, path, 405, statusBody(405, `${method} ${path}: only GET`), started);
        }
        req.resume();
        if (path === "/healthz")
          return send(res, path, 200, "ok\n", started, { "content-type": "text/plain" });
        if (path === "/readyz") {
          const missing = opts.notReady();
          if (closing) missing.push("shutting down");
          return missing.length === 0
            ? send(res, path, 200, "ok\n", started, { "content-type": "text/plain" })
            : send(res, path, 503, `not ready: ${missing.join("; ")}\n`, started, {
                "content-type": "text/plain",
              });
        }
        metrics.registry.metrics().then(
          (text) =>
            send(res, path, 200, text, started, { "content-type": metrics.registry.contentType }),
          (err: Error) => {
            log.error({ error: err.message }, "error rendering metrics");
            send(res, path, 500, statusBody(500, "metrics failed"), started);
          },
        );
        return;
      }
      req.resume();
      send(res, "other", 404, statusBody(404, `no such path: ${path.slice(0, 200)}`), started);
    } catch (err) {
      log.error({ error: errorText(err) }, "internal error in request handler");
      metrics.error("internal");
      if (!res.headersSent) send(res, "other", 500, statusBody(500, "internal error"), started);
      else res.destroy();
    }
  }

  function tooLarge(req: IncomingMessage, res: ServerResponse, started: number): void {
    metrics.error("bad-request");
    log.warn({ limit: maxBody }, "admission request body too large");
    // Answer, then drop the connection rather than read megabytes we will not use.
    res.setHeader("connection", "close");
    send(res, MUTATE_PATH, 413, statusBody(413, `request body over ${maxBody} bytes`), started);
    req.unpipe();
    req.pause();
    res.once("finish", () => req.socket.destroySoon());
  }

  function mutate(req: IncomingMessage, res: ServerResponse, started: number): void {
    if (!isJson(req.headers["content-type"])) {
      req.resume();
      metrics.error("bad-request");
      return send(
        res,
        MUTATE_PATH,
        415,
        statusBody(
          415,
          `content-type ${JSON.stringify(req.headers["content-type"] ?? "")}: expected application/json`,
        ),
        started,
      );
    }
    const declared = Number(req.headers["content-length"]);
    if (declared > maxBody) return tooLarge(req, res, started);
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > maxBody) {
        over = true;
        chunks.length = 0;
        return tooLarge(req, res, started);
      }
      chunks.push(chunk);
    });
    req.on("error", () => {
      metrics.error("client");
    });
    req.on("end", () => {
      if (over || res.writableEnded) return;
      const text =
        chunks.length === 1
          ? chunks[0]!.toString("utf8")
          : Buffer.concat(chunks, size).toString("utf8");
      let outcome: Outcome | Promise<Outcome>;
      try {
        // Usually synchronous: answered in this turn, without a promise (see review()).
        outcome = review(text, namespaces);
        if (!(outcome instanceof Promise)) return answer(res, started, outcome);
      } catch (err) {
        return fail(res, started, err as Error);
      }
      outcome.then((o) => answer(res, started, o)).catch((err: Error) => fail(res, started, err));
    });
  }

  function answer(res: ServerResponse, started: number, outcome: Outcome): void {
    if (res.destroyed) return;
    sendAnswer(res, outcome.status, outcome.body, started);
    record(outcome);
  }

  /** review() never throws nor rejects; this is a last resort that still lets nothing crash. */
  function fail(res: ServerResponse, started: number, err: Error): void {
    log.error({ error: err.message }, "internal error in admission review");
    metrics.error("internal");
    sendAnswer(res, 500, statusBody(500, "internal error"), started);
  }

  function record(o: Outcome): void {
    if (o.kind === "bad-request") return badInput(undefined, o.message);
    metrics.decision(o.kind, o.kind === "inject" ? "inject" : o.code);
    const dryRun = o.dryRun ? true : undefined;
    switch (o.kind) {
      case "inject":
        return line(
          "info",
          {
            pod: o.pod,
            path: o.path,
            containers: o.containers.join(","),
            initContainers: o.initContainers.length > 0 ? o.initContainers.join(",") : undefined,
            ops: o.patchOps,
            dryRun,
          },
          `inject core dump directory at ${o.path} into ${o.pod}`,
        );
      case "skip":
        if (o.internalError) {
          metrics.error("pod-security-lookup");
          log.error(
            { pod: o.pod, uid: o.uid, error: o.internalError.message },
            `skip injection: ${o.reason}`,
          );
          return opts.onInternalError(o.internalError, o.pod);
        }
        return line(
          "info",
          { pod: o.pod, code: o.code, reason: o.reason, dryRun },
          `skip injection: ${o.reason}`,
        );
      case "allow":
        if (o.internalError) {
          metrics.error("internal");
          log.error(
            { pod: o.pod, uid: o.uid, error: o.internalError.message },
            `internal error, pod admitted without injection: ${o.internalError.message}`,
          );
          return opts.onInternalError(o.internalError, o.pod);
        }
        if (o.badInput !== undefined) return badInput(o.uid, o.badInput);
        return line("debug", { uid: o.uid, code: o.code }, "admission request allowed unchanged");
    }
  }

  function badInput(uid: string | undefined, message: string): void {
    metrics.error("bad-request");
    log.warn({ uid, error: message }, `bad admission request: ${message}`);
  }

  return {
    server,
    setCertificate({ cert, key }) {
      server.setSecureContext({ ...TLS_OPTIONS, cert, key });
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const a = server.address();
          if (a === null || typeof a === "string") return resolve({ address: String(a), port });
          resolve({ address: a.address, port: a.port });
        });
      });
    },
    close(graceMs = 20_000) {
      closing = true;
      return new Promise((resolve) => {
        if (!server.listening) return resolve();
        const force = setTimeout(() => {
          log.warn({ inFlight }, "shutdown grace period over; closing remaining connections");
          server.closeAllConnections();
        }, graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
