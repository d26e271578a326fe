// Storage: multipart upload with metadata, the key format, compression round trips, the presigned URL, cfs copies,
// and verification failures; against strict S3-compatible stores (the rig's strict modes, requests recorded): no
// flexible checksum or aws-chunked body on the wire off AWS, virtual-hosted addressing, the store's refusals in its
// own words, and the signature check that makes the credential tests able to fail.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zstdDecompressSync, gunzipSync } from "node:zlib";
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createS3Client,
  createS3Store,
  describeStoreError,
  partSizeFor,
} from "../../../controller/watcher/s3-store.js";
import {
  createCfsStore,
  createLazyS3Store,
  keyTime,
  metadataValue,
  objectKey,
} from "../../../controller/watcher/store.js";
import type { StorageSettings } from "../../../controller/watcher/store-types.js";
import { startS3, type RecordedRequest, type RigS3 } from "../../rig/s3.js";
import { coreBlock, writeCore } from "./core-fixture.js";

let s3: RigS3;
let tmp: string;
const MiB = 1024 * 1024;

beforeAll(async () => {
  s3 = await startS3();
  await s3.createBucket("cores");
  tmp = mkdtempSync(join(tmpdir(), "cdw-store-"));
});
afterAll(async () => {
  await s3?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function storage(over: Partial<StorageSettings> = {}): StorageSettings {
  return {
    configured: true,
    protocol: "s3",
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: "cores",
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    storeDir: "corefiles",
    presignedUrlExpireSeconds: 120,
    addressingStyle: "path",
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    compression: "none",
    ...over,
  };
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function body(key: string): Promise<Buffer> {
  const r = await s3.client.send(new GetObjectCommand({ Bucket: "cores", Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

describe("object keys", () => {
  it("are <StoreDir>/<namespace>/<pod>/<time>-<file>[.zst|.gz], _unknown without a pod", () => {
    const at = new Date("2026-11-27T06:35:00.123Z");
    expect(keyTime(at)).toBe("20261127T063500123Z");
    expect(
      objectKey("corefiles", { namespace: "shop", pod: "api-1" }, "core.app.1", at, "none"),
    ).toBe("corefiles/shop/api-1/20261127T063500123Z-core.app.1");
    expect(
      objectKey(
        "corefiles",
        { namespace: "shop", pod: "api-1", container: "app" },
        "core.app.1",
        at,
        "none",
      ),
    ).toBe("corefiles/shop/api-1/app/20261127T063500123Z-core.app.1");
    expect(objectKey("/a/b/", { namespace: "n", pod: "p" }, "core", at, "zstd")).toBe(
      "a/b/n/p/20261127T063500123Z-core.zst",
    );
    expect(objectKey("", { namespace: "n", pod: "p" }, "core", at, "gzip")).toBe(
      "n/p/20261127T063500123Z-core.gz",
    );
    expect(objectKey("c", {}, "core.x", at, "none")).toBe("c/_unknown/20261127T063500123Z-core.x");
  });

  it("metadata values are printable ASCII and bounded; parts grow only for huge cores", () => {
    expect(metadataValue("/usr/bin/app")).toBe("/usr/bin/app");
    expect(metadataValue("/opt/приложение")).toBe(encodeURIComponent("/opt/приложение"));
    expect(metadataValue("x".repeat(1000))).toHaveLength(256);
    expect(partSizeFor(2 * 1024 * MiB)).toBe(8 * MiB);
    expect(partSizeFor(200 * 1024 * MiB) * 9000).toBeGreaterThanOrEqual(200 * 1024 * MiB);
  });
});

describe("S3 store", () => {
  it("streams a multipart upload with metadata, verifies it and presigns a URL that downloads it", async () => {
    const path = join(tmp, "core.multi");
    writeCore(path, 21 * MiB + 123, { comm: "multi" }, coreBlock(3)); // 3 parts of 8 MiB
    const original = readFileSync(path);
    const fh = await open(path);
    const store = createS3Store(storage(), createS3Client(storage()));
    const key = "corefiles/shop/api-1/20261127T000000000Z-core.multi";
    const obj = await store.put({
      fh,
      size: original.length,
      key,
      md5: true,
      metadata: { namespace: "shop", pod: "api-1", signal: "11" },
    });
    await fh.close();
    expect(obj.sha256).toBe(sha(original));
    expect(obj.md5).toBe(createHash("md5").update(original).digest("hex"));
    expect(obj.size).toBe(original.length);
    expect(obj.storedBytes).toBe(original.length);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: "cores", Key: key }));
    expect(head.ContentLength).toBe(original.length);
    expect(head.Metadata).toMatchObject({
      namespace: "shop",
      pod: "api-1",
      signal: "11",
      sha256: sha(original),
      "original-size": String(original.length),
    });
    expect(sha(await body(key))).toBe(sha(original));
    const res = await fetch(obj.url!);
    expect(res.status).toBe(200);
    expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(sha(original));
    expect(obj.url).toMatch(/X-Amz-Expires=120/);
  });

  for (const [compression, inflate, suffix] of [
    ["zstd", zstdDecompressSync, ".zst"],
    ["gzip", gunzipSync, ".gz"],
  ] as const) {
    it(`compresses with ${compression} while streaming; the object decompresses to the original`, async () => {
      const path = join(tmp, `core.${compression}`);
      writeCore(path, 9 * MiB + 7, { comm: compression });
      const original = readFileSync(path);
      const fh = await open(path);
      const key = `corefiles/ns/p/t-core.x${suffix}`;
      const st = storage({ compression });
      // the store main.ts uses: the SDK loaded with the first upload
      const obj = await createLazyS3Store(st).put({
        fh,
        size: original.length,
        key,
        metadata: {},
      });
      await fh.close();
      expect(obj.storedBytes).toBeLessThan(original.length * 0.7);
      const stored = await body(key);
      expect(stored.length).toBe(obj.storedBytes);
      expect(sha(inflate(stored))).toBe(sha(original));
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: "cores", Key: key }));
      expect(head.Metadata?.sha256).toBe(sha(original));
    });
  }

  it("fails (and says why) when the bucket does not exist", async () => {
    const path = join(tmp, "core.nobucket");
    writeCore(path, 10_000);
    const fh = await open(path);
    const st = storage({ bucket: "missing-bucket" });
    await expect(
      createS3Store(st, createS3Client(st)).put({ fh, size: 10_000, key: "k", metadata: {} }),
    ).rejects.toThrow(/bucket/i);
    await fh.close();
  });

  it("refuses to store a core that is not the size it was when it looked complete", async () => {
    const path = join(tmp, "core.grown");
    writeCore(path, 10_000);
    const fh = await open(path);
    const st = storage();
    await expect(
      createS3Store(st, createS3Client(st)).put({ fh, size: 9_000, key: "grown", metadata: {} }),
    ).rejects.toThrow(/changed/);
    await fh.close();
  });
});

describe("cfs store", () => {
  it("copies atomically below the mounted path, with a metadata file, and verifies by reading back", async () => {
    const mount = join(tmp, "cfs");
    const path = join(tmp, "core.cfs");
    writeCore(path, 3 * MiB + 5);
    const original = readFileSync(path);
    for (const compression of ["none", "zstd"] as const) {
      const fh = await open(path);
      const store = createCfsStore(storage({ protocol: "cfs", cfsPath: mount, compression }));
      const key = `corefiles/ns/p/t-core.cfs${compression === "zstd" ? ".zst" : ""}`;
      const obj = await store.put({ fh, size: original.length, key, metadata: { pod: "p" } });
      await fh.close();
      const copy = readFileSync(join(mount, key));
      expect(sha(compression === "zstd" ? zstdDecompressSync(copy) : copy)).toBe(sha(original));
      expect(obj.location).toBe(join(mount, key));
      const meta = JSON.parse(readFileSync(`${join(mount, key)}.meta.json`, "utf8")) as Record<
        string,
        string
      >;
      expect(meta).toMatchObject({
        pod: "p",
        sha256: sha(original),
        "original-size": String(original.length),
      });
    }
  });

  it("leaves no partial file when the copy fails", async () => {
    const mount = join(tmp, "cfs-ro");
    writeFileSync(join(tmp, "not-a-dir"), "");
    const path = join(tmp, "core.cfs2");
    writeCore(path, 100_000);
    const fh = await open(path);
    const store = createCfsStore(
      storage({ protocol: "cfs", cfsPath: join(tmp, "not-a-dir", "x") }),
    );
    await expect(store.put({ fh, size: 100_000, key: "a/b", metadata: {} })).rejects.toThrow();
    await fh.close();
    void mount;
  });
});

describe("strict S3-compatible stores", () => {
  let strict: RigS3;
  beforeAll(async () => {
    strict = await startS3({ strict: ["virtual-hosted-only", "no-flexible-checksums"] });
    await strict.createBucket("oss");
  });
  afterAll(async () => {
    await strict?.stop();
  });

  const oss = (over: Partial<StorageSettings> = {}): StorageSettings =>
    storage({
      protocol: "oss",
      endpoint: strict.vhostEndpoint,
      bucket: "oss",
      addressingStyle: "virtual",
      forcePathStyle: false,
      ...over,
    });

  async function put(st: StorageSettings, name: string, size: number) {
    const path = join(tmp, name);
    writeCore(path, size, { comm: "strict" });
    const fh = await open(path);
    try {
      const obj = await createS3Store(st, createS3Client(st)).put({
        fh,
        size,
        key: `corefiles/ns/p/${name}`,
        metadata: {},
      });
      return { obj, original: readFileSync(path) };
    } finally {
      await fh.close();
    }
  }

  const flexible = (r: RecordedRequest) =>
    [
      ...Object.keys(r.headers),
      ...[...new URL(r.url, "http://x").searchParams.keys()].map((k) => k.toLowerCase()),
    ].filter(
      (n) =>
        n.startsWith("x-amz-checksum") ||
        n === "x-amz-sdk-checksum-algorithm" ||
        n === "x-amz-trailer",
    );

  it("off AWS: no flexible-checksum header, trailer or aws-chunked body on the wire, virtual-hosted, and a link without x-amz-checksum-mode", async () => {
    const cases = [
      ["core.small", 300_000, "none"], // one PutObject
      ["core.parts", 17 * MiB + 5, "none"], // multipart
      ["core.zst", 9 * MiB + 3, "zstd"], // a stream of unknown length
    ] as const;
    for (const [name, size, compression] of cases) {
      const before = strict.requests.length;
      const { obj, original } = await put(oss({ compression }), name, size);
      expect(obj.url).not.toMatch(/checksum/i);
      const res = await fetch(obj.url!);
      expect(res.status).toBe(200);
      const got = Buffer.from(await res.arrayBuffer());
      expect(sha(compression === "zstd" ? zstdDecompressSync(got) : got)).toBe(sha(original));
      const seen = strict.requests.slice(before);
      expect(seen.filter((r) => r.method === "PUT").length).toBeGreaterThanOrEqual(
        name === "core.parts" ? 3 : 1, // create, parts, complete
      );
      for (const r of seen) {
        expect(flexible(r), `${r.method} ${r.url}`).toEqual([]);
        expect(String(r.headers["content-encoding"] ?? "")).not.toMatch(/aws-chunked/);
        expect(String(r.headers["x-amz-content-sha256"] ?? "")).not.toMatch(/^STREAMING-/);
        expect(r.host).toBe(`oss.${new URL(strict.vhostEndpoint).host}`);
      }
    }
  });

  it("checksums forced on: the store's refusal comes back in its own words", async () => {
    await expect(
      put(oss({ requestChecksumCalculation: "WHEN_SUPPORTED" }), "core.forced", 200_000),
    ).rejects.toThrow(
      /^the store answered HTTP 400 InvalidArgument: Unsupported header 'x-amz-[a-z0-9-]+' received for this API call\./,
    );
  });

  it("path style on a store that refuses it: OSS's SecondLevelDomainForbidden", async () => {
    await expect(
      put(oss({ addressingStyle: "path", forcePathStyle: true }), "core.path", 200_000),
    ).rejects.toThrow(
      /HTTP 403 SecondLevelDomainForbidden: Please use virtual hosted style to access\./,
    );
  });

  it("with keys required, only requests signed with them (and their session token) are accepted", async () => {
    const keyed = await startS3();
    try {
      await keyed.createBucket("keyed");
      const keys = { accessKeyId: "ASIAKEYED", secretAccessKey: "s3cr3t/+=", sessionToken: "tok" };
      keyed.requireKeys(keys);
      const st = (k: { accessKeyId: string; secretAccessKey: string }) =>
        storage({ endpoint: keyed.endpoint, bucket: "keyed", ...k });
      const client = (k: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) =>
        new S3Client({
          endpoint: keyed.endpoint,
          region: keyed.region,
          forcePathStyle: true,
          credentials: k,
          requestChecksumCalculation: "WHEN_REQUIRED",
        });
      const attempt = async (k: typeof keys | Omit<typeof keys, "sessionToken">, name: string) => {
        const path = join(tmp, name);
        writeCore(path, 9 * MiB + 1);
        const fh = await open(path);
        try {
          return await createS3Store(st(k), client(k)).put({
            fh,
            size: 9 * MiB + 1,
            key: `k/${name}`,
            metadata: { note: "spaced   value" },
          });
        } finally {
          await fh.close();
        }
      };
      const obj = await attempt(keys, "core.keyed");
      expect((await fetch(obj.url!)).status).toBe(200);
      const tampered = new URL(obj.url!);
      tampered.searchParams.set("X-Amz-Expires", "7200");
      expect((await fetch(tampered)).status).toBe(403);
      await expect(attempt({ ...keys, secretAccessKey: "wrong" }, "core.wrong")).rejects.toThrow(
        /HTTP 403 SignatureDoesNotMatch/,
      );
      await expect(attempt({ ...keys, accessKeyId: "S3RVER" }, "core.other")).rejects.toThrow(
        /HTTP 403 InvalidAccessKeyId/,
      );
      await expect(
        attempt(
          { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey },
          "core.notoken",
        ),
      ).rejects.toThrow(/HTTP 403 InvalidToken/);
    } finally {
      await keyed.stop();
    }
  });

  it("the client takes addressing and both checksum policies from the settings", async () => {
    for (const [addressingStyle, policy] of [
      ["virtual", "WHEN_SUPPORTED"],
      ["path", "WHEN_REQUIRED"],
    ] as const) {
      const client = createS3Client(
        storage({
          addressingStyle,
          forcePathStyle: addressingStyle === "path",
          requestChecksumCalculation: policy,
          responseChecksumValidation: policy,
        }),
      );
      expect(client.config.forcePathStyle).toBe(addressingStyle === "path");
      expect(await client.config.requestChecksumCalculation()).toBe(policy);
      expect(await client.config.responseChecksumValidation()).toBe(policy);
      client.destroy();
    }
  });

  it("errors without an answer from the store keep their own message", () => {
    expect(describeStoreError(new Error("connect ECONNREFUSED 127.0.0.1:9"))).toBe(
      "connect ECONNREFUSED 127.0.0.1:9",
    );
    const e = Object.assign(new Error("NotFound"), {
      name: "NotFound",
      $metadata: { httpStatusCode: 404 },
    });
    expect(describeStoreError(e)).toBe("the store answered HTTP 404 NotFound");
  });
});
