// Request bodies in, JSON responses out, and the errors that go with them.
import type { IncomingMessage, ServerResponse } from "node:http";
import YAML from "yaml";
import { decodeK8sProtobuf } from "./proto.js";
import { apiVersionOf, type ResourceInfo } from "./resources.js";
import { badRequest, StatusError } from "./status.js";

export function send(
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

export function sendStatus(res: ServerResponse, e: StatusError): void {
  send(res, e.code, e.body());
}

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readRaw(req)).toString("utf8");
}

/** Reads and decodes a request body (JSON, YAML, or the protobuf kinds kubectl's typed clients send). */
export async function readObject(req: IncomingMessage, info?: ResourceInfo): Promise<unknown> {
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

export function warningHeaders(warnings: string[]): Record<string, string[]> {
  if (!warnings.length) return {};
  return { Warning: warnings.map((w) => `299 - ${JSON.stringify(w.replace(/[\r\n]+/g, " "))}`) };
}

/** A boolean query parameter. */
export function flag(v: string | null): boolean {
  return v === "true" || v === "1";
}

export function methodNotAllowed(): StatusError {
  return new StatusError(
    405,
    "MethodNotAllowed",
    "the server does not allow this method on the requested resource",
  );
}

export function pathNotFound(): StatusError {
  return new StatusError(404, "NotFound", "the server could not find the requested resource");
}
