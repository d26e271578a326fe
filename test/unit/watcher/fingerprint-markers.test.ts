// How often a fingerprint was seen, cluster-wide: a marker per stored core under `_fingerprints/<id>/`, the
// earlier ones counted by ListObjectsV2 (S3, also a strict S3-compatible store) or readdir (cfs). And the crash
// report stored beside the core, read back equal.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCrashReport } from "../../../controller/watcher/crash-report-file.js";
import {
  countBefore,
  markerName,
  markerPrefix,
} from "../../../controller/watcher/fingerprint-markers.js";
import { createS3Client, createS3Store } from "../../../controller/watcher/s3-store.js";
import { noteSighting } from "../../../controller/watcher/sightings.js";
import { createStorageAdmin } from "../../../controller/watcher/storage-admin.js";
import { createCfsStore, createLazyS3Store } from "../../../controller/watcher/store.js";
import type { StorageSettings, Store } from "../../../controller/watcher/store-types.js";
import { startS3, type RigS3 } from "../../rig/s3.js";
import { s3Storage, strictS3Storage } from "./harness.js";
import { capturingLogger, coreReport } from "../notify/fixtures.js";
import { writeCore } from "./core-fixture.js";

const A = "a".repeat(64);
const B = "b".repeat(64);
let s3: RigS3;
let strict: RigS3;
let tmp: string;

beforeAll(async () => {
  s3 = await startS3();
  await s3.createBucket("cores");
  strict = await startS3({ strict: ["virtual-hosted-only", "no-flexible-checksums"] });
  await strict.createBucket("oss");
  tmp = mkdtempSync(join(tmpdir(), "cdw-markers-"));
});
afterAll(async () => {
  await s3?.stop();
  await strict?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const storage = (over: Partial<StorageSettings> = {}) => s3Storage(s3, over);

const t = (s: number) => new Date(Date.UTC(2026, 11, 4, 17, 0, s));

const s3Put = (server: RigS3, bucket: string, key: string) =>
  server.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "{}" }));

/** The same sequence on any store: first is new, a later core counts the earlier, a retry counts once. */
async function sequence(store: Store) {
  const one = await store.sighting!(A, "corefiles/shop/a/1-core", t(1));
  const two = await store.sighting!(A, "corefiles/shop/b/2-core", t(2));
  const three = await store.sighting!(A, "corefiles/other/c/3-core", t(3));
  const again = await store.sighting!(A, "corefiles/shop/b/2-core", t(2));
  const other = await store.sighting!(B, "corefiles/shop/a/4-core", t(4));
  expect([one, two, three, again, other]).toEqual([
    { before: 0, atLeast: false },
    { before: 1, atLeast: false },
    { before: 2, atLeast: false },
    { before: 1, atLeast: false },
    { before: 0, atLeast: false },
  ]);
}

