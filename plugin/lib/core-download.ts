// Downloads a core from a presigned link: streamed, decompressed (zstd or gzip), counted and hashed on the way,
// written to a temporary file beside the target that becomes the target only when size and sha256 match.
// On any failure the temporary file is removed: no partial core is ever left behind.
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Transform, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { UserError } from "./errors.js";
import { errorText } from "../../src/error-text.js";

export interface DownloadTarget {
  url: string;
  out: string;
  size: number;
  sha256: string;
  compression: "none" | "gzip" | "zstd";
  /** What the errors call the core, e.g. "CoreDump shop/api-1-3c1a2b4d5e". */
  what: string;
  /** Called with bytes received so far and the total (stored bytes) when known. */
  progress?: (received: number, total: number | undefined) => void;
}

function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; e && typeof e === "object" && i < 5; i++) {
    const code = (e as { code?: unknown }).code;
    if (code === "UND_ERR_SOCKET") return "the connection was closed";
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

async function refusal(res: Response, what: string): Promise<UserError> {
  const body = await res.text().catch(() => "");
  const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
  const message = /<Message>([^<]+)<\/Message>/.exec(body)?.[1];
  if (res.status === 404 || code === "NoSuchKey")
    return new UserError(
      `the core of ${what} is no longer in storage (${code ?? `HTTP ${res.status}`})`,
      "it was deleted from the bucket; the record can be deleted too",
    );
  if (res.status === 403 && /expired/i.test(message ?? ""))
    return new UserError(
      `the download link for ${what} has expired`,
      "run the pull again for a fresh link",
    );
  return new UserError(
    `storage refused the download of ${what}: HTTP ${res.status}${code ? ` ${code}` : ""}${message ? `: ${message}` : ""}`,
  );
}

export async function downloadCore(t: DownloadTarget): Promise<{ bytes: number }> {
  let res: Response;
  try {
    res = await fetch(t.url);
  } catch (err) {
    throw new UserError(
      `storage is unreachable for ${t.what} (${networkCode(err) ?? errorText(err)})`,
      "check that the storage endpoint is up and reachable from here, then pull again",
    );
  }
  if (!res.ok || !res.body) throw await refusal(res, t.what);
  const total = Number(res.headers.get("content-length")) || undefined;
  const tmp = join(dirname(t.out), `.${basename(t.out)}.partial-${randomBytes(4).toString("hex")}`);
  const hash = createHash("sha256");
  let received = 0;
  let written = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      t.progress?.(received, total);
      cb(null, chunk);
    },
  });
  const verify = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      written += chunk.length;
      if (written > t.size) {
        cb(
          new UserError(
            `the download of ${t.what} is longer than the ${t.size} bytes recorded; nothing was written`,
          ),
        );
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const stages: NodeJS.ReadWriteStream[] = [count];
  if (t.compression === "zstd") stages.push(createZstdDecompress());
  if (t.compression === "gzip") stages.push(createGunzip());
  stages.push(verify);
  try {
    await pipeline([
      Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>),
      ...stages,
      createWriteStream(tmp, { flags: "wx", mode: 0o600, flush: true }),
    ]);
    const sha = hash.digest("hex");
    if (written !== t.size)
      throw new UserError(
        `the download of ${t.what} is ${written} bytes, the record says ${t.size}; nothing was written`,
        "pull again; if it repeats, the stored object is damaged",
      );
    if (sha !== t.sha256)
      throw new UserError(
        `the download of ${t.what} does not match its sha256 (got ${sha.slice(0, 12)}…, recorded ${t.sha256.slice(0, 12)}…); nothing was written`,
        "pull again; if it repeats, the stored object is damaged",
      );
    await rename(tmp, t.out);
    return { bytes: written };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    if (err instanceof UserError) throw err;
    const code = networkCode(err);
    if (code && /^(ECONN|EPIPE|ETIMEDOUT|ENOTFOUND|EHOST|the connection)/.test(code))
      throw new UserError(
        `storage stopped answering during the download of ${t.what} (${code}); nothing was written`,
        "pull again",
      );
    if ((err as { code?: string }).code === "EEXIST")
      throw new UserError(`cannot write ${t.out}: a temporary file is in the way`);
    if (/zstd|incorrect header|unexpected end|invalid/i.test(errorText(err)))
      throw new UserError(
        `the download of ${t.what} is not valid ${t.compression} data (${errorText(err)}); nothing was written`,
        "pull again; if it repeats, the stored object is damaged",
      );
    throw new UserError(`the download of ${t.what} failed: ${errorText(err)}; nothing was written`);
  }
}

/** A one-line progress bar for stderr. */
export function progressBar(received: number, total: number | undefined, width = 30): string {
  if (!total) return `${(received / 1048576).toFixed(1)} MiB`;
  const frac = Math.min(1, received / total);
  const full = Math.round(frac * width);
  return `[${"#".repeat(full)}${"-".repeat(width - full)}] ${(frac * 100).toFixed(0).padStart(3)}% ${(received / 1048576).toFixed(1)}/${(total / 1048576).toFixed(1)} MiB`;
}
