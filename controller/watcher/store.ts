// Streams one core from its descriptor to storage (S3-compatible multipart in ./s3-store.ts, or a copy to a mounted
// path for cfs), hashing and counting while it streams, optionally compressing, then verifies what was stored.
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { hashDescriptor, streamCore, VerifyError, type Tally } from "./core-stream.js";
import { cfsSighting } from "./fingerprint-markers.js";
import { parseSidecar, sidecarDocument, sidecarKey, sidecarText } from "../../src/core-sidecar.js";
import type { Compression, StorageSettings, Store } from "./store-types.js";
import { storedObject, streamedCore } from "./stored-core.js";

export function compressionSuffix(c: Compression): string {
  return c === "zstd" ? ".zst" : c === "gzip" ? ".gz" : "";
}

/** `20261127T063500123Z`: sortable and safe in keys and file names. */
export function keyTime(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(".", "");
}

/**
 * `<StoreDir>/<namespace>/<pod>/<container>/<time>-<file>[.zst|.gz]`; without the container for a core found in
 * the pod's directory; `<StoreDir>/_unknown/<time>-<file>` without a pod.
 */
export function objectKey(
  storeDir: string,
  where: { namespace?: string; pod?: string; container?: string },
  file: string,
  at: Date,
  compression: Compression,
): string {
  const prefix = storeDir.replace(/^\/+|\/+$/g, "");
  const podPart = where.namespace && where.pod ? `${where.namespace}/${where.pod}` : "_unknown";
  // Containers of one pod have separate pid namespaces: two can leave the same file name in the same second.
  const name = `${keyTime(at)}-${file}${compressionSuffix(compression)}`;
  return [prefix, podPart, where.container ?? "", name].filter((s) => s !== "").join("/");
}

/** S3 metadata values travel as HTTP headers: printable ASCII only, bounded length. */
export function metadataValue(v: string): string {
  const ascii = /^[\x20-\x7e]*$/.test(v) ? v : encodeURIComponent(v);
  return ascii.slice(0, 256);
}

/**
 * An S3 store that loads the AWS SDK (./s3-store.ts) with its first upload: a node without cores never loads it
 * (measured ~20 MiB less idle RSS for the watcher on every node).
 */
export function createLazyS3Store(s: StorageSettings): Store {
  if (!s.bucket) throw new Error("StorageConfig.S3Bucket is not set");
  let store: Promise<Store> | undefined;
  return {
    describe: () => `s3 bucket ${s.bucket}${s.endpoint ? ` at ${s.endpoint}` : ""}`,
    async put(input) {
      store ??= import("./s3-store.js").then((m) => m.createS3Store(s, m.createS3Client(s)));
      return (await store).put(input);
    },
    async sighting(id, key, at) {
      store ??= import("./s3-store.js").then((m) => m.createS3Store(s, m.createS3Client(s)));
      const loaded = await store;
      if (!loaded.sighting) throw new Error("this store keeps no fingerprint markers");
      return loaded.sighting(id, key, at);
    },
  };
}

/**
 * cfs: a copy below a mounted path, written to a temporary name, fsynced and renamed, then re-read and hashed; then
 * the sidecar document beside it (`<copy>.report.json`, as in S3), read back and checked.
 */
export function createCfsStore(s: StorageSettings): Store {
  const root = s.cfsPath;
  if (!root) throw new Error("StorageConfig.cfsPath is not set (protocol cfs)");
  return {
    describe: () => `cfs ${root}`,
    async put(input) {
      const dest = join(root, input.key);
      await mkdir(dirname(dest), { recursive: true });
      const tmp = `${dest}.tmp-${randomBytes(6).toString("hex")}`;
      const out = await open(tmp, "wx", 0o640);
      let result: { original: Tally; stored: Tally };
      try {
        // flush: fsync before the stream closes the descriptor.
        result = await streamCore(input, s.compression, out.createWriteStream({ flush: true }), {
          original: { sha256: true, md5: !!input.md5 },
          stored: { sha256: true },
        });
      } catch (err) {
        await out.close().catch(() => undefined);
        await unlink(tmp).catch(() => undefined);
        throw err;
      }
      const { original, stored } = result;
      const storedSha = stored.digests().sha256;
      if (original.bytes !== input.size) {
        await unlink(tmp).catch(() => undefined);
        throw new VerifyError(`read ${original.bytes} bytes of the core, expected ${input.size}`);
      }
      const meta = { ...input.metadata, "original-size": String(input.size) };
      await writeAtomic(`${dest}.meta.json`, JSON.stringify(meta, null, 2));
      await rename(tmp, dest);
      const check = await open(dest, "r");
      try {
        const again = await hashDescriptor(check);
        if (again.size !== stored.bytes || again.sha256 !== storedSha) {
          throw new VerifyError(`the copy at ${dest} does not read back as written`);
        }
      } finally {
        await check.close();
      }
      const core = streamedCore(result, {
        key: input.key,
        compression: s.compression,
        metadata: meta,
      });
      const sidecar = sidecarText(sidecarDocument(core, input.report, input.crashError));
      const sidecarPath = join(root, sidecarKey(input.key));
      await writeAtomic(sidecarPath, sidecar);
      const back = await readFile(sidecarPath, "utf8");
      if (back !== sidecar || parseSidecar(back).core.sha256 !== core.sha256) {
        throw new VerifyError(`the sidecar ${sidecarPath} does not read back as written`);
      }
      return storedObject(core, {
        url: `file://${dest}`,
        location: dest,
        sidecarKey: sidecarKey(input.key),
      });
    },
    sighting: (id, key, at) => cfsSighting(root, s.storeDir, id, key, at),
  };
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${randomBytes(6).toString("hex")}`;
  const fh = await open(tmp, "w", 0o640);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
