// The limits in the running watcher (in this process, real files, the rig's S3): the rate per crash with its one
// notice per window, counts that survive a restart, maxCoreSize, and MaxUse with storage down (the first core of a
// crash kept and stored once storage is back).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseNodeState } from "../../../src/node-state.js";
import { isCoreKey, startS3, type RigS3 } from "../../rig/s3.js";
import { writeCore } from "./core-fixture.js";
import { makeLayout, settingsYaml, type Layout } from "./harness.js";
import { startInProcess, type InProcess } from "./in-process.js";

let s3: RigS3;
let bucketN = 0;
const running: InProcess[] = [];
const layouts: Layout[] = [];
const MiB = 1024 * 1024;

beforeAll(async () => {
  s3 = await startS3();
});
afterEach(async () => {
  await s3.mode("ok");
  for (const r of running.splice(0)) await r.w.stop();
  for (const l of layouts.splice(0)) rmSync(l.root, { recursive: true, force: true });
});
afterAll(async () => {
  await s3?.stop();
});

async function setup(limits: string, watcher = "") {
  const b = `limits-${++bucketN}`;
  await s3.createBucket(b);
  const l = makeLayout("cdw-limits-");
  layouts.push(l);
  const yaml = `${settingsYaml(s3, b, { quiet: "0.2", rescan: "30", parallel: "2", watcher })}Limits:\n${limits}`;
  return { b, l, yaml };
}

async function start(l: Layout, yaml: string) {
  const wp = await startInProcess(l, yaml, {
    backoff: { baseMs: 100, maxMs: 300 },
    stopTimeoutMs: 3000,
    limitsIntervalMs: 100,
  });
  running.push(wp);
  return wp;
}

async function keys(b: string): Promise<string[]> {
  const r = await s3.client.send(new ListObjectsV2Command({ Bucket: b }));
  return (r.Contents ?? [])
    .map((o) => o.Key!)
    .filter(isCoreKey)
    .sort();
}

function put(l: Layout, rel: string, size: number, comm = "app", signal = 6): string {
  const path = join(l.dir, rel);
  mkdirSync(join(path, ".."), { recursive: true });
  writeCore(path, size, { comm, signal });
  return path;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function metrics(wp: InProcess): Promise<string> {
  return (await fetch(`http://${wp.w.address}/metrics`)).text();
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name);
    if (e.isFile() && !p.includes("/.coredog/")) n += statSync(p).size;
  }
  return n;
}

