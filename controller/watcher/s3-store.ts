// The S3-compatible store (S3, COS, OSS, MinIO, Ceph, R2, B2 via endpoint): a streamed multipart upload with
// lib-storage, then a verification against what the server stores. Loaded with the first upload (store.ts
// createLazyS3Store), so the AWS SDK stays out of an idle watcher's memory.
//
// The client follows the settings: addressing style, and the SDK's flexible checksums, which are off
// (WHEN_REQUIRED) except on AWS itself: many S3-compatible stores refuse their headers and aws-chunked bodies, and
// the verification below (size and sha256 metadata) does not need them. With WHEN_REQUIRED for responses the
// presigned links carry no x-amz-checksum-mode either. Without keys in the settings or the Secret, the SDK's
// default chain finds credentials (web identity/IRSA, EKS Pod Identity, instance roles).
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import {
  CoreReader,
  Digest,
  READ_CHUNK,
  VerifyError,
  compressor,
  hashDescriptor,
  sameContent,
} from "./core-stream.js";
import { MAX_COUNTED, markerBody, markerName, markerPrefix } from "./fingerprint-markers.js";
import type { Sightings, StorageSettings, Store, StoreInput } from "./store-types.js";

const MiB = 1024 * 1024;
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

export function createS3Client(s: StorageSettings): S3Client {
  return new S3Client({
    region: s.region,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    forcePathStyle: s.addressingStyle === "path",
    requestChecksumCalculation: s.requestChecksumCalculation,
    responseChecksumValidation: s.responseChecksumValidation,
    ...(s.accessKeyId && s.secretAccessKey
      ? { credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } }
      : {}),
    maxAttempts: 3,
  });
}

/**
 * What the store answered, for logs, Events and `kubectl coredog doctor`/`status`: the HTTP status, the store's error
 * code and its own message (`HTTP 400 InvalidArgument: Unsupported header 'x-amz-sdk-checksum-algorithm' received for
 * this API call.`). Errors without an HTTP answer (refused connections, missing credentials) keep their message.
 */
export function describeStoreError(err: unknown): string {
  const e = err as {
    name?: string;
    message?: string;
    Code?: string;
    $metadata?: { httpStatusCode?: number; requestId?: string };
  };
  const status = e?.$metadata?.httpStatusCode;
  const message = e?.message ?? String(err);
  if (status === undefined) return message;
  const code = e.Code ?? e.name;
  const words = message && message !== code && message !== "UnknownError" ? `: ${message}` : "";
  const id = e.$metadata?.requestId ? ` (request id ${e.$metadata.requestId})` : "";
  return `the store answered HTTP ${status} ${code ?? ""}${words}${id}`.replace(/ +:/, ":");
}

/** Rethrows the SDK's errors with the store's answer in the message; the original stays as `cause`. */
function storeError(err: unknown): unknown {
  if (err instanceof VerifyError || (err as { $metadata?: unknown })?.$metadata === undefined)
    return err;
  return new Error(describeStoreError(err), { cause: err });
}

