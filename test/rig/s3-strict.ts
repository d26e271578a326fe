// The rig S3 server's strict layer (a Koa middleware put in front of s3rver's own): it records every request and
// refuses, as asked, what S3-compatible stores refuse, with the error bodies those stores send.
//
// - "no-flexible-checksums": the AWS SDK's flexible-checksum headers (x-amz-checksum-*, x-amz-sdk-checksum-algorithm,
//   x-amz-trailer; x-amz-checksum-mode also as a presigned link's query parameter) are refused like Backblaze B2
//   does ("Unsupported header '<name>' received for this API call."), aws-chunked bodies like COS, OSS and OBS do
//   ("aws-chunked encoding is not supported").
// - "virtual-hosted-only": a path-style request for a bucket is refused like OSS does (403
//   SecondLevelDomainForbidden); only `<bucket>.s3.localhost` reaches a bucket.
// - keys: with required keys, the SigV4 signature (header or presigned query) is recomputed with them and the
//   session token must match; anything else is refused like AWS does (InvalidAccessKeyId, SignatureDoesNotMatch,
//   InvalidToken).
// Requests from the rig's own client (marked with a per-server secret header) pass unrecorded and unchecked.
import { createHash, createHmac, randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export type S3Strictness = "no-flexible-checksums" | "virtual-hosted-only";

export interface S3Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface RecordedRequest {
  method: string;
  /** The request target as sent: path and query. */
  url: string;
  host: string;
  headers: IncomingHttpHeaders;
}

/** The header the rig's own S3 client carries, with this value, to be let through unchecked. */
export const ADMIN_HEADER = "x-rig-admin";
export const ADMIN_SECRET = randomBytes(12).toString("hex");

interface KoaContext {
  method: string;
  req: { url?: string; headers: IncomingHttpHeaders };
  status: number;
  body: unknown;
  type: string;
  set(name: string, value: string): void;
}

function requestId(): string {
  return randomBytes(8).toString("hex").toUpperCase();
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function refuse(
  ctx: KoaContext,
  status: number,
  fields: Record<string, string>,
  declaration = '<?xml version="1.0" encoding="UTF-8"?>',
): void {
  ctx.status = status;
  ctx.type = "application/xml";

  const inner = Object.entries(fields)
    .map(([k, v]) => `  <${k}>${xmlEscape(v)}</${k}>`)
    .join("\n");
  ctx.body = `${declaration}\n<Error>\n${inner}\n</Error>\n`;
}

function checksumRefusal(ctx: KoaContext, path: string): boolean {
  const h = ctx.req.headers;
  const query = new URLSearchParams((ctx.req.url ?? "").split("?")[1] ?? "");
  const names = [
    ...Object.keys(h),
    ...[...query.keys()].map((k) => k.toLowerCase()).filter((k) => k.startsWith("x-amz-")),
  ];
  const flexible = names.find(
    (n) =>
      n.startsWith("x-amz-checksum-") ||
      n === "x-amz-sdk-checksum-algorithm" ||
      n === "x-amz-trailer",
  );
  if (flexible) {
    // Backblaze B2's S3 API.
    refuse(
      ctx,
      400,
      {
        Code: "InvalidArgument",
        Message: `Unsupported header '${flexible}' received for this API call.`,
      },
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
    );
    return true;
  }
  const encoding = String(h["content-encoding"] ?? "").toLowerCase();
  const payload = String(h["x-amz-content-sha256"] ?? "");
  if (encoding.includes("aws-chunked") || payload.startsWith("STREAMING-")) {
    // Tencent COS's shape (OSS and OBS answer alike).
    refuse(ctx, 400, {
      Code: "InvalidArgument",
      Message: "aws-chunked encoding is not supported",
      Resource: path,
      RequestId: requestId(),
      TraceId: randomBytes(16).toString("base64"),
    });
    return true;
  }
  return false;
}

function pathStyleRefusal(ctx: KoaContext, host: string, path: string): boolean {
  const hostname = host.replace(/:\d+$/, "");
  const vhost = /^[^.]+\.s3\.localhost$/.test(hostname);
  if (vhost || path === "/" || path === "") return false;
  // Alibaba Cloud OSS.
  refuse(ctx, 403, {
    Code: "SecondLevelDomainForbidden",
    Message: "Please use virtual hosted style to access.",
    RequestId: requestId(),
    HostId: hostname,
    EC: "0003-00001402",
  });
  return true;
}

const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

function canonicalQuery(raw: string, drop: string | undefined): string {
  if (raw === "") return "";
  return raw
    .split("&")
    .filter((p) => p !== "")
    .map((p) => {
      const i = p.indexOf("=");
      const k = decodeURIComponent((i < 0 ? p : p.slice(0, i)).replace(/\+/g, "%20"));
      const v = i < 0 ? "" : decodeURIComponent(p.slice(i + 1).replace(/\+/g, "%20"));
      return [rfc3986(k), rfc3986(v)] as const;
    })
    .filter(([k]) => k !== drop)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

const hmac = (key: Buffer | string, data: string) =>
  createHmac("sha256", key).update(data).digest();

/** Why the request is not signed with `keys` (SigV4), or undefined when it is. */
function signatureProblem(
  ctx: KoaContext,
  keys: S3Keys,
): { code: string; message: string } | undefined {
  const h = ctx.req.headers;
  const [path = "/", rawQuery = ""] = (ctx.req.url ?? "/").split(/\?(.*)/s);
  const query = new URLSearchParams(rawQuery);
  let credential: string;
  let signedHeaders: string;
  let signature: string;
  let amzDate: string;
  let payload: string;
  let token: string | undefined;
  const auth = h.authorization;
  if (auth) {
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(
        auth,
      );
    if (!m)
      return { code: "AccessDenied", message: "Only AWS4-HMAC-SHA256 signatures are accepted" };
    [, credential = "", signedHeaders = "", signature = ""] = m;
    amzDate = String(h["x-amz-date"] ?? "");
    payload = String(h["x-amz-content-sha256"] ?? "");
    token = h["x-amz-security-token"] as string | undefined;
  } else if (query.get("X-Amz-Algorithm") === "AWS4-HMAC-SHA256") {
    credential = query.get("X-Amz-Credential") ?? "";
    signedHeaders = query.get("X-Amz-SignedHeaders") ?? "";
    signature = query.get("X-Amz-Signature") ?? "";
    amzDate = query.get("X-Amz-Date") ?? "";
    payload = query.get("X-Amz-Content-Sha256") ?? "UNSIGNED-PAYLOAD";
    token = query.get("X-Amz-Security-Token") ?? undefined;
  } else {
    return { code: "AccessDenied", message: "Anonymous access is forbidden for this operation" };
  }
  const [accessKeyId, ...scopeParts] = credential.split("/");
  if (accessKeyId !== keys.accessKeyId) {
    return {
      code: "InvalidAccessKeyId",
      message: "The AWS Access Key Id you provided does not exist in our records.",
    };
  }
  if (keys.sessionToken !== undefined && token !== keys.sessionToken) {
    return {
      code: "InvalidToken",
      message: "The provided token is malformed or otherwise invalid.",
    };
  }
  const names = signedHeaders.split(";");
  const canonicalHeaders = names
    .map(
      (n) =>
        `${n}:${String(h[n] ?? "")
          .trim()
          .replace(/\s+/g, " ")}\n`,
    )
    .join("");
  const canonicalRequest = [
    ctx.method,
    path,
    canonicalQuery(rawQuery, auth ? undefined : "X-Amz-Signature"),
    canonicalHeaders,
    signedHeaders,
    payload,
  ].join("\n");
  const scope = scopeParts.join("/");
  const stringToSign = [
    "AWS4-HMAC-SHA256",
    amzDate,
    scope,
    createHash("sha256").update(canonicalRequest).digest("hex"),
  ].join("\n");
  const [date = "", region = "", service = "", term = ""] = scopeParts;
  const key = hmac(hmac(hmac(hmac(`AWS4${keys.secretAccessKey}`, date), region), service), term);
  if (hmac(key, stringToSign).toString("hex") !== signature) {
    return {
      code: "SignatureDoesNotMatch",
      message:
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    };
  }
  return undefined;
}

export function strictMiddleware(
  policy: { strict: readonly S3Strictness[]; keys: S3Keys | undefined },
  requests: RecordedRequest[],
) {
  return async function strict(ctx: KoaContext, next: () => Promise<unknown>): Promise<unknown> {
    const headers = ctx.req.headers;
    if (headers[ADMIN_HEADER] === ADMIN_SECRET) return next();
    const url = ctx.req.url ?? "/";
    const host = String(headers.host ?? "");
    requests.push({ method: ctx.method, url, host, headers: { ...headers } });
    const path = url.split("?")[0] ?? "/";
    if (policy.keys) {
      const problem = signatureProblem(ctx, policy.keys);
      if (problem) {
        refuse(ctx, 403, { Code: problem.code, Message: problem.message, RequestId: requestId() });
        return undefined;
      }
    }
    if (policy.strict.includes("virtual-hosted-only") && pathStyleRefusal(ctx, host, path)) {
      return undefined;
    }
    if (policy.strict.includes("no-flexible-checksums") && checksumRefusal(ctx, path)) {
      return undefined;
    }
    return next();
  };
}