describe("limits in the watcher", () => {
  it("stores N cores of a crash per window, counts and deletes the rest, says so once per window; another crash passes", async () => {
    const { b, l, yaml } = await setup("  perFingerprint: { max: 2, window: 10s }\n");
    const wp = await start(l, yaml);
    const paths: string[] = [];
    for (let i = 0; i < 5; i++) {
      paths.push(put(l, `shop/api-1/app/core.app.${100 + i}`, 64 * 1024));
      await wp.waitFor(new RegExp(`core\\.app\\.${100 + i}`));
      await new Promise((r) => setTimeout(r, 350));
    }
    await until("2 stored, 3 skipped", () => wp.count(/core skipped \(limit rate\)/) === 3);
    expect(await metrics(wp)).toMatch(/coredog_watcher_limit_active\{limit="rate"\} 1/);
    await until("uploads", async () => (await keys(b)).length === 2);
    expect(wp.count(/limit reached: crash of app/)).toBe(1);
    await until("skipped files deleted", () => paths.filter((p) => existsSync(p)).length === 0);
    // a different crash during the storm is stored at once
    put(l, "shop/api-1/app/core.other.200", 64 * 1024, "other", 11);
    await until("other stored", async () => (await keys(b)).some((k) => k.includes("core.other")));
    await until(
      "3 uploads counted and reported",
      async () =>
        /coredog_watcher_cores_uploaded_total 3/.test(await metrics(wp)) &&
        wp.reporter.uploads.length === 3,
    );
    const m = await metrics(wp);
    expect(m).toMatch(/coredog_watcher_cores_skipped_total\{reason="rate"\} 3/);
    expect(m).toMatch(/coredog_watcher_cores_uploaded_total 3/);
    expect(wp.reporter.uploads).toHaveLength(3);
    expect(wp.reporter.captures).toHaveLength(3); // skipped cores make no CoreDumpCaptured Event
    // the window ends: one notice and one Event with the count
    await until(
      "window announced",
      () => wp.reporter.limits.some((x) => x.kind === "skipped"),
      20_000,
    );
    const skipped = wp.reporter.limits.filter((x) => x.kind === "skipped");
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ notice: true, report: { namespace: "shop", pod: "api-1" } });
    expect(skipped[0]!.message).toMatch(
      /^3 core dump\(s\) of crash of app .* skipped from .* \(Limits\.perFingerprint: 2 per 10s; 2 stored\)/,
    );
    const state = parseNodeState(readFileSync(join(l.journal, "node-state.json"), "utf8"));
    expect(state?.limits?.maxUseBytes).toBe(10 * 1024 ** 3);
  });

  it("keeps the window's counts across a restart", async () => {
    const { b, l, yaml } = await setup("  perFingerprint: { max: 1, window: 1h }\n");
    let wp = await start(l, yaml);
    put(l, "shop/api-1/app/core.app.1", 32 * 1024);
    await until("first stored", async () => (await keys(b)).length === 1);
    await wp.w.stop();
    running.splice(running.indexOf(wp), 1);
    wp = await start(l, yaml);
    const second = put(l, "shop/api-1/app/core.app.2", 32 * 1024);
    await wp.waitFor(/core skipped \(limit rate\): .*core\.app\.2/);
    await until("deleted", () => !existsSync(second));
    expect(await keys(b)).toHaveLength(1);
  });

  it("reports a core over maxCoreSize and does not upload it", async () => {
    const { b, l, yaml } = await setup("  maxCoreSize: 100Ki\n");
    const wp = await start(l, yaml);
    const big = put(l, "shop/api-1/app/core.app.9", 300 * 1024);
    await wp.waitFor(/core skipped \(limit maxCoreSize\)/);
    // The log line comes first, then the deletion.
    await until("deleted", () => !existsSync(big));
    expect(await keys(b)).toEqual([]);
    const r = wp.reporter.limits.find((x) => x.kind === "too-large")!;
    expect(r.notice).toBe(true);
    expect(r.message).toMatch(
      /^Core dump core\.app\.9 not uploaded: 300 KiB is over Limits\.maxCoreSize \(100 KiB\)/,
    );
    expect(await metrics(wp)).toMatch(/coredog_watcher_cores_skipped_total\{reason="size"\} 1/);
  });

  it("storage down: MaxUse holds, later cores of the crash go first, the first is kept and stored when storage returns", async () => {
    const { b, l, yaml } = await setup(
      "  perFingerprint: { max: 5, window: 1h }\n  maxUse: 3500Ki\n  keepFree: off\n",
    );
    await s3.mode("refuse");
    const wp = await start(l, yaml);
    const first = put(l, "shop/api-1/app/core.app.1", MiB);
    await wp.waitFor(/upload of .*core\.app\.1 failed/);
    let peak = 0;
    for (let i = 2; i <= 6; i++) {
      put(l, `shop/api-1/app/core.app.${i}`, MiB);
      // one core at a time: the watcher has taken the last before the next is written
      await wp.waitFor(new RegExp(`capture a file:.*core\\.app\\.${i - 1}`), 30_000);
      const end = Date.now() + 700;
      while (Date.now() < end) {
        peak = Math.max(peak, dirBytes(l.dir));
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    await until("deletions", () => wp.count(/deleted local corefile: .*limit MaxUse/) >= 2);
    expect(existsSync(first)).toBe(true);
    expect(dirBytes(l.dir)).toBeLessThanOrEqual(3500 * 1024);
    // three 1 MiB cores plus one being written can pass 3500 KiB: the watcher keeps room for the next core
    expect(peak).toBeLessThanOrEqual(3500 * 1024);
    const deletions = wp.reporter.limits.filter((x) => x.kind === "deleted");
    expect(deletions.length).toBeGreaterThanOrEqual(2);
    expect(deletions.every((d) => !d.message.includes("core.app.1 "))).toBe(true);
    expect(deletions[0]!.message).toMatch(/a later core of a crash whose first core is kept/);
    expect(await metrics(wp)).toMatch(
      /coredog_watcher_cores_deleted_total\{limit="max_use"\} [1-9]/,
    );
    await s3.mode("ok");
    await until("first stored", async () => (await keys(b)).some((k) => k.endsWith("core.app.1")));
    await until("first deleted after upload", () => !existsSync(first));
  });
});
