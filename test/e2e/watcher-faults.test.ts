// Faults against the real watcher program (a process): SIGKILLed at random moments during 50 uploads, S3 away for a
// while, a chat receiver that hangs. Nothing is lost, nothing is deleted before its verified upload, nothing is
// announced twice, and storage is never held up by notices.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3, type RigS3 } from "../rig/s3.js";
import { coreBlock, writeCore } from "../unit/watcher/core-fixture.js";
import {
  bundleWatcher,
  makeLayout,
  settingsYaml,
  startWatcherProc,
  type Layout,
  type WatcherProc,
} from "../unit/watcher/harness.js";
import { coreKeys, expectSidecar } from "../unit/watcher/stored.js";

let s3: RigS3;
let bundle: string;
const layouts: Layout[] = [];
const procs: WatcherProc[] = [];

interface Receiver {
  url: string;
  bodies: string[];
  mode: "ok" | "hang";
  server: Server;
}

async function receiver(): Promise<Receiver> {
  const r: Receiver = { url: "", bodies: [], mode: "ok", server: createServer() };
  r.server.on("request", (req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      r.bodies.push(body);
      if (r.mode === "hang") return; // never answers
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((ok) => r.server.listen(0, "127.0.0.1", ok));
  r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hook`;
  return r;
}

function notice(url: string): string {
  return `NoticeChannel:\n  - chan: webhook\n    webhookurl: ${url}\n`;
}

beforeAll(async () => {
  s3 = await startS3();
  bundle = await bundleWatcher();
});
afterAll(async () => {
  for (const p of procs) await p.stop("SIGKILL");
  await s3?.stop();
  for (const l of layouts) rmSync(l.root, { recursive: true, force: true });
  rmSync(bundle, { force: true });
});

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function coreFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => /(^|\/)core\.[^/]*$/.test(f) && !f.startsWith(".coredog"));
}

/** The core objects (key -> sha256 of the stored bytes), each checked to have its sidecar saying that sha256. */
async function objects(bucket: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of await coreKeys(s3.client, bucket)) {
    const got = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = await got.Body!.transformToByteArray();
    await expectSidecar(s3.client, bucket, key, { sha256: sha(bytes), size: bytes.length });
    out.set(key, sha(bytes));
  }
  return out;
}

function start(l: Layout, yaml: string | undefined): WatcherProc {
  const p = startWatcherProc(l, yaml, { bundle });
  procs.push(p);
  return p;
}

describe("watcher faults", () => {
  it("SIGKILLed at random moments during 50 uploads: all 50 stored intact, none left, none announced twice", async () => {
    const l = makeLayout("cdw-kill-");
    layouts.push(l);
    await s3.createBucket("killed");
    const rec = await receiver();
    const yaml = settingsYaml(s3, "killed", {
      quiet: "0.2",
      parallel: "3",
      notice: notice(rec.url),
      watcher: "  groupWindowSeconds: 0\n",
    });
    const want = new Map<string, string>();
    const block = coreBlock(11);
    for (let i = 0; i < 50; i++) {
      const rel = `prod/app-${i}/core.app.${i}`;
      mkdirSync(join(l.dir, `prod/app-${i}`), { recursive: true });
      writeCore(join(l.dir, rel), (1 + (i % 4)) * 1024 * 1024 + i, { comm: "app" }, block);
      want.set(`core.app.${i}`, sha(readFileSync(join(l.dir, rel))));
    }
    let kills = 0;
    let killedMidUpload = 0;
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 8 && coreFiles(l.dir).length > 0; round++) {
      const w = start(l, yaml);
      await w.waitFor(/initial scan/, 30_000);
      await sleep(150 + random() * 900);
      await w.stop("SIGKILL");
      kills++;
      const started = w.lines.filter((x) => /upload started/.test(x)).length;
      const done = w.lines.filter((x) => /upload done/.test(x)).length;
      if (started > done) killedMidUpload++;
    }
    const last = start(l, yaml);
    const deadline = Date.now() + 60_000;
    while (coreFiles(l.dir).length > 0 && Date.now() < deadline) await sleep(200);
    expect(coreFiles(l.dir)).toEqual([]);
    await sleep(1500); // let the last notices go out
    await last.stop();
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(
      killedMidUpload,
      "kills that landed while an upload was in flight",
    ).toBeGreaterThanOrEqual(1);

    const stored = await objects("killed");
    const byFile = new Map<string, string>();
    for (const [key, digest] of stored) byFile.set(key.replace(/^.*\/\d{8}T\d{9}Z-/, ""), digest);
    expect([...byFile.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [file, digest] of want) expect(byFile.get(file), file).toBe(digest);
    // Re-uploads after a kill overwrite the same key: one object per core.
    expect(stored.size).toBe(50);

    let announced = 0;
    for (const file of want.keys()) {
      const n = rec.bodies.filter(
        (b) => b.includes(`${file}"`) || b.includes(`${file} `) || b.includes(`${file}\\n`),
      ).length;
      expect(n, `${file} announced ${n} times`).toBeLessThanOrEqual(1);
      announced += n;
    }
    // A kill between the journal's "reported" and the notice leaving loses that notice (at most once, by design).
    expect(announced).toBeGreaterThanOrEqual(50 - kills);
    rec.server.close();
  }, 240_000);

  it("SIGKILLed between a core's upload and its sidecar: the core stays, and the next start stores both before deleting it", async () => {
    const l = makeLayout("cdw-sidecar-kill-");
    layouts.push(l);
    await s3.createBucket("halfway");
    const yaml = settingsYaml(s3, "halfway", { quiet: "0.2" });
    const rel = "shop/api-1/core.app.77";
    mkdirSync(join(l.dir, "shop/api-1"), { recursive: true });
    writeCore(join(l.dir, rel), 9 * 1024 * 1024 + 77, { comm: "app" }, coreBlock(4));
    const digest = sha(readFileSync(join(l.dir, rel)));
    s3.faults([{ method: "PUT", key: /\.report\.json$/, action: "hang" }]);
    try {
      const first = start(l, yaml);
      const before = s3.requests.length;
      const deadline = Date.now() + 30_000;
      const sidecarPut = () =>
        s3.requests
          .slice(before)
          .some((r) => r.method === "PUT" && r.url.split("?")[0]!.endsWith(".report.json"));
      while (!sidecarPut()) {
        if (Date.now() > deadline) throw new Error("the watcher never wrote the sidecar");
        await sleep(20);
      }
      await first.stop("SIGKILL");
    } finally {
      s3.faults([]);
    }
    // The core's object is in the store, its sidecar is not, and the core is still on the node.
    expect(existsSync(join(l.dir, rel))).toBe(true);
    const [key] = await coreKeys(s3.client, "halfway");
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: "halfway", Key: key! }));
    expect(head.ContentLength).toBe(9 * 1024 * 1024 + 77);
    await expect(
      s3.client.send(new HeadObjectCommand({ Bucket: "halfway", Key: `${key!}.report.json` })),
    ).rejects.toThrow();
    const second = start(l, yaml);
    await second.waitFor(/deleted local corefile: .*core\.app\.77/, 60_000);
    expect(second.count(/upload started: .*core\.app\.77/)).toBe(1);
    await expectSidecar(s3.client, "halfway", key!, {
      sha256: digest,
      size: 9 * 1024 * 1024 + 77,
    });
    expect((await objects("halfway")).get(key!)).toBe(digest);
    await second.stop();
  }, 120_000);

  it("S3 unavailable for a while: nothing deleted before it returns, everything stored after", async () => {
    const l = makeLayout("cdw-s3down-");
    layouts.push(l);
    await s3.createBucket("outage");
    const w = start(l, settingsYaml(s3, "outage", { quiet: "0.2" }));
    await w.waitFor(/initial scan/, 30_000);
    await s3.mode("refuse");
    const names: string[] = [];
    for (let i = 0; i < 10; i++) {
      mkdirSync(join(l.dir, `web/fe-${i}`), { recursive: true });
      writeCore(join(l.dir, `web/fe-${i}/core.fe.${i}`), 300_000 + i);
      names.push(`web/fe-${i}/core.fe.${i}`);
    }
    const outageEnds = Date.now() + 4000;
    while (Date.now() < outageEnds) {
      for (const n of names) expect(existsSync(join(l.dir, n)), n).toBe(true);
      await sleep(200);
    }
    expect(w.count(/deleted local corefile/)).toBe(0);
    expect(w.count(/level=error.*upload of .* failed/)).toBeGreaterThan(0);
    await s3.mode("ok");
    const deadline = Date.now() + 60_000;
    while (coreFiles(l.dir).length > 0 && Date.now() < deadline) await sleep(200);
    expect(coreFiles(l.dir)).toEqual([]);
    expect((await objects("outage")).size).toBe(10);
    await w.stop();
  }, 120_000);

  it("a chat receiver that hangs does not delay storage", async () => {
    const l = makeLayout("cdw-hang-");
    layouts.push(l);
    await s3.createBucket("hanging");
    const rec = await receiver();
    rec.mode = "hang";
    const w = start(
      l,
      settingsYaml(s3, "hanging", {
        quiet: "0.2",
        notice: notice(rec.url),
        watcher: "  groupWindowSeconds: 0\n",
      }),
    );
    await w.waitFor(/initial scan/, 30_000);
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) {
      mkdirSync(join(l.dir, `pay/worker-${i}`), { recursive: true });
      writeCore(join(l.dir, `pay/worker-${i}/core.w.${i}`), 200_000);
    }
    const deadline = Date.now() + 30_000;
    while (coreFiles(l.dir).length > 0 && Date.now() < deadline) await sleep(100);
    const took = Date.now() - t0;
    expect(coreFiles(l.dir)).toEqual([]);
    expect((await objects("hanging")).size).toBe(10);
    // Ten cores stored while every notice hangs: bounded by storage, not by the receiver's timeouts.
    expect(took).toBeLessThan(8000);
    await expect.poll(() => rec.bodies.length, { timeout: 10_000 }).toBeGreaterThan(0);
    await w.stop();
    rec.server.closeAllConnections();
    rec.server.close();
  }, 120_000);

  it("SIGTERM: no new files are taken, the upload in flight finishes, then the watcher exits 0", async () => {
    const l = makeLayout("cdw-term-");
    layouts.push(l);
    await s3.createBucket("term");
    const w = start(l, settingsYaml(s3, "term", { quiet: "0.2" }));
    await w.waitFor(/initial scan/, 30_000);
    mkdirSync(join(l.dir, "db/pg-0"), { recursive: true });
    writeCore(join(l.dir, "db/pg-0/core.pg.1"), 96 * 1024 * 1024, { comm: "pg" });
    await w.waitFor(/upload started: .*core\.pg\.1/, 30_000);
    w.proc.kill("SIGTERM");
    mkdirSync(join(l.dir, "db/pg-1"), { recursive: true });
    writeCore(join(l.dir, "db/pg-1/core.pg.2"), 10_000, { comm: "pg" });
    expect(await w.stop()).toBe(0);
    expect(w.count(/upload done: .*core\.pg\.1/)).toBe(1);
    expect(w.count(/deleted local corefile: .*core\.pg\.1/)).toBe(1);
    expect(w.count(/capture a file:.*core\.pg\.2/)).toBe(0);
    expect(w.lines.at(-1)).toMatch(/msg=stopped/);
    expect(existsSync(join(l.dir, "db/pg-1/core.pg.2"))).toBe(true);
    expect((await objects("term")).size).toBe(1);
  }, 120_000);
});
