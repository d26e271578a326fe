// What a store records of a core it streamed, from the tallies taken on the way: the sidecar's core entry, and the
// store's answer, which repeats its first fields.
import type { CoreSidecar } from "../../src/core-sidecar.js";
import type { Tally } from "./core-stream.js";
import type { StoredObject } from "./store-types.js";

export function streamedCore(
  streamed: { original: Tally; stored: Tally },
  fields: Pick<CoreSidecar["core"], "key" | "bucket" | "compression" | "metadata">,
): CoreSidecar["core"] {
  const { sha256, md5 } = streamed.original.digests();
  if (!sha256) throw new Error("the core's bytes were not hashed");
  return {
    key: fields.key,
    ...(fields.bucket ? { bucket: fields.bucket } : {}),
    size: streamed.original.bytes,
    sha256,
    ...(md5 ? { md5 } : {}),
    storedBytes: streamed.stored.bytes,
    compression: fields.compression,
    uploadedAt: new Date().toISOString(),
    metadata: fields.metadata,
  };
}

export function storedObject(
  core: CoreSidecar["core"],
  where: Pick<StoredObject, "url" | "location" | "sidecarKey">,
): StoredObject {
  return {
    ...(core.bucket ? { bucket: core.bucket } : {}),
    key: core.key,
    size: core.size,
    storedBytes: core.storedBytes,
    sha256: core.sha256,
    ...(core.md5 ? { md5: core.md5 } : {}),
    ...where,
  };
}
