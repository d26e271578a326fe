// The S3-compatible store (S3, COS, OSS, MinIO, Ceph, R2, B2 via endpoint): a streamed multipart upload
// (./multipart.ts), then a verification against what the server stores. Loaded with the first upload (store.ts
// createLazyS3Store), so the AWS SDK stays out of an idle watcher's memory.
//
// The client follows the settings: addressing style, and the SDK's flexible checksums, which are off
// (WHEN_REQUIRED) except on AWS itself: many S3-compatible stores refuse their headers and aws-chunked bodies, and
// the verification below (sizes, and the sidecar document read back) does not need them. With WHEN_REQUIRED for responses the
// presigned links carry no x-amz-checksum-mode either. Without keys in the settings or the Secret, the SDK's
// default chain finds credentials (web identity/IRSA, EKS Pod Identity, instance roles).
import { pipeline as nodePipeline } from "node:stream";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import {
  SIDECAR_CONTENT_TYPE,
  parseSidecar,
  sidecarDocument,
  sidecarKey,
  sidecarText,
  type CoreSidecar,
} from "../../src/core-sidecar.js";
import {
  CoreReader,
  DescriptorParts,
  Digest,
  StreamParts,
  VerifyError,
  type Tally,
  compressor,
  sameContent,
} from "./core-stream.js";
import { MAX_COUNTED, markerBody, markerName, markerPrefix } from "./fingerprint-markers.js";
import { multipartUpload, type PartSource } from "./multipart.js";
import type { Sightings, StorageSettings, Store, StoreInput } from "./store-types.js";
import { storedObject, streamedCore } from "./stored-core.js";

const MiB = 1024 * 1024;
/*
 * Multipart sizing: up to queueSize parts in flight plus the one being filled, in reused buffers (./multipart.ts),
 * so memory is bounded by (queueSize + 1) * partSize = 40 MiB whatever the core's size. 8 MiB parts x 4 in flight keep a local S3 server busy (16 MiB parts were not measurably faster but
 * cost ~40 MiB more peak RSS); parts grow only when a core would need more than 9,000 of them (> ~70 GiB),
 * S3's limit being 10,000.
 */
export const QUEUE_SIZE = 4;
/** Compression (zstd 3: ~100-150 MB/s here) fills parts slower than a local store takes them: fewer in flight. */
const COMPRESSED_QUEUE_SIZE = 2;
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
      if (before.size !== input.size) {
        throw new VerifyError(
          `the core is ${before.size} bytes, expected ${input.size}: it changed`,
        );
      }
      // One read: the sha256 (and md5) are computed as the bytes go to the store, and recorded afterwards in the
      // sidecar document (S3 takes metadata only before the first part). Unchanged stats afterwards prove the bytes
      // hashed are the bytes of the core as it looked complete.
      // Without compression the descriptor is read straight into the part buffers; with it,
      // reader -> compressor -> counter, copied into the part buffers.
      const compress = s.compression !== "none";
      const metadata = { ...input.metadata, "original-size": String(input.size) };
      const want = { sha256: true, md5: !!input.md5 };
      // What was read of the core, and what went to the store (the same without compression).
      let original: Tally;
      let stored: Tally;
      let source: PartSource;
      let stopReading: (err?: Error) => void = () => undefined;
      if (compress) {
        const reader = new CoreReader(input.fh, want);
        const counter = new Digest({});
        const out = nodePipeline(reader, compressor(s.compression)!, counter, () => undefined);
        stopReading = (err) => out.destroy(err);
        original = reader.tally;
        stored = counter.tally;
        source = new StreamParts(out);
      } else {
        const parts = new DescriptorParts(input.fh, want, input.signal);
        original = stored = parts.tally;
        source = parts;
      }
      const onAbort = () => stopReading(input.signal?.reason as Error);
      input.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        await multipartUpload(
          client,
          {
            Bucket: bucket,
            Key: input.key,
            ContentType: "application/octet-stream",
            Metadata: metadata,
          },
          source,
          {
            partSize: partSizeFor(input.size),
            queueSize: compress ? COMPRESSED_QUEUE_SIZE : QUEUE_SIZE,
            signal: input.signal,
            ...(compress ? {} : { sizeHint: input.size }),
          },
        ).catch((err: unknown) => {
          throw storeError(err);
        });
        input.signal?.throwIfAborted();
        const after = await input.fh.stat();
        if (original.bytes !== input.size || !sameContent(before, after)) {
          throw new VerifyError(
            `the core changed while it was uploaded (${original.bytes} bytes read, ${input.size} expected)`,
          );
        }
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
        input.signal?.throwIfAborted();
        const core = streamedCore(
          { original, stored },
          { key: input.key, bucket, compression: s.compression, metadata },
        );
        const sidecar = await writeSidecar(client, bucket, input, core);
        const url = await getSignedUrl(
          client,
          new GetObjectCommand({ Bucket: bucket, Key: input.key }),
          {
            expiresIn: s.presignedUrlExpireSeconds,
          },
        );
        return storedObject(core, {
          url,
          location: `s3://${bucket}/${input.key}`,
          sidecarKey: sidecar,
        });
      } finally {
        input.signal?.removeEventListener("abort", onAbort);
        stopReading();
      }
    },
    sighting: (id, key, at) => s3Sighting(client, bucket, s.storeDir, id, key, at),
  };
}

/**
 * Writes the sidecar document beside the core (after its upload), reads it back and checks it says what was
 * streamed: a core is deleted only when both are in the store. Returns the sidecar's key.
 */
async function writeSidecar(
  client: S3Client,
  bucket: string,
  input: StoreInput,
  core: CoreSidecar["core"],
): Promise<string> {
  const key = sidecarKey(input.key);
  const text = sidecarText(sidecarDocument(core, input.report, input.crashError));
  await client
    .send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: text,
        ContentType: SIDECAR_CONTENT_TYPE,
      }),
      { abortSignal: input.signal },
    )
    .catch((err: unknown) => {
      throw storeError(err);
    });
  const got = await client
    .send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: input.signal })
    .then((r) => r.Body!.transformToString("utf8"))
    .catch((err: unknown) => {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e?.name === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404) {
        throw new VerifyError(`the sidecar ${key} is not in the store after it was written`);
      }
      throw storeError(err);
    });
  let back: CoreSidecar;
  try {
    back = parseSidecar(got);
  } catch (err) {
    throw new VerifyError(`the sidecar ${key} does not read back: ${(err as Error).message}`);
  }
  if (back.core.sha256 !== core.sha256 || back.core.size !== core.size) {
    throw new VerifyError(
      `the sidecar ${key} reads back sha256 ${back.core.sha256} and ${back.core.size} bytes, ${core.sha256} and ${core.size} were streamed`,
    );
  }
  if (back.core.key !== core.key || back.core.storedBytes !== core.storedBytes || got !== text) {
    throw new VerifyError(`the sidecar ${key} does not read back as written`);
  }
  return key;
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
