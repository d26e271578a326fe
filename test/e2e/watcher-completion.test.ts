// When a core is complete, against the real watcher program and the real kernel: writers that pause far longer
// than the quiet time are waited for (also by a watcher restarted mid-write), and cores the kernel cut short
// (RLIMIT_CORE, a full filesystem) are stored as they are and labelled truncated with both sizes and the reason.
// gdb judges what the stored cores are.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireCorePattern, canDumpCores } from "../rig/core-pattern.js";
import { runContainer } from "../rig/node/runner.js";
import { startS3, type RigS3 } from "../rig/s3.js";
import { coreBlock, coreHead } from "../unit/watcher/core-fixture.js";
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
let release: (() => Promise<void>) | undefined;
const layouts: Layout[] = [];
const procs: WatcherProc[] = [];
const mounts: string[] = [];
const servers: Server[] = [];
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

beforeAll(async () => {
  const can = canDumpCores();
  if (!can.ok) throw new Error(`these tests need real core dumps: ${can.why}`);
  s3 = await startS3();
  bundle = await bundleWatcher();
  release = await acquireCorePattern();
}, 60_000);

afterAll(async () => {
  for (const p of procs) await p.stop("SIGKILL");
  for (const m of mounts) execFileSync("umount", ["-l", m], { stdio: "ignore" });
  for (const s of servers) s.close();
  await release?.();
  await s3?.stop();
  for (const l of layouts) rmSync(l.root, { recursive: true, force: true });
  rmSync(bundle, { force: true });
}, 60_000);

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function layout(prefix: string): Layout {
  const l = makeLayout(prefix);
  layouts.push(l);
  return l;
}

function start(l: Layout, yaml: string | undefined): WatcherProc {
  const p = startWatcherProc(l, yaml, { bundle });
  procs.push(p);
  return p;
}

async function receiver(): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      bodies.push(body);
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies };
}

/** The core objects, each checked to have its sidecar recording the stored bytes' sha256 and size. */
async function objects(bucket: string): Promise<{ key: string; body: Buffer }[]> {
  const out: { key: string; body: Buffer }[] = [];
  for (const key of await coreKeys(s3.client, bucket)) {
    const got = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = Buffer.from(await got.Body!.transformToByteArray());
    await expectSidecar(s3.client, bucket, key, { sha256: sha(body), size: body.length });
    out.push({ key, body });
  }
  return out;
}

async function metadata(bucket: string, key: string): Promise<Record<string, string>> {
  const h = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return h.Metadata ?? {};
}

/** What gdb (BFD) says when it opens a core: of a truncated one, "a segment extending past end of file". */
function gdbOnCoreAll(path: string): string {
  try {
    const r = execFileSync("sh", ["-c", `gdb -nx -batch -ex 'info files' -c '${path}' 2>&1`], {
      encoding: "utf8",
      timeout: 60_000,
    });
    return r;
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? err);
  }
}

/**
 * A core written the way the kernel writes it: one descriptor, sequential writes, with a pause of `pauseMs` in the
 * middle. The headers say it is `size` bytes long. Returns what was written and when the descriptor was closed.
 */
async function slowWriter(
  path: string,
  size: number,
  pauseMs: number,
  during: () => void,
): Promise<{ bytes: Buffer; closedAt: number }> {
  const head = coreHead({ comm: "slow" }, size);
  const block = coreBlock(size);
  const bytes = Buffer.alloc(size);
  head.copy(bytes);
  for (let o = head.length; o < size; o += block.length) block.copy(bytes, o);
  const fh: FileHandle = await open(path, "w", 0o600);
  const chunk = 64 * 1024;
  const pauseAt = Math.floor(size / 2 / chunk) * chunk;
  for (let o = 0; o < size; o += chunk) {
    if (o === pauseAt) {
      const until = Date.now() + pauseMs;
      while (Date.now() < until) {
        during();
        await sleep(100);
      }
    }
    await fh.write(bytes, o, Math.min(chunk, size - o), o);
    during();
    await sleep(5);
  }
  await fh.close();
  return { bytes, closedAt: Date.now() };
}

function logTime(line: string): number {
  const m = /time=(\S+)/.exec(line) ?? /"time":"?([^",]+)/.exec(line);
  return m ? new Date(m[1]!).getTime() : NaN;
}

