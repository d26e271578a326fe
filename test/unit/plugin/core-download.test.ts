// `pull`'s download against the rig's real S3 server and real presigned links: decompression, verification, and
// every bad case a clear error with no partial file left behind.
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { PutObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadCore, progressBar } from "../../../plugin/lib/core-download.js";
import { UserError } from "../../../plugin/lib/errors.js";
import { startS3, type RigS3 } from "../../rig/s3.js";

let s3: RigS3;
let dir: string;
const core = Buffer.concat([
  Buffer.from("\x7fELF", "latin1"),
  Buffer.alloc(300_000, 7),
  Buffer.from("tail"),
]);
const sha = createHash("sha256").update(core).digest("hex");

async function put(key: string, body: Buffer): Promise<string> {
  await s3.client.send(new PutObjectCommand({ Bucket: "cores", Key: key, Body: body }));
  return link(key);
}
const link = (key: string, expiresIn = 60) =>
  getSignedUrl(s3.client, new GetObjectCommand({ Bucket: "cores", Key: key }), { expiresIn });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cd-pull-"));
  s3 = await startS3({ dir: join(dir, "s3") });
  await s3.createBucket("cores");
});
afterAll(async () => {
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const target = (
  url: string,
  out: string,
  extra: Partial<Parameters<typeof downloadCore>[0]> = {},
) => ({
  url,
  out: join(dir, out),
  size: core.length,
  sha256: sha,
  compression: "none" as const,
  what: "CoreDump shop/api-1",
  ...extra,
});

/** Only the S3 server's own directory and finished cores: no partial files. */
const leftovers = () => readdirSync(dir).filter((f) => f !== "s3" && !f.endsWith(".ok"));

async function failure(p: Promise<unknown>): Promise<UserError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  return err as UserError;
}

describe("downloading a core", () => {
  it.each([
    ["none", core],
    ["zstd", zstdCompressSync(core)],
    ["gzip", gzipSync(core)],
  ] as const)(
    "stores %s byte-identical to the original, with progress",
    async (compression, body) => {
      const url = await put(`c-${compression}`, body);
      const seen: number[] = [];
      const r = await downloadCore(
        target(url, `${compression}.ok`, { compression, progress: (n) => seen.push(n) }),
      );
      expect(r.bytes).toBe(core.length);
      expect(readFileSync(join(dir, `${compression}.ok`)).equals(core)).toBe(true);
      expect(seen.at(-1)).toBe(body.length);
      expect(leftovers()).toEqual([]);
    },
  );

  it("refuses a sha256 mismatch and leaves nothing", async () => {
    const url = await put("bad", Buffer.concat([core.subarray(0, -1), Buffer.from("X")]));
    const e = await failure(downloadCore(target(url, "bad.core")));
    expect(e.message).toMatch(
      /^the download of CoreDump shop\/api-1 does not match its sha256 .*nothing was written$/,
    );
    expect(leftovers()).toEqual([]);
  });

  it("says the object is gone when it was deleted", async () => {
    const e = await failure(downloadCore(target(await link("never-stored"), "gone.core")));
    expect(e.message).toBe("the core of CoreDump shop/api-1 is no longer in storage (NoSuchKey)");
    expect(leftovers()).toEqual([]);
  });

  it("says the link expired", async () => {
    await put("exp", core);
    const url = await link("exp", 1);
    await new Promise((r) => setTimeout(r, 2100));
    const e = await failure(downloadCore(target(url, "exp.core")));
    expect(e.message).toBe("the download link for CoreDump shop/api-1 has expired");
    expect(leftovers()).toEqual([]);
  });

  it("says storage is unreachable", async () => {
    const url = await put("down", core);
    await s3.mode("refuse");
    try {
      const e = await failure(downloadCore(target(url, "down.core")));
      expect(e.message).toMatch(
        /^storage is unreachable for CoreDump shop\/api-1 \((ECONNREFUSED|the connection was closed)\)$/,
      );
    } finally {
      await s3.mode("ok");
    }
    expect(leftovers()).toEqual([]);
  });

  it("draws a bar", () => {
    expect(progressBar(512 * 1024, 1024 * 1024, 10)).toBe("[#####-----]  50% 0.5/1.0 MiB");
  });
});
