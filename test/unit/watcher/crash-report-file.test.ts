// The crash report read from an open core before its upload: the same report the pure reader makes, from a few
// pages of a real core, bounded in bytes and time, and never an exception for a bad file.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCrashReport } from "../../../controller/watcher/crash-report-file.js";
import { crashReport } from "../../../src/crash-report.js";
import {
  coreDumpsPossible,
  crash,
  fileReader,
  FIXTURES,
  holdCoreDumps,
} from "../src/crash-report/support.js";

const dir = mkdtempSync(join(tmpdir(), "cdw-crashfile-"));
const cores = join(dir, "cores");
let core: string;
let release: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const possible = coreDumpsPossible();
  if (!possible.ok) throw new Error(`these tests need real cores: ${possible.why}`);
  mkdirSync(cores);
  const src = (f: string) => join(FIXTURES, f);
  const fp = ["-O0", "-g", "-fno-omit-frame-pointer"];
  execFileSync("gcc", [...fp, "-shared", "-fPIC", "-o", join(dir, "libboom.so"), src("libboom.c")]);
  execFileSync("gcc", [
    ...fp,
    "-o",
    join(dir, "app"),
    src("crasher.c"),
    "-pthread",
    `-L${dir}`,
    "-lboom",
    `-Wl,-rpath,${dir}`,
  ]);
  release = await holdCoreDumps();
  core = crash(cores, [join(dir, "app"), "null"]);
}, 120_000);

afterAll(async () => {
  await release?.();
  rmSync(dir, { recursive: true, force: true });
});

/** The descriptor with its reads counted (what the report costs in I/O). */
function counted(fh: FileHandle): { fh: FileHandle; bytes: () => number } {
  let bytes = 0;
  const proxy = new Proxy(fh, {
    get(target, prop, receiver) {
      if (prop === "read")
        return async (...args: Parameters<FileHandle["read"]>) => {
          const r = await (target.read as (...a: unknown[]) => ReturnType<FileHandle["read"]>)(
            ...args,
          );
          bytes += r.bytesRead;
          return r;
        };
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { fh: proxy, bytes: () => bytes };
}

describe("readCrashReport", () => {
  it("gives the pure reader's report of a real core, reading only a few pages of it", async () => {
    const size = statSync(core).size;
    const fh = await open(core, "r");
    try {
      const c = counted(fh);
      const r = await readCrashReport(c.fh, size);
      const f = fileReader(core);
      const expected = await crashReport(f.read, { fileSize: f.size });
      f.close();
      expect(r).toEqual(expected);
      expect(r!.death.summary).toBe(
        "SIGSEGV: address not mapped (SEGV_MAPERR) at 0x0 (NULL pointer)",
      );
      expect(r!.fingerprint.id).toMatch(/^[0-9a-f]{64}$/);
      // the report's own count, plus the process facts read again from the notes (src/elf-core.ts)
      expect(c.bytes()).toBeGreaterThanOrEqual(r!.bytesRead);
      expect(c.bytes()).toBeLessThan(Math.min(size / 4, 64 * 1024));
    } finally {
      await fh.close();
    }
  });

  it("says why there is no report for a file that is not an ELF core, without throwing", async () => {
    const text = join(dir, "not-a-core");
    writeFileSync(text, "just text, no ELF here\n");
    const fh = await open(text, "r");
    const why: string[] = [];
    try {
      expect(await readCrashReport(fh, statSync(text).size, (w) => why.push(w))).toBeUndefined();
    } finally {
      await fh.close();
    }
    expect(why).toEqual(["no crash report: not an ELF core file (bad magic or e_type)"]);
  });

  it("reports what it could read of a truncated core and lists what it could not", async () => {
    const cut = join(dir, "cut-core");
    const whole = readFileSync(core);
    writeFileSync(cut, whole.subarray(0, 3000));
    const fh = await open(cut, "r");
    try {
      const r = await readCrashReport(fh, 3000);
      expect(r).toBeDefined();
      expect(r!.complete).toBe(false);
      expect(r!.problems.length).toBeGreaterThan(0);
    } finally {
      await fh.close();
    }
  });

  it("stops at its byte budget and says so", async () => {
    const fh = await open(core, "r");
    try {
      const c = counted(fh);
      const r = await readCrashReport(c.fh, statSync(core).size, undefined, {
        maxBytesRead: 8192,
      });
      expect(c.bytes()).toBeLessThanOrEqual(8192);
      expect(r!.complete).toBe(false);
      expect(r!.problems).toContain(
        "the report stopped early: it would read more than 8192 bytes of the core",
      );
    } finally {
      await fh.close();
    }
  });

  it("gives up on a descriptor that does not answer, at its time limit", async () => {
    const fh = await open(core, "r");
    try {
      const stuck = new Proxy(fh, {
        get(target, prop) {
          if (prop === "read") return () => new Promise(() => undefined);
          const v: unknown = Reflect.get(target, prop, target);
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const why: string[] = [];
      const started = Date.now();
      const r = await readCrashReport(stuck, statSync(core).size, (w) => why.push(w), {
        timeoutMs: 200,
      });
      expect(r).toBeUndefined();
      expect(Date.now() - started).toBeLessThan(2000);
      expect(why).toEqual(["no crash report: it took longer than 200 ms"]);
    } finally {
      await fh.close();
    }
  });
});