describe("a core is taken only when its writer has finished it", () => {
  it("writers holding one descriptor and pausing 5 s and 30 s mid-core: each stored once, whole, byte-identical, never deleted before it was closed", async () => {
    const l = layout("cdw-slow-");
    await s3.createBucket("slow");
    // a quiet time far shorter than the pauses: it must not be what decides
    const w = start(l, settingsYaml(s3, "slow", { quiet: "0.3", rescan: "1" }));
    await w.waitFor(/initial scan/, 30_000);
    mkdirSync(join(l.dir, "prod/api-1"), { recursive: true });
    const paths = [5_000, 30_000].map((p) => join(l.dir, `prod/api-1/core.slow.${p}`));
    const gone: string[] = [];
    const watch = (p: string) => () => {
      if (!existsSync(p)) gone.push(p);
    };
    const [a, b] = await Promise.all([
      slowWriter(paths[0]!, 3 * 1024 * 1024 + 4321, 5_000, watch(paths[0]!)),
      slowWriter(paths[1]!, 2 * 1024 * 1024 + 99, 30_000, watch(paths[1]!)),
    ]);
    expect(gone, "a core was deleted while its writer still held it").toEqual([]);
    for (const [i, p] of paths.entries()) {
      await w.waitFor(new RegExp(`deleted local corefile: ${p}`), 30_000);
      const closedAt = [a, b][i]!.closedAt;
      const started = w.lines.find((x) => x.includes("upload started") && x.includes(p));
      expect(started, `no upload of ${p}`).toBeDefined();
      expect(
        logTime(started!),
        "upload started before the writer closed the file",
      ).toBeGreaterThanOrEqual(closedAt - 50);
      expect(w.lines.some((x) => x.includes(`waiting for the writer of ${p}`))).toBe(true);
      expect(w.count(new RegExp(`upload started: ${p} `))).toBe(1);
    }
    const stored = await objects("slow");
    expect(stored).toHaveLength(2);
    for (const [i, p] of paths.entries()) {
      const name = p.slice(p.lastIndexOf("/") + 1);
      const obj = stored.find((o) => o.key.endsWith(name));
      expect(obj, name).toBeDefined();
      expect(obj!.body.length).toBe([a, b][i]!.bytes.length);
      expect(sha(obj!.body)).toBe(sha([a, b][i]!.bytes));
      expect(await metadata("slow", obj!.key)).not.toHaveProperty("truncated");
    }
    expect(w.lines.filter((x) => /truncated core/.test(x))).toEqual([]);
  }, 120_000);

  it("a watcher restarted in the middle of a slow write picks the file up again and still waits for its end", async () => {
    const l = layout("cdw-restart-");
    await s3.createBucket("restart");
    const yaml = settingsYaml(s3, "restart", { quiet: "0.3", rescan: "1" });
    const first = start(l, yaml);
    await first.waitFor(/initial scan/, 30_000);
    mkdirSync(join(l.dir, "prod/api-2"), { recursive: true });
    const path = join(l.dir, "prod/api-2/core.slow.77");
    const size = 2 * 1024 * 1024 + 8;
    const head = coreHead({ comm: "slow" }, size);
    const bytes = Buffer.alloc(size, 0x5a);
    head.copy(bytes);
    const fh = await open(path, "w", 0o600);
    await fh.write(bytes, 0, size / 2, 0);
    await first.waitFor(new RegExp(`waiting for the writer of ${path}`), 15_000);
    await first.stop("SIGKILL");

    const second = start(l, yaml);
    await second.waitFor(/initial scan/, 30_000);
    await second.waitFor(new RegExp(`waiting for the writer of ${path}`), 15_000);
    await sleep(3_000); // ten quiet times with the writer stalled
    expect(second.lines.filter((x) => /upload started/.test(x))).toEqual([]);
    expect(existsSync(path)).toBe(true);
    await fh.write(bytes, size / 2, size - size / 2, size / 2);
    await fh.close();
    await second.waitFor(new RegExp(`deleted local corefile: ${path}`), 30_000);
    const stored = await objects("restart");
    expect(stored).toHaveLength(1);
    expect(sha(stored[0]!.body)).toBe(sha(bytes));
  }, 90_000);
});

/**
 * A filesystem on which the kernel writes a core slowly and can be made to stall: ext4 mounted `sync` on a loop
 * device whose image lives on a second ext4 (also on a loop device); freezing the outer one (fsfreeze) holds every
 * write of the inner one, so the kernel's dump stops mid-core for as long as the test wants.
 */
function stallableFilesystem(root: string): { dir: string; freeze(): void; thaw(): void } {
  const outer = join(root, "outer");
  const dir = join(root, "inner");
  mkdirSync(outer);
  mkdirSync(dir);
  execFileSync("truncate", ["-s", "96M", join(root, "outer.img")]);
  execFileSync("mkfs.ext4", ["-q", "-F", join(root, "outer.img")]);
  execFileSync("mount", ["-o", "loop", join(root, "outer.img"), outer]);
  mounts.unshift(outer);
  execFileSync("truncate", ["-s", "64M", join(outer, "inner.img")]);
  execFileSync("mkfs.ext4", ["-q", "-F", join(outer, "inner.img")]);
  execFileSync("mount", ["-o", "loop,sync", join(outer, "inner.img"), dir]);
  mounts.unshift(dir);
  return {
    dir,
    freeze: () => execFileSync("fsfreeze", ["-f", outer]),
    thaw: () => execFileSync("fsfreeze", ["-u", outer]),
  };
}

