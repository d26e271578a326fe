// S3 calls of the records' keeper (loaded lazily by storage-admin.ts).
import { DeleteObjectCommand, GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createS3Client, describeStoreError } from "./s3-store.js";
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
