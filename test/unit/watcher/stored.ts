// What a test reads back from S3 about a stored core: the core objects (sidecars left out) and the sidecar
// document beside one, checked against a sha256 the test computed itself.
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { expect } from "vitest";
import { isCoreKey } from "../../rig/s3.js";
import { parseSidecar, sidecarKey, type CoreSidecar } from "../../../src/core-sidecar.js";

/** Keys of the core objects (not their sidecars or fingerprint markers) under prefix, sorted. */
export async function coreKeys(
  client: S3Client,
  bucket: string,
  prefix?: string,
): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of r.Contents ?? []) if (isCoreKey(o.Key)) out.push(o.Key!);
    token = r.NextContinuationToken;
  } while (token);
  return out.sort();
}

/** The sidecar beside `key`, parsed, with its Content-Type. */
export async function readSidecar(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<{ doc: CoreSidecar; contentType: string | undefined }> {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: sidecarKey(key) }));
  return { doc: parseSidecar(await r.Body!.transformToString("utf8")), contentType: r.ContentType };
}

/** Asserts the sidecar beside `key` exists and records this sha256 and size of the original core. */
export async function expectSidecar(
  client: S3Client,
  bucket: string,
  key: string,
  want: { sha256: string; size: number; compression?: string },
): Promise<CoreSidecar> {
  const { doc, contentType } = await readSidecar(client, bucket, key);
  expect(contentType).toBe("application/json");
  expect(doc.schemaVersion).toBe(1);
  expect(doc.core).toMatchObject({
    key,
    sha256: want.sha256,
    size: want.size,
    compression: want.compression ?? "none",
  });
  expect(doc).toHaveProperty("crash");
  return doc;
}
