// How often a fingerprint was seen, cluster-wide, with no new API and no shared state but the store itself: each
// stored core leaves a tiny marker object `<StoreDir>/_fingerprints/<fingerprint id>/<time>-<key hash>`, and the
// markers sorting before its own are the cores of that fingerprint stored earlier, by any node. On S3 one
// ListObjectsV2 with that prefix counts them (s3:ListBucket on the bucket, s3:PutObject as for the cores); on cfs a
// readdir. `_` cannot start a namespace name, so the prefix never meets a pod's directory.
import { createHash } from "node:crypto";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { keyTime } from "./store.js";
import type { Sightings } from "./store-types.js";

export const MARKERS_DIR = "_fingerprints";
/** Markers counted at most (ten ListObjectsV2 pages); beyond, the count is "at least". */
export const MAX_COUNTED = 10_000;

const FINGERPRINT_ID = /^[0-9a-f]{64}$/;

export function markerPrefix(storeDir: string, fingerprintId: string): string {
  if (!FINGERPRINT_ID.test(fingerprintId))
    throw new Error(`"${fingerprintId}" is not a fingerprint id (64 hex digits)`);
  const dir = storeDir.replace(/^\/+|\/+$/g, "");
  return `${dir ? `${dir}/` : ""}${MARKERS_DIR}/${fingerprintId}/`;
}

/** `<time>-<hash of the key>`: sorts by time, and the same core gives the same marker (a retry counts once). */
export function markerName(key: string, at: Date): string {
  return `${keyTime(at)}-${createHash("sha256").update(key).digest("hex").slice(0, 16)}`;
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
  await mkdir(dir, { recursive: true });
  const mine = markerName(key, at);
  await writeFile(join(dir, mine), markerBody(key, at), { mode: 0o640 });
  const names = (await readdir(dir)).filter((n) => !n.includes(".tmp-"));
  const before = countBefore(names, mine);
  return before > MAX_COUNTED ? { before: MAX_COUNTED, atLeast: true } : { before, atLeast: false };
}
