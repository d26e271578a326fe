// S3 calls of the records' keeper (loaded lazily by storage-admin.ts).
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createS3Client, describeStoreError } from "./s3-store.js";
import { markerBefore } from "./fingerprint-markers.js";
import type { StorageSettings } from "./store-types.js";

const clients = new WeakMap<StorageSettings, S3Client>();
const clientFor = (s: StorageSettings) => {
  let c = clients.get(s);
  if (!c) clients.set(s, (c = createS3Client(s)));
  return c;
};

export async function presignGet(
  s: StorageSettings,
  bucket: string,
  key: string,
  seconds: number,
): Promise<string> {
  return getSignedUrl(clientFor(s), new GetObjectCommand({ Bucket: bucket, Key: key }), {
    expiresIn: seconds,
  });
}

export async function removeObjects(
  s: StorageSettings,
  bucket: string,
  keys: string[],
): Promise<void> {
  for (const key of keys) {
    try {
      await clientFor(s).send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      throw new Error(`deleting s3://${bucket}/${key}: ${describeStoreError(err)}`, {
        cause: err,
      });
    }
  }
}

/** Deletes the fingerprint markers below `prefix` made before `cutoff` (one DeleteObject each: no checksum header). */
export async function pruneMarkers(
  s: StorageSettings,
  bucket: string,
  prefix: string,
  cutoff: Date,
): Promise<number> {
  let deleted = 0;
  let token: string | undefined;
  do {
    let page;
    try {
      page = await clientFor(s).send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
    } catch (err) {
      throw new Error(`listing s3://${bucket}/${prefix}: ${describeStoreError(err)}`, {
        cause: err,
      });
    }
    const old = (page.Contents ?? [])
      .map((o) => o.Key ?? "")
      .filter((key) => markerBefore(key.slice(key.lastIndexOf("/") + 1), cutoff));
    await removeObjects(s, bucket, old);
    deleted += old.length;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return deleted;
}
