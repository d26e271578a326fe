// The whole pipeline in this process against a real S3 server: report contents, delete only after a verified
// upload (S3 down -> the file stays), gc_type truncate / DeleteLocalCorefile false, journal resume without a second
// announcement, settings reload, disk guard, node state, health and metrics.
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { coreId, type JournalEntry } from "../../../controller/watcher/journal.js";
import { parseNodeState } from "../../../src/node-state.js";
import { startS3, type RigS3 } from "../../rig/s3.js";
import { writeCore } from "./core-fixture.js";
import { makeLayout, settingsYaml, type Layout } from "./harness.js";
import { coreKeys, expectSidecar } from "./stored.js";
import { startInProcess, type InProcess, type TestReporter } from "./in-process.js";

let s3: RigS3;
let bucketN = 0;
const running: InProcess[] = [];
const layouts: Layout[] = [];

beforeAll(async () => {
  s3 = await startS3();
});
afterEach(async () => {
  await s3.mode("ok");
  s3.faults([]);
  for (const r of running.splice(0)) await r.w.stop();
  for (const l of layouts.splice(0)) rmSync(l.root, { recursive: true, force: true });
});
afterAll(async () => {
  await s3?.stop();
});

async function bucket(): Promise<string> {
  const name = `cores-${++bucketN}`;
  await s3.createBucket(name);
  return name;
}

function layout(): Layout {
  const l = makeLayout("cdw-pipe-");
  layouts.push(l);
  return l;
}

async function start(l: Layout, yaml: string, reporter?: TestReporter) {
  const wp = await startInProcess(
    l,
    yaml,
    { backoff: { baseMs: 100, maxMs: 400 }, stopTimeoutMs: 5000 },
    reporter,
  );
  running.push(wp);
  return wp;
}

