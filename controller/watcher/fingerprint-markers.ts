// How often a fingerprint was seen, cluster-wide, with no new API and no shared state but the store itself: each
// stored core leaves a tiny marker object `<StoreDir>/_fingerprints/<fingerprint id>/<time>-<key hash>`, and the
// markers sorting before its own are the cores of that fingerprint stored earlier, by any node. On S3 one
// ListObjectsV2 with that prefix counts them (s3:ListBucket on the bucket, s3:PutObject as for the cores); on cfs a
// readdir. `_` cannot start a namespace name, so the prefix never meets a pod's directory.
import { createHash } from "node:crypto";
import { mkdir, readdir, rmdir, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { keyTime } from "./store.js";
import type { Sightings } from "./store-types.js";

export const MARKERS_DIR = "_fingerprints";
/** Markers counted at most (ten ListObjectsV2 pages); beyond, the count is "at least". */
export const MAX_COUNTED = 10_000;

const FINGERPRINT_ID = /^[0-9a-f]{64}$/;

/** `<StoreDir>/_fingerprints/`: the markers of every fingerprint. */
export function markersRoot(storeDir: string): string {
  const dir = storeDir.replace(/^\/+|\/+$/g, "");
  return `${dir ? `${dir}/` : ""}${MARKERS_DIR}/`;
}

export function markerPrefix(storeDir: string, fingerprintId: string): string {
  if (!FINGERPRINT_ID.test(fingerprintId))
    throw new Error(`"${fingerprintId}" is not a fingerprint id (64 hex digits)`);
  return `${markersRoot(storeDir)}${fingerprintId}/`;
}

/** `<time>-<hash of the key>`: sorts by time, and the same core gives the same marker (a retry counts once). */
export function markerName(key: string, at: Date): string {
  return `${keyTime(at)}-${createHash("sha256").update(key).digest("hex").slice(0, 16)}`;
}

const MARKER_NAME = /^(\d{8}T\d{9}Z)-[0-9a-f]{16}$/;

/** Whether `name` is a marker made before `cutoff` (a name that is not a marker never is). */
export function markerBefore(name: string, cutoff: Date): boolean {
  const time = MARKER_NAME.exec(name)?.[1];
  return time !== undefined && time < keyTime(cutoff);
}

export function markerBody(key: string, at: Date): string {
  return `${JSON.stringify({ key, at: at.toISOString() })}\n`;
}

/** Markers (names, any order) that sort before `mine`. */
export function countBefore(names: Iterable<string>, mine: string): number {
  let n = 0;
  for (const name of names) if (name < mine) n++;
  return n;
}

/** cfs: the markers are files below the mounted path. */
export async function cfsSighting(
  root: string,
  storeDir: string,
  fingerprintId: string,
  key: string,
  at: Date,
): Promise<Sightings> {
  const dir = join(root, markerPrefix(storeDir, fingerprintId));
  const mine = markerName(key, at);
  const write = async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, mine), markerBody(key, at), { mode: 0o640 });
  };
  // Retention removes a fingerprint's folder once its markers are gone: make it again if that just happened.
  await write().catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
    return write();
  });
  const names = (await readdir(dir)).filter((n) => !n.includes(".tmp-"));
  const before = countBefore(names, mine);
  return before > MAX_COUNTED ? { before: MAX_COUNTED, atLeast: true } : { before, atLeast: false };
}

/** cfs: deletes the markers made before `cutoff`, and the fingerprint folders that leaves empty. How many went. */
export async function cfsPruneMarkers(
  root: string,
  storeDir: string,
  cutoff: Date,
): Promise<number> {
  const top = join(root, markersRoot(storeDir));
  const gone = (err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  };
  const fingerprints = await readdir(top).catch((err: NodeJS.ErrnoException) => {
    gone(err);
    return [] as string[];
  });
  let deleted = 0;
  for (const id of fingerprints) {
    if (!FINGERPRINT_ID.test(id)) continue;
    const dir = join(top, id);
    const names = await readdir(dir);
    let left = names.length;
    for (const name of names) {
      if (!markerBefore(name, cutoff)) continue;
      await unlink(join(dir, name)).catch(gone);
      deleted++;
      left--;
    }
    // A sighting may be writing into it right now: then it is not empty, and stays.
    if (left === 0)
      await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") gone(err);
      });
  }
  return deleted;
}
