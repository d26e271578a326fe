// Streams one core from its descriptor to storage (S3-compatible multipart in ./s3store.ts, or a copy to a mounted
// path for cfs), hashing and counting while it streams, optionally compressing, then verifies what was stored.
import { createHash, randomBytes, type Hash } from "node:crypto";
import type { Stats } from "node:fs";
import { mkdir, open, rename, unlink, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable, Transform, type TransformCallback, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { constants as zc, createGzip, createZstdCompress } from "node:zlib";
import type { Settings } from "../../src/settings.js";

export type StorageSettings = Settings["storage"];
export type Compression = StorageSettings["compression"];

const MiB = 1024 * 1024;
/** Read size from the core's descriptor (smaller reads measured ~30 MiB less peak RSS than 1 MiB, same speed). */
export const READ_CHUNK = 256 * 1024;
const HASH_CHUNK = 1 * MiB;
/*
 * Multipart sizing: lib-storage holds up to queueSize parts in flight plus the one being filled (and the buffer the
 * last remainder was cut from), so memory is bounded by about (queueSize + 2) * partSize = 48 MiB whatever the
 * core's size. 8 MiB parts x 4 in flight keep a local S3 server busy (16 MiB parts were not measurably faster but
 * cost ~40 MiB more peak RSS); parts grow only when a core would need more than 9,000 of them (> ~70 GiB),
 * S3's limit being 10,000.
 */
export const QUEUE_SIZE = 4;
const BASE_PART_SIZE = 8 * MiB;
const MAX_PARTS = 9000;

export function partSizeFor(size: number): number {
  return Math.max(BASE_PART_SIZE, Math.ceil(size / MAX_PARTS / MiB) * MiB);
}

export function compressionSuffix(c: Compression): string {
  return c === "zstd" ? ".zst" : c === "gzip" ? ".gz" : "";
}

/** `20261127T063500123Z`: sortable and safe in keys and file names. */
export function keyTime(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(".", "");
}

/**
 * `<StoreDir>/<namespace>/<pod>/<container>/<time>-<file>[.zst|.gz]`; without the container for a core found in
 * the pod's directory; `<StoreDir>/_unknown/<time>-<file>` without a pod.
 */
export function objectKey(
  storeDir: string,
  where: { namespace?: string; pod?: string; container?: string },
  file: string,
  at: Date,
  compression: Compression,
): string {
  const prefix = storeDir.replace(/^\/+|\/+$/g, "");
  const podPart = where.namespace && where.pod ? `${where.namespace}/${where.pod}` : "_unknown";
  // Containers of one pod have separate pid namespaces: two can leave the same file name in the same second.
  const name = `${keyTime(at)}-${file}${compressionSuffix(compression)}`;
  return [prefix, podPart, where.container ?? "", name].filter((s) => s !== "").join("/");
}

/** S3 metadata values travel as HTTP headers: printable ASCII only, bounded length. */
export function metadataValue(v: string): string {
  const ascii = /^[\x20-\x7e]*$/.test(v) ? v : encodeURIComponent(v);
  return ascii.slice(0, 256);
}

export interface StoreInput {
  fh: FileHandle;
  /** The core's size from fstat; the stream must deliver exactly this many bytes. */
  size: number;
  key: string;
  /** Object metadata except sha256/original-size, which the store adds. */
  metadata: Record<string, string>;
  /** Also compute the md5 (for the custom handler's COREDUMP_MD5). */
  md5?: boolean;
  signal?: AbortSignal;
}

export interface StoredObject {
  bucket?: string;
  key: string;
  /** Bytes of the original core. */
  size: number;
  /** Bytes written to storage (after compression). */
  storedBytes: number;
  sha256: string;
  /** Only when asked for (StoreInput.md5): it costs about as much CPU as the rest of the upload. */
  md5?: string;
  url?: string;
  location: string;
}

export class VerifyError extends Error {}

/** sha256 of the descriptor's content (the metadata needs it before the upload starts); one reused buffer. */
export async function hashDescriptor(
  fh: FileHandle,
  signal?: AbortSignal,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(HASH_CHUNK);
  let size = 0;
  for (;;) {
    signal?.throwIfAborted();
    const { bytesRead } = await fh.read(buf, 0, buf.length, size);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    size += bytesRead;
  }
  return { sha256: hash.digest("hex"), size };
}

/**
 * The core's bytes, read from its descriptor into a fresh buffer per chunk and counted (and hashed, as asked) as they
 * are read: the source and the digest in one stream, so the S3 upload without compression reads it directly.
 */
export class CoreReader extends Readable {
  readonly sha256: Hash | undefined;
  readonly md5: Hash | undefined;
  bytes = 0;
  constructor(
    private readonly fh: FileHandle,
    want: { sha256?: boolean; md5?: boolean },
  ) {
    super({ highWaterMark: READ_CHUNK });
    this.sha256 = want.sha256 ? createHash("sha256") : undefined;
    this.md5 = want.md5 ? createHash("md5") : undefined;
  }
  override _read(): void {
    // Fresh each time: lib-storage keeps the chunks until it cuts a part from them.
    const buf = Buffer.allocUnsafeSlow(READ_CHUNK);
    this.fh.read(buf, 0, READ_CHUNK, this.bytes).then(
      ({ bytesRead }) => {
        if (this.destroyed) return;
        if (bytesRead === 0) {
          this.push(null);
          return;
        }
        const chunk = bytesRead === READ_CHUNK ? buf : buf.subarray(0, bytesRead);
        this.bytes += bytesRead;
        this.sha256?.update(chunk);
        this.md5?.update(chunk);
        this.push(chunk);
      },
      (err: Error) => this.destroy(err),
    );
  }
}

/** Counts (and as asked hashes) what passes: the bytes stored after compression. */
export class Digest extends Transform {
  readonly sha256: Hash | undefined;
  bytes = 0;
  constructor(want: { sha256?: boolean }) {
    super({ highWaterMark: READ_CHUNK });
    this.sha256 = want.sha256 ? createHash("sha256") : undefined;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.sha256?.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

export function compressor(c: Compression): Transform | undefined {
  if (c === "zstd") return createZstdCompress({ params: { [zc.ZSTD_c_compressionLevel]: 3 } });
  // Level 1: about twice as fast as the default for a few percent in size (cores are large).
  if (c === "gzip") return createGzip({ level: 1 });
  return undefined;
}

/** original bytes (read and digested) -> [compress] -> digest of what is stored -> sink */
async function streamCore(
  input: StoreInput,
  compression: Compression,
  sink: Writable,
  want: { original: { sha256?: boolean; md5?: boolean }; stored: { sha256?: boolean } },
): Promise<{ original: CoreReader; stored: Digest }> {
  const original = new CoreReader(input.fh, want.original);
  const stored = new Digest(want.stored);
  const c = compressor(compression);
  const stages = c ? [original, c, stored, sink] : [original, stored, sink];
  await (pipeline as (...s: unknown[]) => Promise<void>)(...stages, { signal: input.signal });
  return { original, stored };
}

/** Writes change a file's mtime and ctime (ctime cannot be set back), so equal stats mean equal content. */
export function sameContent(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}

export interface Store {
  put(input: StoreInput): Promise<StoredObject>;
  describe(): string;
}

/**
 * An S3 store that loads the AWS SDK (./s3store.ts) with its first upload: a node without cores never loads it
 * (measured ~20 MiB less idle RSS for the watcher on every node).
 */
export function createLazyS3Store(s: StorageSettings): Store {
  if (!s.bucket) throw new Error("StorageConfig.S3Bucket is not set");
  let store: Promise<Store> | undefined;
  return {
    describe: () => `s3 bucket ${s.bucket}${s.endpoint ? ` at ${s.endpoint}` : ""}`,
    async put(input) {
      store ??= import("./s3store.js").then((m) => m.createS3Store(s, m.createS3Client(s)));
      return (await store).put(input);
    },
  };
}

/** cfs: a copy below a mounted path, written to a temporary name, fsynced and renamed, then re-read and hashed. */
export function createCfsStore(s: StorageSettings): Store {
  const root = s.cfsPath;
  if (!root) throw new Error("StorageConfig.cfsPath is not set (protocol cfs)");
  return {
    describe: () => `cfs ${root}`,
    async put(input) {
      const dest = join(root, input.key);
      await mkdir(dirname(dest), { recursive: true });
      const tmp = `${dest}.tmp-${randomBytes(6).toString("hex")}`;
      const out = await open(tmp, "wx", 0o640);
      let result: { original: CoreReader; stored: Digest };
      try {
        // flush: fsync before the stream closes the descriptor.
        result = await streamCore(input, s.compression, out.createWriteStream({ flush: true }), {
          original: { sha256: true, md5: !!input.md5 },
          stored: { sha256: true },
        });
      } catch (err) {
        await out.close().catch(() => undefined);
        await unlink(tmp).catch(() => undefined);
        throw err;
      }
      const { original, stored } = result;
      const storedSha = stored.sha256!.digest("hex");
      const sha256 = original.sha256!.digest("hex");
      if (original.bytes !== input.size) {
        await unlink(tmp).catch(() => undefined);
        throw new VerifyError(`read ${original.bytes} bytes of the core, expected ${input.size}`);
      }
      const meta = { ...input.metadata, sha256, "original-size": String(input.size) };
      await writeAtomic(`${dest}.meta.json`, JSON.stringify(meta, null, 2));
      await rename(tmp, dest);
      const check = await open(dest, "r");
      try {
        const again = await hashDescriptor(check);
        if (again.size !== stored.bytes || again.sha256 !== storedSha) {
          throw new VerifyError(`the copy at ${dest} does not read back as written`);
        }
      } finally {
        await check.close();
      }
      return {
        key: input.key,
        size: original.bytes,
        storedBytes: stored.bytes,
        sha256,
        ...(original.md5 ? { md5: original.md5.digest("hex") } : {}),
        url: `file://${dest}`,
        location: dest,
      };
    },
  };
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${randomBytes(6).toString("hex")}`;
  const fh = await open(tmp, "w", 0o640);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
