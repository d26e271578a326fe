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
import { crashReport } from "../../../src/crash-report.js";
import { VerifyError } from "../../../controller/watcher/core-stream.js";
import { coreBlock, writeCore } from "./core-fixture.js";
import { expectSidecar } from "./stored.js";
import { s3Storage, strictS3Storage } from "./harness.js";

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

const storage = (over: Partial<StorageSettings> = {}) => s3Storage(s3, over);

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
    expect(head.Metadata).toEqual({
      namespace: "shop",
      pod: "api-1",
      signal: "11",
      "original-size": String(original.length),
    });
    expect(sha(await body(key))).toBe(sha(original));
    expect(obj.sidecarKey).toBe(`${key}.report.json`);
    const doc = await expectSidecar(s3.client, "cores", key, {
      sha256: sha(original),
      size: original.length,
    });
    expect(doc.core).toMatchObject({
      bucket: "cores",
      md5: obj.md5,
      storedBytes: original.length,
      metadata: head.Metadata,
    });
    expect(Date.parse(doc.core.uploadedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(doc.crash).toBeNull();
    expect(doc).not.toHaveProperty("crashError");
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
      expect(head.Metadata).toEqual({ "original-size": String(original.length) });
      const doc = await expectSidecar(s3.client, "cores", key, {
        sha256: sha(original),
        size: original.length,
        compression,
      });
      expect(doc.core.storedBytes).toBe(stored.length);
    });
  }

  it("reads the core once: every byte exactly once from the descriptor, none before the upload starts", async () => {
    const path = join(tmp, "core.once");
    const size = 17 * MiB + 99;
    writeCore(path, size, { comm: "once" }, coreBlock(5));
    const original = readFileSync(path);
    const fh = await open(path);
    const reads: { position: number; bytes: number }[] = [];
    let firstPart = -1;
    const st = storage();
    const client = createS3Client(st);
    client.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === "UploadPartCommand" && firstPart < 0) firstPart = reads.length;
        return next(args);
      },
      { step: "initialize", name: "testFirstPart" },
    );
    const counted = new Proxy(fh, {
      get(target, prop) {
        if (prop === "read") {
          return async (buf: Buffer, off: number, len: number, pos: number) => {
            const r = await target.read(buf, off, len, pos);
            reads.push({ position: pos, bytes: r.bytesRead });
            return r;
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const key = "corefiles/ns/p/t-core.once";
    const obj = await createS3Store(st, client).put({
      fh: counted,
      size,
      key,
      md5: true,
      metadata: {},
    });
    await fh.close();
    expect(obj.sha256).toBe(sha(original));
    expect(reads.reduce((n, r) => n + r.bytes, 0)).toBe(size);
    // consecutive, never the same offset twice
    let at = 0;
    for (const r of reads) {
      expect(r.position).toBe(at);
      at += r.bytes;
    }
    // lib-storage starts the first part once 8 MiB were read: nothing was read ahead for a digest
    expect(firstPart).toBeGreaterThan(0);
    expect(reads.slice(0, firstPart).reduce((n, r) => n + r.bytes, 0)).toBeLessThan(size);
  });

  it("a core of exactly one or two parts, or one byte more, is stored whole", async () => {
    const st = storage();
    const store = createS3Store(st, createS3Client(st));
    for (const size of [8 * MiB, 8 * MiB + 1, 16 * MiB]) {
      const path = join(tmp, `core.exact.${size}`);
      writeCore(path, size, { comm: "exact" }, coreBlock(9));
      const original = readFileSync(path);
      const fh = await open(path);
      const key = `exact/${size}`;
      const obj = await store.put({ fh, size, key, metadata: {} });
      await fh.close();
      expect(obj.storedBytes).toBe(size);
      expect(sha(await body(key))).toBe(sha(original));
      await expectSidecar(s3.client, "cores", key, { sha256: sha(original), size });
    }
  });

  it("embeds the crash report, or why there is none, in the sidecar", async () => {
    const path = join(tmp, "core.crash");
    writeCore(path, 300_000, { comm: "crashy", signal: 6 });
    const fh = await open(path);
    const report = await crashReport(
      async (offset, length) => {
        const buf = Buffer.alloc(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        return buf.subarray(0, bytesRead);
      },
      { fileSize: 300_000 },
    );
    const st = storage();
    const store = createS3Store(st, createS3Client(st));
    await store.put({ fh, size: 300_000, key: "r/with", metadata: {}, report });
    await store.put({
      fh,
      size: 300_000,
      key: "r/without",
      metadata: {},
      crashError: "not an ELF core",
    });
    await fh.close();
    const sha256 = sha(readFileSync(path));
    const withReport = await expectSidecar(s3.client, "cores", "r/with", { sha256, size: 300_000 });
    expect(withReport.crash).toEqual(JSON.parse(JSON.stringify(report)));
    expect(withReport.crash?.death?.signalName).toBe("SIGABRT");
    const without = await expectSidecar(s3.client, "cores", "r/without", {
      sha256,
      size: 300_000,
    });
    expect(without.crash).toBeNull();
    expect(without.crashError).toBe("not an ELF core");
  });

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

  describe("verification against a store that misbehaves", () => {
    afterAll(() => s3.faults([]));
    async function attempt(name: string, size: number, over: Partial<StorageSettings> = {}) {
      const path = join(tmp, name);
      writeCore(path, size, { comm: "verify" });
      const fh = await open(path);
      try {
        const st = storage(over);
        return await createS3Store(st, createS3Client(st)).put({
          fh,
          size,
          key: `verify/${name}`,
          metadata: {},
        });
      } finally {
        await fh.close();
      }
    }
    const sidecarKeys = /\.report\.json$/;

    it("an upload aborted while the store holds a part (shutdown): rejects at once, nothing stored", async () => {
      s3.faults([{ method: "PUT", key: /core\.aborted/, action: "hang" }]);
      const path = join(tmp, "core.aborted");
      writeCore(path, 17 * MiB, { comm: "verify" });
      const fh = await open(path);
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error("shutting down")), 500);
      const started = Date.now();
      const st = storage();
      const err = await createS3Store(st, createS3Client(st))
        .put({ fh, size: 17 * MiB, key: "verify/core.aborted", metadata: {}, signal: ac.signal })
        .catch((e: unknown) => e);
      await fh.close();
      s3.faults([]);
      expect(String(err)).toMatch(/abort|shutting down/i);
      expect(Date.now() - started).toBeLessThan(10_000);
      await expect(
        s3.client.send(new HeadObjectCommand({ Bucket: "cores", Key: "verify/core.aborted" })),
      ).rejects.toThrow();
    });

    it("the sidecar lost by the store: a VerifyError", async () => {
      s3.faults([{ method: "PUT", key: sidecarKeys, action: "lose" }]);
      const err = await attempt("core.lost", 9 * MiB + 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VerifyError);
      expect(String(err)).toMatch(
        /the sidecar verify\/core\.lost\.report\.json is not in the store after it was written/,
      );
    });

    it("the sidecar reads back with another sha256: a VerifyError", async () => {
      const other = "0".repeat(64);
      s3.faults([
        {
          method: "GET",
          key: sidecarKeys,
          action: "rewrite",
          rewrite: (b) =>
            Buffer.from(b.toString().replace(/"sha256": "[0-9a-f]{64}"/, `"sha256": "${other}"`)),
        },
      ]);
      const err = await attempt("core.othersha", 300_000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VerifyError);
      expect(String(err)).toMatch(
        new RegExp(
          `reads back sha256 ${other} and 300000 bytes, [0-9a-f]{64} and 300000 were streamed`,
        ),
      );
    });

    it("the sidecar reads back garbled: a VerifyError", async () => {
      s3.faults([
        {
          method: "GET",
          key: sidecarKeys,
          action: "rewrite",
          rewrite: (b) => b.subarray(0, b.length >> 1),
        },
      ]);
      const err = await attempt("core.garbled", 300_000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VerifyError);
      expect(String(err)).toMatch(/the sidecar \S+ does not read back: the sidecar is not JSON/);
    });

    it("the object is not the size that was sent (plain and compressed): a VerifyError, no sidecar written", async () => {
      s3.faults([{ method: "HEAD", key: /core\.short/, action: "size", size: (n) => n - 1 }]);
      for (const compression of ["none", "zstd"] as const) {
        const name = `core.short.${compression}`;
        const before = s3.requests.length;
        const err = await attempt(name, 9 * MiB + 5, { compression }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VerifyError);
        expect(String(err)).toMatch(/stored object is \d+ bytes, \d+ were sent/);
        expect(s3.requests.slice(before).filter((r) => r.url.includes(".report.json"))).toEqual([]);
      }
    });
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
      expect(meta).toEqual({ pod: "p", "original-size": String(original.length) });
      const side = JSON.parse(readFileSync(`${join(mount, key)}.report.json`, "utf8")) as Record<
        string,
        Record<string, unknown>
      >;
      expect(obj.sidecarKey).toBe(`${key}.report.json`);
      expect(side).toMatchObject({
        schemaVersion: 1,
        core: {
          key,
          sha256: sha(original),
          size: original.length,
          storedBytes: copy.length,
          compression,
        },
        crash: null,
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

  const oss = (over: Partial<StorageSettings> = {}) => strictS3Storage(strict, over);

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
