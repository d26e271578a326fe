// What the records' keeper does to storage: a short-lived download link for one object, and deletions for
// retention (the only deletions from the bucket): cores with their reports, and old fingerprint markers.
// The AWS SDK is loaded on first use.
import { unlink } from "node:fs/promises";
import { join } from "node:path";
import { cfsPruneMarkers, markersRoot } from "./fingerprint-markers.js";
import type { StorageSettings } from "./store-types.js";
import type * as S3Admin from "./s3-admin.js";

export interface StorageAdmin {
  presignGet(bucket: string | undefined, key: string, seconds: number): Promise<string>;
  /** Deletes the objects; an object already gone is not an error. */
  remove(bucket: string | undefined, keys: string[]): Promise<void>;
  /** Deletes the fingerprint markers made before `cutoff` (./fingerprint-markers.ts); how many went. */
  pruneMarkers(cutoff: Date): Promise<number>;
}

export function createStorageAdmin(s: StorageSettings): StorageAdmin {
  if (s.protocol === "cfs") {
    const root = s.cfsPath ?? "";
    return {
      presignGet: () =>
        Promise.reject(
          new Error("downloads need S3-compatible storage; cfs cores are read from the mount"),
        ),
      async remove(_bucket, keys) {
        for (const k of keys)
          for (const f of [k, `${k}.meta.json`])
            await unlink(join(root, f)).catch((e: NodeJS.ErrnoException) => {
              if (e.code !== "ENOENT") throw e;
            });
      },
      pruneMarkers: (cutoff) => cfsPruneMarkers(root, s.storeDir, cutoff),
    };
  }
  let sdk: Promise<typeof S3Admin> | undefined;
  const load = () => (sdk ??= import("./s3-admin.js"));
  return {
    async presignGet(bucket, key, seconds) {
      return (await load()).presignGet(s, bucket ?? s.bucket!, key, seconds);
    },
    async remove(bucket, keys) {
      await (await load()).removeObjects(s, bucket ?? s.bucket!, keys);
    },
    async pruneMarkers(cutoff) {
      return (await load()).pruneMarkers(s, s.bucket!, markersRoot(s.storeDir), cutoff);
    },
  };
}
