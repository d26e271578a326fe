// One core's bytes on their way to a store: read from the descriptor, counted and hashed as they pass, optionally
// compressed; and the checks around them (re-hashing, "unchanged since").
import { createHash, type Hash } from "node:crypto";
import type { Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { Readable, Transform, type TransformCallback, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { constants as zc, createGzip, createZstdCompress } from "node:zlib";
import type { Compression, StoreInput } from "./store-types.js";

const MiB = 1024 * 1024;
/** Read size from the core's descriptor (smaller reads measured ~30 MiB less peak RSS than 1 MiB, same speed). */
export const READ_CHUNK = 256 * 1024;
const HASH_CHUNK = 1 * MiB;

export class VerifyError extends Error {}

/** sha256 of the descriptor's content (a stored copy read back); one reused buffer. */
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

/** Bytes counted, and hashed as asked, as they pass. */
export class Tally {
  private readonly sha256: Hash | undefined;
  private readonly md5: Hash | undefined;
  bytes = 0;
  constructor(want: { sha256?: boolean; md5?: boolean }) {
    this.sha256 = want.sha256 ? createHash("sha256") : undefined;
    this.md5 = want.md5 ? createHash("md5") : undefined;
  }
  add(chunk: Buffer): void {
    this.sha256?.update(chunk);
    this.md5?.update(chunk);
    this.bytes += chunk.length;
  }
  private hex: { sha256?: string; md5?: string } | undefined;
  /** The digests in hex, taken once (a Hash gives its digest once); the tally is finished after. */
  digests(): { sha256?: string; md5?: string } {
    this.hex ??= { sha256: this.sha256?.digest("hex"), md5: this.md5?.digest("hex") };
    return this.hex;
  }
}

/**
 * The core's bytes, read from its descriptor into a fresh buffer per chunk and tallied as they are read: the source
 * and the digest in one stream.
 */
export class CoreReader extends Readable {
  readonly tally: Tally;
  constructor(
    private readonly fh: FileHandle,
    want: { sha256?: boolean; md5?: boolean },
  ) {
    super({ highWaterMark: READ_CHUNK });
    this.tally = new Tally(want);
  }
  override _read(): void {
    // Fresh each time: the compressor or the copy's write stream may still hold the previous one.
    const buf = Buffer.allocUnsafeSlow(READ_CHUNK);
    this.fh.read(buf, 0, READ_CHUNK, this.tally.bytes).then(
      ({ bytesRead }) => {
        if (this.destroyed) return;
        if (bytesRead === 0) {
          this.push(null);
          return;
        }
        const chunk = bytesRead === READ_CHUNK ? buf : buf.subarray(0, bytesRead);
        this.tally.add(chunk);
        this.push(chunk);
      },
      (err: Error) => this.destroy(err),
    );
  }
}

/**
 * The core's bytes read from its descriptor straight into the upload's part buffers (no copy), tallied as they are
 * read: the uncompressed S3 upload's source (./multipart.ts).
 */
export class DescriptorParts {
  readonly tally: Tally;
  constructor(
    private readonly fh: FileHandle,
    want: { sha256?: boolean; md5?: boolean },
    private readonly signal?: AbortSignal,
  ) {
    this.tally = new Tally(want);
  }
  async fill(buf: Buffer): Promise<number> {
    const offset = this.tally.bytes;
    let filled = 0;
    while (filled < buf.length) {
      this.signal?.throwIfAborted();
      const { bytesRead } = await this.fh.read(buf, filled, buf.length - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.tally.add(buf.subarray(0, filled));
    return filled;
  }
}

/** Part buffers filled from a stream's chunks (the compressed upload's source): one copy, of compressed bytes. */
export class StreamParts {
  private readonly chunks: AsyncIterator<Buffer>;
  private rest: Buffer | undefined;
  constructor(stream: Readable) {
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }
  async fill(buf: Buffer): Promise<number> {
    let filled = 0;
    while (filled < buf.length) {
      let chunk = this.rest;
      this.rest = undefined;
      if (!chunk) {
        const next = await this.chunks.next();
        if (next.done) break;
        chunk = next.value;
      }
      const take = Math.min(chunk.length, buf.length - filled);
      chunk.copy(buf, filled, 0, take);
      filled += take;
      if (take < chunk.length) this.rest = chunk.subarray(take);
    }
    return filled;
  }
}

/** Tallies what passes: the bytes stored after compression. */
export class Digest extends Transform {
  readonly tally: Tally;
  constructor(want: { sha256?: boolean }) {
    super({ highWaterMark: READ_CHUNK });
    this.tally = new Tally(want);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.tally.add(chunk);
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
export async function streamCore(
  input: StoreInput,
  compression: Compression,
  sink: Writable,
  want: { original: { sha256?: boolean; md5?: boolean }; stored: { sha256?: boolean } },
): Promise<{ original: Tally; stored: Tally }> {
  const original = new CoreReader(input.fh, want.original);
  const stored = new Digest(want.stored);
  const c = compressor(compression);
  const stages = c ? [original, c, stored, sink] : [original, stored, sink];
  await (pipeline as (...s: unknown[]) => Promise<void>)(...stages, { signal: input.signal });
  return { original: original.tally, stored: stored.tally };
}

/** Writes change a file's mtime and ctime (ctime cannot be set back), so equal stats mean equal content. */
export function sameContent(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}
