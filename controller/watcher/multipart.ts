// A multipart upload fed from a source that fills part buffers, with a fixed pool of queueSize + 1 buffers reused
// from part to part: memory stays at (queueSize + 1) x partSize and no buffer becomes garbage per part.
// Why not lib-storage's Upload (used before): it concatenates the read chunks into a fresh buffer for each part and
// keeps the remainder's buffer alive, so about 100 MiB of array buffers waited for the garbage collector during a
// 1 GiB upload, against ~40 MiB live; the watcher's peak RSS was 203 MiB for a 2 GiB core (npm run bench:watcher).
// Like lib-storage, a source that ends within the first part is sent with one PutObject.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from "@aws-sdk/client-s3";

/*
 * Buffers are also kept between uploads (up to POOL_MAX, dropped after POOL_IDLE_MS without an upload): 500 cores of
 * 256 KiB, 4 at a time, otherwise left ~30 MiB of buffers to the garbage collector (peak RSS +39 MiB, measured).
 */
const POOL_MAX = 6;
const POOL_IDLE_MS = 10_000;
const pool: Buffer[] = [];
let poolTimer: NodeJS.Timeout | undefined;

function takeBuffer(size: number): Buffer {
  const i = pool.findIndex((b) => b.length === size);
  return i >= 0 ? pool.splice(i, 1)[0]! : Buffer.allocUnsafeSlow(size);
}

function giveBack(bufs: Buffer[]): void {
  for (const b of bufs) if (pool.length < POOL_MAX) pool.push(b);
  clearTimeout(poolTimer);
  poolTimer = setTimeout(() => (pool.length = 0), POOL_IDLE_MS);
  poolTimer.unref();
}

export interface PartSource {
  /** Fills buf from its start; returns the bytes filled, fewer than buf.length only at the end. */
  fill(buf: Buffer): Promise<number>;
}

export interface MultipartParams {
  Bucket: string;
  Key: string;
  ContentType: string;
  Metadata: Record<string, string>;
}

export async function multipartUpload(
  client: S3Client,
  params: MultipartParams,
  source: PartSource,
  opts: { partSize: number; queueSize: number; signal?: AbortSignal; sizeHint?: number },
): Promise<void> {
  const { partSize, signal } = opts;
  const send = { abortSignal: signal };
  const owned: Buffer[] = [];
  const take = () => {
    const b = takeBuffer(partSize);
    owned.push(b);
    return b;
  };
  try {
    // A core known to be small fills only its size (+1 to see its end) of the first buffer.
    const firstBuf = take();
    const first =
      opts.sizeHint !== undefined && opts.sizeHint < partSize
        ? firstBuf.subarray(0, opts.sizeHint + 1)
        : firstBuf;
    const n = await source.fill(first);
    if (n < first.length) {
      signal?.throwIfAborted();
      await client.send(
        new PutObjectCommand({ ...params, Body: first.subarray(0, n), ContentLength: n }),
        send,
      );
      return;
    }
    await uploadParts(client, params, source, opts, firstBuf, n, take);
  } finally {
    giveBack(owned);
  }
}

async function uploadParts(
  client: S3Client,
  params: MultipartParams,
  source: PartSource,
  opts: { partSize: number; queueSize: number; signal?: AbortSignal },
  first: Buffer,
  n: number,
  take: () => Buffer,
): Promise<void> {
  const { partSize, queueSize, signal } = opts;
  const send = { abortSignal: signal };
  const created = await client.send(new CreateMultipartUploadCommand(params), send);
  const uploadId = created.UploadId!;
  const parts: CompletedPart[] = [];
  const free: Buffer[] = [];
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  const upload = (partNumber: number, buf: Buffer, length: number) => {
    const job = client
      .send(
        new UploadPartCommand({
          Bucket: params.Bucket,
          Key: params.Key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: buf.subarray(0, length),
          ContentLength: length,
        }),
        send,
      )
      .then(
        (r) => {
          parts.push({ PartNumber: partNumber, ETag: r.ETag });
          if (buf.length === partSize) free.push(buf);
        },
        (err: unknown) => {
          failure ??= err;
        },
      )
      .finally(() => inflight.delete(job));
    inflight.add(job);
  };
  try {
    let partNumber = 1;
    let buf: Buffer = first;
    let length = n;
    for (;;) {
      upload(partNumber++, buf, length);
      if (length < buf.length) break;
      while (inflight.size >= queueSize && failure === undefined) await Promise.race(inflight);
      if (failure !== undefined) break;
      buf = free.pop() ?? take();
      length = await source.fill(buf);
      if (length === 0) break;
    }
    await Promise.all(inflight);
    if (failure !== undefined) throw failure;
    signal?.throwIfAborted();
    parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: params.Bucket,
        Key: params.Key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
      send,
    );
  } catch (err) {
    await Promise.allSettled(inflight);
    await client
      .send(
        new AbortMultipartUploadCommand({
          Bucket: params.Bucket,
          Key: params.Key,
          UploadId: uploadId,
        }),
      )
      .catch(() => undefined);
    throw err;
  }
}
