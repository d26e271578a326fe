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
  const { partSize, queueSize, signal } = opts;
  const send = { abortSignal: signal };
  // A core known to be small gets a buffer of its size (+1 to see its end), not a whole part.
  const first = Buffer.allocUnsafeSlow(
    opts.sizeHint !== undefined ? Math.min(partSize, opts.sizeHint + 1) : partSize,
  );
  const n = await source.fill(first);
  if (n < first.length) {
    signal?.throwIfAborted();
    await client.send(
      new PutObjectCommand({ ...params, Body: first.subarray(0, n), ContentLength: n }),
      send,
    );
    return;
  }
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
      buf = free.pop() ?? Buffer.allocUnsafeSlow(partSize);
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