/** The core objects (not their sidecars). */
async function keys(b: string): Promise<string[]> {
  return coreKeys(s3.client, b);
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function put(l: Layout, rel: string, size: number, comm = "app"): { path: string; sha256: string } {
  const path = join(l.dir, rel);
  mkdirSync(join(path, ".."), { recursive: true });
  writeCore(path, size, { comm, signal: 6 });
  return { path, sha256: sha(readFileSync(path)) };
}

describe("pipeline", () => {
  it("stores, verifies, deletes and reports a core with its details", async () => {
    const l = layout();
    const b = await bucket();
    const wp = await start(l, settingsYaml(s3, b));
    const core = put(l, "shop/api-1/core.app.12.api-1.1764225000", 200_000);
    await wp.waitFor(/deleted local corefile: .*core\.app\.12/);
    expect(existsSync(core.path)).toBe(false);
    await expect.poll(() => wp.reporter.uploads.length, { timeout: 15_000 }).toBe(1);
    expect(wp.reporter.captures).toHaveLength(1);
    const r = wp.reporter.uploads[0]!;
    expect(r).toMatchObject({
      namespace: "shop",
      pod: "api-1",
      filename: "core.app.12.api-1.1764225000",
      node: "node-1",
      size: 200_000,
      sha256: core.sha256,
      bucket: b,
    });
    expect(r.core).toMatchObject({ signal: 6, signalName: "SIGABRT", executable: "app" });
    expect(r.key).toMatch(
      /^corefiles\/shop\/api-1\/\d{8}T\d{9}Z-core\.app\.12\.api-1\.1764225000$/,
    );
    expect(r.url).toContain(encodeURIComponent(r.key!).replace(/%2F/g, "/"));
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: b, Key: r.key! }));
    expect(head.Metadata).toMatchObject({
      namespace: "shop",
      pod: "api-1",
      node: "node-1",
      signal: "6",
      executable: "app",
      "original-size": "200000",
    });
    expect(head.Metadata).not.toHaveProperty("sha256");
    const obj = await s3.client.send(new GetObjectCommand({ Bucket: b, Key: r.key! }));
    expect(sha(await obj.Body!.transformToByteArray())).toBe(core.sha256);
    const doc = await expectSidecar(s3.client, b, r.key!, { sha256: core.sha256, size: 200_000 });
    expect(doc.core.metadata).toEqual(head.Metadata);
    // The guide's texts, in order.
    const order = [
      /received fsnotify event: \/\S*\/shop\/api-1\/core\.app\.12\.api-1\.1764225000, op: CREATE/,
      /capture a file:\/.*core\.app\.12/,
      /resolving pod info/,
      /resolved pod from webhook path: shop\/api-1/,
      /upload started/,
      /upload done/,
      /deleted local corefile/,
    ];
    let at = -1;
    for (const re of order) {
      const i = wp.lines.findIndex((line, n) => n > at && re.test(line));
      expect(i, String(re)).toBeGreaterThan(at);
      at = i;
    }
    const metrics = await (await fetch(`http://${wp.w.address}/metrics`)).text();
    expect(metrics).toMatch(/coredog_watcher_cores_captured_total 1/);
    expect(metrics).toMatch(/coredog_watcher_uploaded_bytes_total 200000/);
    expect(metrics).toMatch(/coredog_watcher_upload_latency_seconds_count 1/);
    expect(metrics).toMatch(/coredog_watcher_queue_depth 0/);
    expect((await fetch(`http://${wp.w.address}/readyz`)).status).toBe(200);
    expect((await fetch(`http://${wp.w.address}/healthz`)).status).toBe(200);
  });

  it("reads each core's crash report before the upload: the fingerprint in the metadata and the sidecar, and the count in the reports", async () => {
    const l = layout();
    const b = await bucket();
    const wp = await start(l, settingsYaml(s3, b));
    put(l, "shop/api-1/core.app.1", 40_000);
    await expect.poll(() => wp.reporter.uploads.length, { timeout: 15_000 }).toBe(1);
    put(l, "shop/api-2/core.app.2", 40_000);
    await expect.poll(() => wp.reporter.uploads.length, { timeout: 15_000 }).toBe(2);
    const [first, second] = wp.reporter.uploads;
    expect(first!.report?.schemaVersion).toBe(1);
    const fp = first!.report!.fingerprint;
    // the same synthetic program and signal: one fingerprint, counted across pods
    expect(second!.report!.fingerprint.id).toBe(fp.id);
    expect([first!.seenBefore, second!.seenBefore]).toEqual([0, 1]);
    expect(wp.reporter.captures[0]!.report?.fingerprint.id).toBe(fp.id);
    for (const r of [first!, second!]) {
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: b, Key: r.key! }));
      expect(head.Metadata?.fingerprint).toBe(fp.id);
      const side = await s3.client.send(
        new GetObjectCommand({ Bucket: b, Key: `${r.key!}.report.json` }),
      );
      const doc = JSON.parse(await side.Body!.transformToString()) as {
        crash: { fingerprint: { id: string } };
      };
      expect(doc.crash.fingerprint.id).toBe(fp.id);
    }
    expect(wp.count(new RegExp(`crash report: SIGABRT .*\\[fp ${fp.short}\\]`))).toBe(2);
    expect(wp.count(new RegExp(`fingerprint ${fp.short}: seen once before`))).toBe(1);
    const metrics = await (await fetch(`http://${wp.w.address}/metrics`)).text();
    // the synthetic cores hold no memory or mapped files: their reports say what they could not read
    expect(metrics).toMatch(/coredog_watcher_crash_reports_total\{result="incomplete"\} 2/);
  });

  it("deletes nothing while S3 is down, retries with backoff, and stores everything once it is back", async () => {
    const l = layout();
    const b = await bucket();
    await s3.mode("refuse");
    const wp = await start(l, settingsYaml(s3, b));
    const cores = [0, 1, 2].map((i) => put(l, `shop/api-${i}/core.app.${i}`, 50_000 + i));
    await wp.waitFor(/error: upload of .* failed \(attempt 3/);
    for (const c of cores) expect(existsSync(c.path)).toBe(true);
    expect(wp.count(/deleted local corefile/)).toBe(0);
    await expect.poll(() => wp.reporter.failures.length).toBeGreaterThanOrEqual(1);
    expect(wp.reporter.uploads).toHaveLength(0);
    await s3.mode("ok");
    await expect.poll(() => wp.count(/deleted local corefile/), { timeout: 15_000 }).toBe(3);
    expect(await keys(b)).toHaveLength(3);
    // each core is reported right after its deletion is logged
    await expect.poll(() => wp.reporter.uploads.length, { timeout: 15_000 }).toBe(3);
    const metrics = await (await fetch(`http://${wp.w.address}/metrics`)).text();
    expect(metrics).toMatch(/coredog_watcher_failures_total\{stage="upload"\} [1-9]/);
  });

  it("keeps the core while what the store holds is not verified (object size, sidecar lost, sidecar's sha256), stores it once it is", async () => {
    const l = layout();
    const b = await bucket();
    const sidecars = /\.report\.json$/;
    const faults = [
      [
        { method: "HEAD", key: /core\.kept$/, action: "size", size: (n: number) => n + 1 },
        /core\.kept failed \(attempt \d+, verify\): stored object is \d+ bytes, \d+ were sent/,
      ],
      [
        { method: "PUT", key: sidecars, action: "lose" },
        /core\.kept failed \(attempt \d+, verify\): the sidecar \S+ is not in the store after it was written/,
      ],
      [
        {
          method: "GET",
          key: sidecars,
          action: "rewrite",
          rewrite: (x: Buffer) =>
            Buffer.from(x.toString().replace(/"sha256": "[0-9a-f]/, '"sha256": "x')),
        },
        /core\.kept failed \(attempt \d+, verify\): the sidecar \S+ does not read back/,
      ],
    ] as const;
    const wp = await start(l, settingsYaml(s3, b));
    const core = put(l, "shop/api-1/core.kept", 9 * 1024 * 1024 + 3);
    for (const [fault, failure] of faults) {
      s3.faults([fault]);
      await wp.waitFor(failure, 20_000);
      expect(existsSync(core.path)).toBe(true);
      expect(wp.count(/deleted local corefile/)).toBe(0);
      const entry = JSON.parse(
        readFileSync(join(l.journal, "cores", `${coreId(statSync(core.path))}.json`), "utf8"),
      ) as JournalEntry;
      expect(entry.state).toBe("captured");
    }
    s3.faults([]);
    await wp.waitFor(/deleted local corefile: .*core\.kept/, 15_000);
    expect(existsSync(core.path)).toBe(false);
    const [key] = await keys(b);
    await expectSidecar(s3.client, b, key!, { sha256: core.sha256, size: 9 * 1024 * 1024 + 3 });
    const metrics = await (await fetch(`http://${wp.w.address}/metrics`)).text();
    expect(metrics).toMatch(/coredog_watcher_failures_total\{stage="verify"\} [3-9]/);
  });

  it("truncates with gc_type truncate, and keeps the file (uploaded once) with DeleteLocalCorefile false", async () => {
    const l = layout();
    const b = await bucket();
    const wp = await start(l, settingsYaml(s3, b, { gcType: "truncate" }));
    const t = put(l, "ns/p1/core.t", 30_000);
    await wp.waitFor(/deleted local corefile: .*core\.t \(truncated\)/);
    expect(statSync(t.path).size).toBe(0);
    writeFileSync(l.config, settingsYaml(s3, b, { delete: "false" }));
    await wp.waitFor(/settings reloaded/);
    const k = put(l, "ns/p1/core.keep", 30_000);
    await expect.poll(() => wp.reporter.uploads.length, { timeout: 15_000 }).toBe(2);
    await wp.w.maintain();
    await wp.w.maintain();
    await new Promise((r) => setTimeout(r, 800));
    expect(existsSync(k.path)).toBe(true);
    expect(wp.count(/upload started: .*core\.keep/)).toBe(1);
    expect(await keys(b)).toHaveLength(2);
  });

  it("resumes from the journal: an uploaded-but-not-deleted core is deleted and reported once, without re-upload", async () => {
    const l = layout();
    const b = await bucket();
    // A finished core from a first run...
    const first = await start(l, settingsYaml(s3, b));
    put(l, "ns/p/core.first", 10_000);
    await expect.poll(() => first.reporter.uploads.length, { timeout: 15_000 }).toBe(1);
    await first.w.stop();
    running.splice(running.indexOf(first), 1);
    // ... and one the first run uploaded, then died before deleting (journal state "uploaded").
    const c = put(l, "ns/p/core.half", 10_000);
    const st = statSync(c.path);
    const id = coreId(st);
    const entry: JournalEntry = {
      id,
      path: c.path,
      namespace: "ns",
      pod: "p",
      file: "core.half",
      size: st.size,
      mtimeMs: st.mtimeMs,
      state: "uploaded",
      capturedAt: new Date().toISOString(),
      announcedCaptured: true,
      attempts: 0,
      key: "corefiles/ns/p/earlier-core.half",
      sha256: c.sha256,
      report: {
        path: c.path,
        filename: "core.half",
        node: "node-1",
        namespace: "ns",
        pod: "p",
        size: st.size,
        core: { threads: 0 },
        capturedAt: new Date().toISOString(),
        key: "corefiles/ns/p/earlier-core.half",
      },
      updatedAt: "",
    };
    writeFileSync(join(l.journal, "cores", `${id}.json`), JSON.stringify(entry));
    const second = await start(l, settingsYaml(s3, b));
    await second.waitFor(/deleted local corefile: .*core\.half/);
    await expect.poll(() => second.reporter.uploads.length, { timeout: 15_000 }).toBe(1);
    expect(second.reporter.uploads[0]!.key).toBe("corefiles/ns/p/earlier-core.half");
    expect(second.reporter.captures).toHaveLength(0);
    expect(second.count(/upload started/)).toBe(0);
    expect(await keys(b)).toHaveLength(1);
    // The journal keeps nothing for files that are gone and reported.
    await second.w.maintain();
    expect(readdirSync(join(l.journal, "cores"))).toEqual([]);
  });

  it("reloads settings; a bad change is an error naming the key and the last good settings stay", async () => {
    const l = layout();
    const b = await bucket();
    const wp = await start(l, settingsYaml(s3, b));
    writeFileSync(
      l.config,
      settingsYaml(s3, b, { watcher: "  maxParallelUploads: lots\n" }).replace(
        "  maxParallelUploads: 4\n",
        "",
      ),
    );
    const err = await wp.waitFor(/settings error/);
    expect(err).toMatch(/level=error/);
    expect(err).toMatch(/Watcher\.maxParallelUploads/);
    expect(err).toMatch(/keeping the last good settings/);
    expect(wp.w.settings.error).toMatch(/maxParallelUploads/);
    put(l, "ns/p/core.still", 5_000);
    await wp.waitFor(/deleted local corefile: .*core\.still/);
    await expect
      .poll(
        () => {
          const f = join(l.journal, "node-state.json");
          return existsSync(f) ? parseNodeState(readFileSync(f, "utf8"))?.settingsError : undefined;
        },
        { timeout: 10_000 },
      )
      .toMatch(/maxParallelUploads/);
    writeFileSync(l.config, settingsYaml(s3, b));
    await wp.waitFor(/settings reloaded/);
    expect(wp.w.settings.error).toBeUndefined();
  });

  it("the disk guard alerts above the limit and deletes the oldest already-uploaded files", async () => {
    const l = layout();
    const b = await bucket();
    const wp = await start(
      l,
      settingsYaml(s3, b, {
        delete: "false",
        rescan: "600",
        watcher: "  diskLimit: 100000\n  diskGuardDeleteUploaded: true\n",
      }),
    );
    const a = put(l, "ns/p/core.a", 60_000);
    utimesSync(a.path, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const bb = put(l, "ns/p/core.b", 60_000);
    await expect.poll(() => wp.reporter.uploads.length, { timeout: 10_000 }).toBe(2);
    await wp.w.maintain();
    expect(wp.reporter.alerts[0]).toMatch(/120000 bytes .* above the limit of 100000/);
    expect(wp.lines.some((x) => /level=error.*disk guard error/.test(x))).toBe(true);
    expect(existsSync(a.path)).toBe(false);
    expect(existsSync(bb.path)).toBe(true);
    expect(wp.count(/deleted local corefile: .*core\.a \(disk guard/)).toBe(1);
  });
});