describe("fingerprint markers", () => {
  it("are named by time and key under <StoreDir>/_fingerprints/<id>/, and only fingerprint ids make a prefix", () => {
    expect(markerPrefix("corefiles", A)).toBe(`corefiles/_fingerprints/${A}/`);
    expect(markerPrefix("", A)).toBe(`_fingerprints/${A}/`);
    expect(() => markerPrefix("corefiles", "../../etc")).toThrow(/not a fingerprint id/);
    const m = markerName("corefiles/shop/a/1-core", t(1));
    expect(m).toMatch(/^20261204T170001000Z-[0-9a-f]{16}$/);
    expect(markerName("corefiles/shop/a/1-core", t(1))).toBe(m);
    expect(countBefore([m, markerName("x", t(0)), markerName("y", t(9))], m)).toBe(1);
  });

  it("count earlier cores of a fingerprint across keys on S3 (ListObjectsV2)", async () => {
    const st = storage();
    await sequence(createS3Store(st, createS3Client(st)));
    const listed = await s3.client.send(
      new ListObjectsV2Command({ Bucket: "cores", Prefix: `corefiles/_fingerprints/${A}/` }),
    );
    expect(listed.Contents).toHaveLength(3);
  });

  it("work on a strict S3-compatible store (virtual-hosted only, no flexible checksums), through the lazy store", async () => {
    const st = strictS3Storage(strict);
    const before = strict.requests.length;
    await sequence(createLazyS3Store(st));
    const sent = strict.requests.slice(before);
    expect(sent.some((r) => r.method === "PUT" && r.url.includes("/_fingerprints/"))).toBe(true);
    expect(sent.some((r) => r.method === "GET" && r.url.includes("list-type=2"))).toBe(true);
  });

  it("count on cfs with files below the mounted path", async () => {
    const root = join(tmp, "cfs");
    await sequence(createCfsStore(storage({ protocol: "cfs", cfsPath: root })));
    expect(readdirSync(join(root, "corefiles/_fingerprints", A))).toHaveLength(3);
  });

  it("older than a cutoff are deleted by retention on cfs, with the folders left empty; a later sighting makes its folder again", async () => {
    const root = join(tmp, "cfs-prune");
    const st = storage({ protocol: "cfs", cfsPath: root });
    const store = createCfsStore(st);
    await store.sighting!(A, "corefiles/shop/a/1-core", t(1));
    await store.sighting!(A, "corefiles/shop/a/2-core", t(2));
    await store.sighting!(A, "corefiles/shop/a/3-core", t(3));
    await store.sighting!(B, "corefiles/shop/b/1-core", t(1));
    const dirA = join(root, "corefiles/_fingerprints", A);
    writeFileSync(join(dirA, "notes.txt"), "not a marker, so never deleted\n");
    const admin = createStorageAdmin(st);
    expect(await admin.pruneMarkers(t(2))).toBe(2);
    expect(readdirSync(dirA).sort()).toEqual(
      [
        markerName("corefiles/shop/a/2-core", t(2)),
        markerName("corefiles/shop/a/3-core", t(3)),
        "notes.txt",
      ].sort(),
    );
    expect(existsSync(join(root, "corefiles/_fingerprints", B))).toBe(false);
    expect(await store.sighting!(B, "corefiles/shop/b/9-core", t(9))).toEqual({
      before: 0,
      atLeast: false,
    });
    expect(await admin.pruneMarkers(t(2))).toBe(0);
    expect(
      await createStorageAdmin(
        storage({ protocol: "cfs", cfsPath: join(tmp, "empty") }),
      ).pruneMarkers(t(2)),
    ).toBe(0);
  });

  it("older than a cutoff are deleted by retention on a strict S3-compatible store, page after page, nothing else (and counted across pages)", async () => {
    const st = strictS3Storage(strict, { storeDir: "pruned" });
    const store = createLazyS3Store(st);
    // More than one ListObjectsV2 page (1000 keys) of old markers.
    const old = Array.from({ length: 1005 }, (_, i) => markerName(`pruned/shop/a/${i}-core`, t(1)));
    for (let i = 0; i < old.length; i += 50)
      await Promise.all(
        old
          .slice(i, i + 50)
          .map((name) => s3Put(strict, "oss", `pruned/_fingerprints/${A}/${name}`)),
      );
    // Counted across the pages too.
    expect(await store.sighting!(A, "pruned/shop/a/new-core", t(5))).toEqual({
      before: 1005,
      atLeast: false,
    });
    await s3Put(strict, "oss", `pruned/_fingerprints/${A}/notes.txt`);
    await s3Put(strict, "oss", `pruned/shop/a/${old[0]}`);
    expect(await createStorageAdmin(st).pruneMarkers(t(3))).toBe(1005);
    const left = await strict.client.send(
      new ListObjectsV2Command({ Bucket: "oss", Prefix: "pruned/" }),
    );
    expect(left.Contents!.map((o) => o.Key).sort()).toEqual(
      [
        `pruned/_fingerprints/${A}/${markerName("pruned/shop/a/new-core", t(5))}`,
        `pruned/_fingerprints/${A}/notes.txt`,
        `pruned/shop/a/${old[0]}`,
      ].sort(),
    );
  });

  it("leave the count unknown, and say why, when the store refuses", async () => {
    const st = storage();
    const store = createS3Store(st, createS3Client(st));
    const path = join(tmp, "core.refused");
    writeCore(path, 20_000, { comm: "refused" });
    const fh = await open(path);
    const report = coreReport({ report: await readCrashReport(fh, 20_000) });
    await fh.close();
    const { log, lines } = capturingLogger();
    await s3.mode("refuse");
    try {
      await noteSighting(store, report, "corefiles/shop/x/1-core", t(5), log);
    } finally {
      await s3.mode("ok");
    }
    expect(report.seenBefore).toBeUndefined();
    expect(lines.join("")).toMatch(
      /fingerprint [0-9a-f]{12}: how often it was seen is unknown \(error: .+\); check that the watcher may list the bucket/,
    );
    await noteSighting(store, report, "corefiles/shop/x/1-core", t(5), log);
    expect(report.seenBefore).toBe(0);
    expect(lines.join("")).toMatch(/fingerprint [0-9a-f]{12}: new/);
  });
});

describe("the crash report beside the core", () => {
  it("is <key>.report.json, the report the watcher read, with the core's sha256; the fingerprint is in the metadata", async () => {
    const st = storage();
    const path = join(tmp, "core.sidecar");
    writeCore(path, 300_000, { comm: "sidecar", signal: 6 });
    const fh = await open(path);
    try {
      const report = await readCrashReport(fh, 300_000);
      expect(report).toBeDefined();
      const key = "corefiles/shop/p/20261204T170000000Z-core.sidecar";
      const obj = await createS3Store(st, createS3Client(st)).put({
        fh,
        size: 300_000,
        key,
        metadata: { fingerprint: report!.fingerprint.id },
        report,
      });
      const side = await s3.client.send(
        new GetObjectCommand({ Bucket: "cores", Key: `${key}.report.json` }),
      );
      expect(side.ContentType).toBe("application/json");
      const doc = JSON.parse(await side.Body!.transformToString()) as {
        schemaVersion: number;
        core: { key: string; sha256: string; size: number };
        crash: unknown;
      };
      expect(doc.schemaVersion).toBe(1);
      expect(doc.core).toMatchObject({ key, sha256: obj.sha256, size: 300_000 });
      expect(doc.crash).toEqual(JSON.parse(JSON.stringify(report)));
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: "cores", Key: key }));
      expect(head.Metadata?.fingerprint).toBe(report!.fingerprint.id);
    } finally {
      await fh.close();
    }
  });
});
