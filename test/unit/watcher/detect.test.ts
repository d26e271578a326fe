// Detection: completeness by size stability (a slow writer is never cut short), the start-up scan, and the rescan
// that finds what the event stream missed.
import type { Stats } from "node:fs";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../controller/log.js";
import { spawn } from "node:child_process";
import { Detector, type Completion } from "../../../controller/watcher/detect.js";
import { coreHead } from "./core-fixture.js";

const dirs: string[] = [];
const detectors: Detector[] = [];
afterEach(async () => {
  for (const d of detectors.splice(0)) await d.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(quiet: number, opts: { known?: (p: string) => boolean; seesAll?: boolean } = {}) {
  const root = mkdtempSync(join(tmpdir(), "cdw-detect-"));
  dirs.push(root);
  const lines: string[] = [];
  const stable: { path: string; size: number; at: number; completion: Completion }[] = [];
  const det = new Detector({
    dir: root,
    journalDir: join(root, ".coredog"),
    quietMillis: () => quiet,
    log: createLogger({ write: (l) => lines.push(l) }),
    onStable: (path: string, st: Stats, completion: Completion) =>
      stable.push({ path, size: st.size, at: Date.now(), completion }),
    isKnown: (p) => opts.known?.(p) ?? false,
    ...(opts.seesAll !== undefined ? { seesAllProcesses: async () => opts.seesAll! } : {}),
  });
  detectors.push(det);
  return { root, det, lines, stable };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(20);
  }
}

describe("Detector", () => {
  it("never declares a slow writer's file complete while it pauses for less than the quiet time", async () => {
    const quiet = 400;
    const { root, det, stable, lines } = setup(quiet);
    await det.start();
    mkdirSync(join(root, "ns/pod"), { recursive: true });
    const path = join(root, "ns/pod/core.slow");
    const fh = await open(path, "w");
    const chunk = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    let lastWriteAt = 0;
    // 12 writes with pauses of 150..300 ms (all shorter than the 400 ms quiet time): about 2.7 s of writing.
    for (let i = 0; i < 12; i++) {
      await fh.write(chunk);
      written += chunk.length;
      lastWriteAt = Date.now();
      await sleep(150 + (i % 4) * 50);
      expect(stable, `declared complete after ${written} bytes while still being written`).toEqual(
        [],
      );
    }
    await fh.close();
    await until(() => stable.length === 1);
    expect(stable[0]!.size).toBe(written);
    expect(stable[0]!.at - lastWriteAt).toBeGreaterThanOrEqual(quiet);
    expect(lines.some((l) => l.includes(`received fsnotify event: ${path}, op: CREATE`))).toBe(
      true,
    );
  });

  it("finds files that were there before it started with the start-up scan", async () => {
    const { root, det, stable } = setup(100);
    mkdirSync(join(root, "ns/pod-a"), { recursive: true });
    writeFileSync(join(root, "ns/pod-a/core.1"), "x".repeat(100));
    writeFileSync(join(root, "ns/pod-a/core.2"), "y".repeat(200));
    await det.start();
    const scan = await det.scan();
    expect(scan.files).toBe(2);
    expect(scan.bytes).toBe(300);
    await until(() => stable.length === 2);
    expect(stable.map((s) => s.path).sort()).toEqual([
      join(root, "ns/pod-a/core.1"),
      join(root, "ns/pod-a/core.2"),
    ]);
  });

  it("the rescan finds a file the event stream missed (a directory moved in with its file inside)", async () => {
    const { root, det, stable } = setup(100);
    const outside = mkdtempSync(join(tmpdir(), "cdw-outside-"));
    dirs.push(outside);
    await det.start();
    // Stop the event stream so that nothing but the rescan can see the file.
    await (det as unknown as { watcher: { close(): Promise<void> } }).watcher.close();
    mkdirSync(join(outside, "pod-b"));
    writeFileSync(join(outside, "pod-b/core.9"), "z".repeat(50));
    mkdirSync(join(root, "ns"));
    renameSync(join(outside, "pod-b"), join(root, "ns/pod-b"));
    await sleep(400);
    expect(stable).toEqual([]);
    await det.scan();
    await until(() => stable.length === 1);
    expect(stable[0]!.path).toBe(join(root, "ns/pod-b/core.9"));
  });

  it("sees a directory that appears with its file already inside through events alone", async () => {
    const { root, det, stable } = setup(100);
    const outside = mkdtempSync(join(tmpdir(), "cdw-outside-"));
    dirs.push(outside);
    await det.start();
    mkdirSync(join(outside, "ns/pod-c"), { recursive: true });
    writeFileSync(join(outside, "ns/pod-c/core.3"), "q".repeat(10));
    renameSync(join(outside, "ns"), join(root, "ns"));
    await until(() => stable.length === 1);
    expect(stable[0]!.path).toBe(join(root, "ns/pod-c/core.3"));
  });

  it("ignores its own journal directory and files it already handled", async () => {
    const { root, det, stable } = setup(100, { known: (p) => p.endsWith("core.done") });
    mkdirSync(join(root, ".coredog/cores"), { recursive: true });
    writeFileSync(join(root, ".coredog/cores/x.json"), "{}");
    mkdirSync(join(root, "ns/pod"), { recursive: true });
    writeFileSync(join(root, "ns/pod/core.done"), "done");
    writeFileSync(join(root, "ns/pod/core.new"), "new");
    await det.start();
    await det.scan();
    await until(() => stable.length === 1);
    await sleep(300);
    expect(stable.map((s) => s.path)).toEqual([join(root, "ns/pod/core.new")]);
  });

  it("takes an ELF core as long as its headers say, with no one holding it, without waiting for the quiet time", async () => {
    const { root, det, stable } = setup(5_000);
    await det.start();
    mkdirSync(join(root, "ns/pod"), { recursive: true });
    const size = 256 * 1024;
    const t0 = Date.now();
    writeFileSync(
      join(root, "ns/pod/core.app.7"),
      Buffer.concat([coreHead({}, size), Buffer.alloc(size - coreHead({}, size).length, 1)]),
    );
    await until(() => stable.length === 1, 4_000);
    expect(stable[0]!.at - t0).toBeLessThan(2_500);
    expect(stable[0]!.completion).toEqual({ expected: size });
  });

  it("waits while a process holds a whole core open, far past the quiet time, and takes it when it closes", async () => {
    const { root, det, stable, lines } = setup(200);
    await det.start();
    mkdirSync(join(root, "ns/pod"), { recursive: true });
    const path = join(root, "ns/pod/core.app.8");
    const size = 128 * 1024;
    const head = coreHead({}, size);
    writeFileSync(path, Buffer.concat([head, Buffer.alloc(size - head.length, 2)]));
    const holder = spawn("bash", ["-c", `exec 3>>'${path}'; echo open; read -r _`], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    await new Promise<void>((r) => holder.stdout!.once("data", () => r()));
    await sleep(1_500);
    expect(stable).toEqual([]);
    expect(
      lines.some(
        (l) =>
          l.includes(`waiting for the writer of ${path}`) &&
          l.includes(`pid ${holder.pid} still holds it open`),
      ),
    ).toBe(true);
    holder.stdin!.end("\n");
    await new Promise((r) => holder.once("exit", r));
    await until(() => stable.length === 1);
    expect(stable[0]!.completion).toEqual({ expected: size });
  });

  it("waits on an empty core while its writer holds it (says so), forgets an empty file no one writes", async () => {
    const { root, det, stable, lines } = setup(200);
    await det.start();
    mkdirSync(join(root, "ns/pod"), { recursive: true });
    const path = join(root, "ns/pod/core.app.9");
    const holder = spawn("bash", ["-c", `exec 3>'${path}'; echo open; read -r _`], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    await new Promise<void>((r) => holder.stdout!.once("data", () => r()));
    const empty = join(root, "ns/pod/core.empty.10");
    writeFileSync(empty, "");
    await until(() =>
      lines.some((l) =>
        l.includes(
          `waiting for the writer of ${path}: 0 bytes, pid ${holder.pid} still holds it open`,
        ),
      ),
    );
    await until(() => det.waiting === 1); // the empty file no one writes is let go
    await sleep(600);
    expect(stable).toEqual([]);
    expect(lines.filter((l) => l.includes(`waiting for the writer of ${empty}`))).toEqual([]);
    const size = 64 * 1024;
    const head = coreHead({}, size);
    writeFileSync(path, Buffer.concat([head, Buffer.alloc(size - head.length, 3)]));
    holder.stdin!.end("\n");
    await new Promise((r) => holder.once("exit", r));
    await until(() => stable.length === 1);
    expect(stable[0]).toMatchObject({ path, size, completion: { expected: size } });
  });

  it("hands on a core shorter than its headers say, once no one writes it, labelled truncated with both sizes", async () => {
    const { root, det, stable, lines } = setup(5_000);
    await det.start();
    mkdirSync(join(root, "ns/pod"), { recursive: true });
    const path = join(root, "ns/pod/core.app.9");
    const size = 1024 * 1024;
    const head = coreHead({}, size);
    writeFileSync(path, Buffer.concat([head, Buffer.alloc(300_000 - head.length, 3)]));
    await until(() => stable.length === 1, 4_000);
    const t = stable[0]!.completion.truncated!;
    expect(t).toMatchObject({ bytes: 300_000, expected: size, cause: "unknown" });
    expect(
      lines.some((l) => l.includes(`truncated core: ${path} is 300000 of ${size} bytes`)),
    ).toBe(true);
  });

  it("takes a short core only after the quiet time when it cannot see every process that might write it", async () => {
    const { root, det, stable } = setup(1_500, { seesAll: false });
    await det.start();
    mkdirSync(join(root, "ns/pod"), { recursive: true });
    const size = 1024 * 1024;
    const head = coreHead({}, size);
    const t0 = Date.now();
    writeFileSync(join(root, "ns/pod/core.app.10"), Buffer.concat([head, Buffer.alloc(4096, 3)]));
    await sleep(900);
    expect(stable).toEqual([]);
    await until(() => stable.length === 1);
    expect(stable[0]!.at - t0).toBeGreaterThanOrEqual(1_500);
    expect(stable[0]!.completion.truncated).toMatchObject({
      bytes: head.length + 4096,
      expected: size,
    });
  });
});