describe("a core the kernel writes slowly", () => {
  it("a real kernel dump stalled for 5 s mid-core (far past the quiet time): the watcher waits for the kernel, then stores it once and whole", async () => {
    const l = layout("cdw-kstall-");
    await s3.createBucket("kstall");
    const fs = stallableFilesystem(l.root);
    const w = start(l, settingsYaml(s3, "kstall", { quiet: "0.3" }));
    // the node directory's namespace directory is the slow filesystem
    const nsDir = join(l.dir, "shop");
    mkdirSync(nsDir);
    execFileSync("mount", ["--bind", fs.dir, nsDir]);
    mounts.unshift(nsDir);
    await w.waitFor(/initial scan/, 30_000);
    const dir = join(nsDir, "stall");
    mkdirSync(dir);
    const h = runContainer({
      command: [
        "/bin/bash",
        "-c",
        "ulimit -c unlimited; x=$(head -c 3000000 /dev/urandom | base64 -w0); kill -SEGV $BASHPID",
      ],
      env: { PATH },
      mounts: [{ source: dir, target: "/corefile" }],
      logFile: join(l.root, "stall.log"),
    });
    const dumping = () =>
      /^CoreDumping:\s+1$/m.test(
        (() => {
          try {
            return readFileSync(`/proc/${h.pid}/status`, "utf8");
          } catch {
            return "";
          }
        })(),
      );
    const t0 = Date.now();
    while (!dumping()) {
      if (Date.now() - t0 > 30_000) throw new Error("the crash did not start dumping");
      await sleep(5);
    }
    await sleep(100);
    fs.freeze();
    try {
      await w.waitFor(
        /waiting for the writer of .*\/shop\/stall\/core\.bash\..*the kernel is still dumping it/,
        10_000,
      );
      await sleep(5_000);
      expect(dumping(), "the kernel was still dumping").toBe(true);
      expect(w.lines.filter((x) => /upload started|truncated core/.test(x))).toEqual([]);
    } finally {
      fs.thaw();
    }
    const exit = await h.exited;
    expect(exit.signal).toBe(11);
    const endedAt = Date.now();
    const deleted = await w.waitFor(/deleted local corefile: .*\/shop\/stall\//, 60_000);
    const started = w.lines.find((x) => /upload started: .*\/shop\/stall\//.test(x))!;
    expect(logTime(started)).toBeLessThanOrEqual(logTime(deleted));
    expect(logTime(started), "uploaded before the kernel had finished").toBeGreaterThanOrEqual(
      endedAt - 1_000,
    );
    expect(w.count(/upload started: .*\/shop\/stall\//)).toBe(1);
    expect(w.lines.filter((x) => /truncated core/.test(x))).toEqual([]);
    const stored = await objects("kstall");
    expect(stored).toHaveLength(1);
    const judged = join(l.root, "stall.core");
    writeFileSync(judged, stored[0]!.body);
    expect(await metadata("kstall", stored[0]!.key)).not.toHaveProperty("truncated");
    expect(stored[0]!.body.length).toBeGreaterThan(3_000_000);
    expect(gdbOnCoreAll(judged)).toMatch(/Program terminated with signal SIGSEGV/);
    expect(gdbOnCoreAll(judged)).not.toMatch(/past end of file/);
  }, 120_000);
});

describe("a core the kernel cut short is stored and labelled truncated", () => {
  it("a real crash under ulimit -c 100: stored with both sizes in the log, the notice and the object's metadata; a whole one is not labelled", async () => {
    const l = layout("cdw-ulimit-");
    await s3.createBucket("ulimit");
    const rec = await receiver();
    const w = start(
      l,
      settingsYaml(s3, "ulimit", {
        quiet: "0.3",
        notice: `NoticeChannel:\n  - chan: webhook\n    webhookurl: ${rec.url}\n`,
        watcher: "  groupWindowSeconds: 0\n",
      }),
    );
    await w.waitFor(/initial scan/, 30_000);
    const crash = async (pod: string, limit: string) => {
      const dir = join(l.dir, "shop", pod);
      mkdirSync(dir, { recursive: true });
      const log = join(l.root, `${pod}.log`);
      const h = runContainer({
        command: ["/bin/bash", "-c", `ulimit -c ${limit}; echo pid=$BASHPID; kill -SEGV $BASHPID`],
        env: { PATH },
        mounts: [{ source: dir, target: "/corefile" }],
        logFile: log,
      });
      expect((await h.exited).signal).toBe(11);
      const pid = /pid=(\d+)/.exec(readFileSync(log, "utf8"))![1]!;
      return { dir, pid };
    };
    const short = await crash("cut", "100");
    const whole = await crash("whole", "unlimited");
    const line = await w.waitFor(/truncated core: .*\/shop\/cut\//, 20_000);
    const m = /is (\d+) of (\d+) bytes: /.exec(line)!;
    const [bytes, expected] = [Number(m[1]), Number(m[2])];
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(expected);
    await w.waitFor(/deleted local corefile: .*\/shop\/cut\//, 20_000);
    await w.waitFor(/deleted local corefile: .*\/shop\/whole\//, 20_000);
    expect(w.lines.filter((x) => /truncated core: .*\/shop\/whole\//.test(x))).toEqual([]);

    const stored = await objects("ulimit");
    const cut = stored.find((o) => o.key.includes("/cut/"))!;
    const full = stored.find((o) => o.key.includes("/whole/"))!;
    expect(cut.body.length).toBe(bytes);
    expect(cut.key).toContain(`core.bash.${short.pid}.`);
    expect(full.key).toContain(`core.bash.${whole.pid}.`);
    const meta = await metadata("ulimit", cut.key);
    expect(meta.truncated).toBe(`${bytes} of ${expected} bytes`);
    expect(meta["expected-size"]).toBe(String(expected));
    expect(meta["truncated-reason"]).toBeTruthy();
    expect(await metadata("ulimit", full.key)).not.toHaveProperty("truncated");

    // gdb agrees on both sizes, and finds nothing missing in the whole core
    const tmp = join(l.root, "judge");
    mkdirSync(tmp);
    writeFileSync(join(tmp, "cut.core"), cut.body);
    writeFileSync(join(tmp, "whole.core"), full.body);
    expect(gdbOnCoreAll(join(tmp, "cut.core"))).toMatch(/segment extending past end of file/);
    expect(gdbOnCoreAll(join(tmp, "whole.core"))).not.toMatch(/past end of file/);
    expect(statSync(join(tmp, "whole.core")).size).toBe(full.body.length);

    // the notice says it too
    const deadline = Date.now() + 10_000;
    while (!rec.bodies.some((b) => b.includes("/cut/")) && Date.now() < deadline) await sleep(100);
    const notice = rec.bodies.find((b) => b.includes(`core.bash.${short.pid}.`));
    expect(notice, rec.bodies.join("\n")).toBeDefined();
    expect(notice).toContain(`truncated: ${bytes} of ${expected} bytes`);
    const wholeNotice = rec.bodies.find((b) => b.includes(`core.bash.${whole.pid}.`));
    expect(wholeNotice).toBeDefined();
    expect(wholeNotice).not.toContain("truncated");
  }, 90_000);

  it("a real crash into a node directory whose filesystem fills during the dump: stored, labelled truncated, the full disk named", async () => {
    const l = layout("cdw-full-");
    await s3.createBucket("full");
    // a 256 KiB tmpfs as the namespace's directory: bash's core (about 0.5 MiB) does not fit
    const nsDir = join(l.dir, "tiny");
    mkdirSync(nsDir);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k,mode=0755", "coredog-test", nsDir]);
    mounts.push(nsDir);
    const w = start(l, settingsYaml(s3, "full", { quiet: "0.3" }));
    await w.waitFor(/initial scan/, 30_000);
    const dir = join(nsDir, "pod-a");
    mkdirSync(dir);
    const h = runContainer({
      command: ["/bin/bash", "-c", "ulimit -c unlimited; kill -SEGV $BASHPID"],
      env: { PATH },
      mounts: [{ source: dir, target: "/corefile" }],
      logFile: join(l.root, "full.log"),
    });
    expect((await h.exited).signal).toBe(11);
    const line = await w.waitFor(/truncated core: .*\/tiny\/pod-a\//, 20_000);
    expect(line).toMatch(/is \d+ of \d+ bytes: the filesystem of the node directory is full/);
    await w.waitFor(/deleted local corefile: .*\/tiny\/pod-a\//, 20_000);
    const stored = await objects("full");
    expect(stored).toHaveLength(1);
    const meta = await metadata("full", stored[0]!.key);
    expect(meta.truncated).toMatch(new RegExp(`^${stored[0]!.body.length} of \\d+ bytes$`));
    expect(meta["truncated-reason"]).toMatch(/filesystem of the node directory is full/);
    const judged = join(l.root, "full.core");
    writeFileSync(judged, stored[0]!.body);
    expect(gdbOnCoreAll(judged)).toMatch(/segment extending past end of file/);
  }, 90_000);
});