export function createS3Store(s: StorageSettings, client: S3Client): Store {
  const bucket = s.bucket;
  if (!bucket) throw new Error("StorageConfig.S3Bucket is not set");
  return {
    describe: () => `s3 bucket ${bucket}${s.endpoint ? ` at ${s.endpoint}` : ""}`,
    async put(input) {
      const before = await input.fh.stat();
      // The metadata carries the sha256, so it is computed before the upload; the upload then re-reads the same
      // descriptor, and unchanged stats afterwards prove it sent the bytes that were hashed.
      // Why not hash while streaming and record it afterwards: S3 takes metadata only with CreateMultipartUpload,
      // before the first part. Afterwards needs object tagging (another permission, not on R2, and not metadata:
      // HEAD and downloads don't show it) or a CopyObject onto itself (a server-side rewrite of the whole object,
      // UploadPartCopy beyond 5 GiB, which s3rver lacks). The pre-hash costs ~0.75 s CPU per GiB here (sha-ni),
      // the page cache serves the second read.
      const pre = await hashDescriptor(input.fh, input.signal);
      if (pre.size !== input.size) {
        throw new VerifyError(`the core is ${pre.size} bytes, expected ${input.size}: it changed`);
      }
      // Without compression the reader is the body itself (no stream hop between the descriptor and lib-storage);
      // with it, reader -> compressor -> counter -> body. lib-storage (getChunkStream) copies once per part
      // whatever we feed it: it concatenates the pending chunks when they exceed partSize, so chunks of exactly
      // partSize would be copied twice (two pending, 16 MiB concatenated per 8 MiB part); small chunks it is.
      const compress = s.compression !== "none";
      const reader = new CoreReader(input.fh, { md5: !!input.md5 });
      const body = compress ? new PassThrough({ highWaterMark: READ_CHUNK }) : reader;
      const upload = new Upload({
        client,
        queueSize: QUEUE_SIZE,
        partSize: partSizeFor(input.size),
        leavePartsOnError: false,
        params: {
          Bucket: bucket,
          Key: input.key,
          Body: body,
          ContentType: "application/octet-stream",
          Metadata: { ...input.metadata, sha256: pre.sha256, "original-size": String(input.size) },
        },
      });
      const onAbort = () => {
        reader.destroy(input.signal?.reason as Error);
        void upload.abort().catch(() => undefined);
      };
      input.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        let storedBytes: () => number = () => reader.bytes;
        const jobs: Promise<unknown>[] = [
          upload.done().catch((err: unknown) => {
            body.destroy(err as Error);
            throw err;
          }),
        ];
        if (compress) {
          const stored = new Digest({});
          storedBytes = () => stored.bytes;
          jobs.push(
            (pipeline as (...st: unknown[]) => Promise<void>)(
              reader,
              compressor(s.compression),
              stored,
              body,
              { signal: input.signal },
            ).catch(async (err: unknown) => {
              await upload.abort().catch(() => undefined);
              throw err;
            }),
          );
        }
        const settled = await Promise.allSettled(jobs);
        for (const r of settled) if (r.status === "rejected") throw storeError(r.reason);
        input.signal?.throwIfAborted();
        const original = reader;
        const stored = { bytes: storedBytes() };
        const after = await input.fh.stat();
        if (original.bytes !== input.size || !sameContent(before, after)) {
          throw new VerifyError(
            `the core changed while it was uploaded (${original.bytes} bytes read, ${input.size} expected)`,
          );
        }
        const sha256 = pre.sha256;
        const head = await client
          .send(new HeadObjectCommand({ Bucket: bucket, Key: input.key }))
          .catch((err: unknown) => {
            throw storeError(err);
          });
        if (head.ContentLength !== stored.bytes) {
          throw new VerifyError(
            `stored object is ${head.ContentLength} bytes, ${stored.bytes} were sent`,
          );
        }
        if (head.Metadata?.sha256 !== sha256) {
          throw new VerifyError(
            `stored object's sha256 metadata ${head.Metadata?.sha256} is not ${sha256}`,
          );
        }
        await putReportSidecar(client, bucket, input, {
          key: input.key,
          size: original.bytes,
          sha256,
          storedBytes: stored.bytes,
          compression: s.compression,
        });
        const url = await getSignedUrl(
          client,
          new GetObjectCommand({ Bucket: bucket, Key: input.key }),
          {
            expiresIn: s.presignedUrlExpireSeconds,
          },
        );
        return {
          bucket,
          key: input.key,
          size: original.bytes,
          storedBytes: stored.bytes,
          sha256,
          ...(original.md5 ? { md5: original.md5.digest("hex") } : {}),
          url,
          location: `s3://${bucket}/${input.key}`,
        };
      } finally {
        input.signal?.removeEventListener("abort", onAbort);
        reader.destroy();
      }
    },
    sighting: (id, key, at) => s3Sighting(client, bucket, s.storeDir, id, key, at),
  };
}

/**
 * The crash report beside the core, `<key>.report.json`, written after the core's verification and read back.
 * The minimal form of the sidecar document (docs/crash-report.md).
 */
async function putReportSidecar(
  client: S3Client,
  bucket: string,
  input: StoreInput,
  core: { key: string; size: number; sha256: string; storedBytes: number; compression: string },
): Promise<void> {
  const key = `${input.key}.report.json`;
  const text = JSON.stringify({ schemaVersion: 1, core, crash: input.report ?? null });
  await client
    .send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: text,
        ContentType: "application/json",
      }),
    )
    .catch((err: unknown) => {
      throw storeError(err);
    });
  const back = await client
    .send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    .then((r) => r.Body?.transformToString())
    .catch((err: unknown) => {
      throw storeError(err);
    });
  if (back !== text) throw new VerifyError(`the crash report ${key} does not read back as written`);
}

/** The fingerprint's marker for this core, and the markers sorting before it (see fingerprint-markers.ts). */
async function s3Sighting(
  client: S3Client,
  bucket: string,
  storeDir: string,
  fingerprintId: string,
  key: string,
  at: Date,
): Promise<Sightings> {
  const prefix = markerPrefix(storeDir, fingerprintId);
  const mine = markerName(key, at);
  await client
    .send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: prefix + mine,
        Body: markerBody(key, at),
        ContentType: "application/json",
      }),
    )
    .catch((err: unknown) => {
      throw storeError(err);
    });
  let before = 0;
  let token: string | undefined;
  // Keys come sorted: the count ends at the first marker not before this one.
  while (before < MAX_COUNTED) {
    const page = await client
      .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
      .catch((err: unknown) => {
        throw storeError(err);
      });
    for (const o of page.Contents ?? []) {
      if ((o.Key ?? "").slice(prefix.length) >= mine) return { before, atLeast: false };
      before++;
    }
    if (!page.IsTruncated || !page.NextContinuationToken) return { before, atLeast: false };
    token = page.NextContinuationToken;
  }
  return { before, atLeast: true };
}
