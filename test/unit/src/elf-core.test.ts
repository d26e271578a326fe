import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ELF_LIMITS,
  expectedCoreLength,
  isElfCoreHeader,
  parseElfCore,
  signalName,
  type ReadFn,
} from "../../../src/elf-core.js";

// ---------------------------------------------------------------------------------------------
// Readers that record what the parser asked for.

interface Recorded {
  read: ReadFn;
  ranges: [number, number][];
  bytes: () => number;
}

function recordBuffer(buf: Uint8Array): Recorded {
  const ranges: [number, number][] = [];
  let bytes = 0;
  return {
    ranges,
    bytes: () => bytes,
    read: async (offset, length) => {
      ranges.push([offset, length]);
      const out = buf.subarray(offset, Math.min(buf.length, offset + length));
      bytes += out.length;
      return out;
    },
  };
}

async function recordFile(path: string): Promise<Recorded & { close: () => Promise<void> }> {
  const fh = await open(path, "r");
  const ranges: [number, number][] = [];
  let bytes = 0;
  return {
    ranges,
    bytes: () => bytes,
    close: () => fh.close(),
    read: async (offset, length) => {
      ranges.push([offset, length]);
      const b = Buffer.alloc(length);
      const { bytesRead } = await fh.read(b, 0, length, offset);
      bytes += bytesRead;
      return b.subarray(0, bytesRead);
    },
  };
}

/** The regions a parser may read, from binutils' own view of the file (independent of our parser). */
function allowedRegions(path: string): [number, number][] {
  const out = execFileSync("readelf", ["-lhW", path], { encoding: "utf8" });
  const num = (re: RegExp) => Number(re.exec(out)?.[1]);
  const ehsize = num(/Size of this header:\s+(\d+)/);
  const phoff = num(/Start of program headers:\s+(\d+)/);
  const phentsize = num(/Size of program headers:\s+(\d+)/);
  const phnum = num(/Number of program headers:\s+(\d+)/);
  const regions: [number, number][] = [
    [0, ehsize],
    [phoff, phoff + phentsize * phnum],
  ];
  for (const m of out.matchAll(/^\s+NOTE\s+0x([0-9a-f]+)\s+\S+\s+\S+\s+0x([0-9a-f]+)/gm)) {
    const off = parseInt(m[1]!, 16);
    regions.push([off, off + parseInt(m[2]!, 16)]);
  }
  return regions;
}

function expectOnlyHeadersAndNotes(rec: Recorded, regions: [number, number][], fileSize: number) {
  for (const [off, len] of rec.ranges) {
    const end = Math.min(off + len, fileSize);
    const inside = regions.some(([a, b]) => off >= a && end <= b);
    expect(inside, `read [${off}, ${end}) is outside the headers and notes`).toBe(true);
  }
  const allowed = regions.reduce((n, [a, b]) => n + (b - a), 0);
  expect(rec.bytes()).toBeLessThanOrEqual(allowed);
}

// ---------------------------------------------------------------------------------------------
// Real cores: gdb's generate-core-file of a live process stopped by a real signal (no
// kernel.core_pattern involved, which other tests may be changing), and the head of a core the
// kernel wrote (committed: a kernel core cannot be made here without changing core_pattern).

const CRASHER = `
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
static void *idle(void *a) { (void)a; pause(); return 0; }
int main(int argc, char **argv) {
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], 0, idle, 0);
  usleep(50000);
  if (argc > 1 && argv[1][0] == 'a') raise(SIGABRT);
  *(volatile int *)0 = 1;
  return 0;
}
`;

let dir: string;
let exe: string;

function gcore(args: string[], name: string): string {
  const core = join(dir, name);
  execFileSync(
    "gdb",
    [
      "-nx",
      "-batch",
      "-ex",
      "set pagination off",
      "-ex",
      "run",
      "-ex",
      `generate-core-file ${core}`,
      "-ex",
      "kill",
      "--args",
      ...args,
    ],
    { stdio: "ignore", timeout: 60_000 },
  );
  return core;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "coredog-elf-"));
  writeFileSync(join(dir, "crasher.c"), CRASHER);
  exe = join(dir, "my.crasher.with.long.name");
  execFileSync("gcc", ["-O0", "-pthread", "-o", exe, join(dir, "crasher.c")]);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("parseElfCore on real cores", () => {
  it("reads signal, executable, command line, uid, pid and threads of a SIGSEGV core (gdb)", async () => {
    const core = gcore([exe, "segv", "second arg"], "segv.core");
    const rec = await recordFile(core);
    try {
      const info = await parseElfCore(rec.read);
      expect(info.signal).toBe(11);
      expect(info.signalName).toBe("SIGSEGV");
      expect(info.executable).toBe(exe);
      expect(info.threads).toBe(5);
      // pr_fname: the kernel's 15-byte comm (gdb fills all 16 bytes)
      expect(info.comm).toMatch(/^my\.crasher\.with\.?$/);
      expect(info.commandLine).toContain("segv");
      expect(info.uid).toBe(process.getuid?.());
      expect(info.pid).toBeGreaterThan(0);
      expect(info.machine).toBe(process.arch === "x64" ? "x86_64" : info.machine);
      expect(info.bits).toBe(64);
      expect(info.mappedFiles).toContain(exe);
      expect(info.notesTruncated).toBeUndefined();

      const size = statSync(core).size;
      expectOnlyHeadersAndNotes(rec, allowedRegions(core), size);
      expect(rec.bytes()).toBeLessThan(size / 10);
    } finally {
      await rec.close();
    }
  });

  it("reads SIGABRT from a core of an aborting process (gdb)", async () => {
    const core = gcore([exe, "abort"], "abrt.core");
    const rec = await recordFile(core);
    try {
      const info = await parseElfCore(rec.read);
      expect(info.signalName).toBe("SIGABRT");
      expect(info.signal).toBe(6);
      expect(info.executable).toBe(exe);
      expectOnlyHeadersAndNotes(rec, allowedRegions(core), statSync(core).size);
    } finally {
      await rec.close();
    }
  });

  it("reads the head of a core written by the kernel (SIGABRT, 4 threads)", async () => {
    const path = join(import.meta.dirname, "../../fixtures/elf/kernel-sigabrt-x86_64.core-head");
    const buf = new Uint8Array(readFileSync(path));
    expect(isElfCoreHeader(buf)).toBe(true);
    const rec = recordBuffer(buf);
    const info = await parseElfCore(rec.read);
    expect(info).toMatchObject({
      signal: 6,
      signalName: "SIGABRT",
      executable: "/tmp/elfexp/my.prog.name.long",
      comm: "my.prog.name.lo",
      commandLine: "./my.prog.name.long arg1 arg two",
      uid: 0,
      threads: 4,
      machine: "x86_64",
      bits: 64,
      endian: "little",
    });
    expect(info.pid).toBeGreaterThan(0);
    expectOnlyHeadersAndNotes(rec, allowedRegions(path), buf.length);
  });
});

/** The end of the furthest segment or section header table, from binutils' own reading of the headers. */
function readelfExtent(path: string): number {
  const out = execFileSync("readelf", ["-lhW", path], { encoding: "utf8" });
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  let end =
    num(/Start of section headers:\s+(\d+)/) +
    num(/Size of section headers:\s+(\d+)/) * num(/Number of section headers:\s+(\d+)/);
  for (const m of out.matchAll(
    /^\s+[A-Z_]+\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x([0-9a-f]+)/gm,
  )) {
    end = Math.max(end, parseInt(m[1]!, 16) + parseInt(m[2]!, 16));
  }
  return end;
}

describe("expectedCoreLength", () => {
  it("gives the exact length of a whole core (gdb), and the same length from any cut copy of it", async () => {
    const core = gcore([exe, "segv"], "length.core");
    const full = new Uint8Array(readFileSync(core));
    expect(await expectedCoreLength(recordBuffer(full).read)).toBe(full.length);
    expect(readelfExtent(core)).toBe(full.length);
    for (const cut of [full.length - 1, Math.floor(full.length / 2), 4096]) {
      const rec = recordBuffer(full.subarray(0, cut));
      expect(await expectedCoreLength(rec.read)).toBe(full.length);
      expect(rec.bytes()).toBeLessThan(8192); // the headers only
    }
  });

  it("gives the length of the kernel's core from its first pages (the committed head of a kernel core)", async () => {
    const path = join(import.meta.dirname, "../../fixtures/elf/kernel-sigabrt-x86_64.core-head");
    const head = new Uint8Array(readFileSync(path));
    const expected = await expectedCoreLength(recordBuffer(head).read);
    expect(expected).toBe(readelfExtent(path));
    expect(expected).toBeGreaterThan(head.length * 10);
  });

  it("is not known yet while the file ends inside its headers, and refuses what is not a core", async () => {
    const full = new Uint8Array(readFileSync(gcore([exe, "segv"], "short.core")));
    expect(await expectedCoreLength(recordBuffer(full.subarray(0, 0)).read)).toBeUndefined();
    expect(await expectedCoreLength(recordBuffer(full.subarray(0, 40)).read)).toBeUndefined();
    expect(
      await expectedCoreLength(recordBuffer(full.subarray(0, 64 + 56 * 2)).read),
    ).toBeUndefined();
    await expect(
      expectedCoreLength(recordBuffer(new Uint8Array(4096).fill(7)).read),
    ).rejects.toThrow(/not an ELF core/);
  });

  it("counts the section header 0 that carries the segment count when e_phnum is PN_XNUM", async () => {
    const core = buildCore({ bits: 64, little: true, notes: standardNotes(64, true), xnum: true });
    const expected = await expectedCoreLength(recordBuffer(core).read);
    expect(expected).toBe(core.length);
    // without section header 0 the count (and so the length) is not known yet
    const shoff = Number(new DataView(core.buffer, core.byteOffset).getBigUint64(40, true));
    expect(await expectedCoreLength(recordBuffer(core.subarray(0, shoff)).read)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-built cores for the shapes this machine cannot produce and for hostile input.

interface BuildNote {
  name?: string;
  type: number;
  desc: Uint8Array;
}

interface BuildOpts {
  bits: 32 | 64;
  little: boolean;
  machine?: number;
  type?: number;
  notes: BuildNote[];
  /** Extra PT_NOTE program headers, raw (offset, filesz). */
  extraNotes?: [bigint, bigint][];
  phnumOverride?: number;
  xnum?: boolean;
}

class Writer {
  private parts: number[] = [];
  constructor(
    private readonly bits: 32 | 64,
    private readonly little: boolean,
  ) {}
  get length() {
    return this.parts.length;
  }
  u8(v: number) {
    this.parts.push(v & 0xff);
  }
  u16(v: number) {
    const b = new DataView(new ArrayBuffer(2));
    b.setUint16(0, v, this.little);
    this.bytes(new Uint8Array(b.buffer));
  }
  u32(v: number) {
    const b = new DataView(new ArrayBuffer(4));
    b.setUint32(0, v >>> 0, this.little);
    this.bytes(new Uint8Array(b.buffer));
  }
  word(v: bigint | number) {
    if (this.bits === 32) return this.u32(Number(v));
    const b = new DataView(new ArrayBuffer(8));
    b.setBigUint64(0, BigInt(v), this.little);
    this.bytes(new Uint8Array(b.buffer));
  }
  bytes(b: Uint8Array) {
    for (const x of b) this.parts.push(x);
  }
  str(s: string, size: number) {
    const b = new Uint8Array(size);
    b.set(new TextEncoder().encode(s).subarray(0, size));
    this.bytes(b);
  }
  pad(to: number) {
    while (this.parts.length % to) this.parts.push(0);
  }
  out() {
    return new Uint8Array(this.parts);
  }
}

const NT = { PRSTATUS: 1, PRPSINFO: 3, AUXV: 6, SIGINFO: 0x53494749, FILE: 0x46494c45 };

function prstatus(bits: 32 | 64, little: boolean, sig: number, pid: number): Uint8Array {
  const w = new Writer(bits, little);
  w.u32(sig); // si_signo
  w.u32(0);
  w.u32(0);
  w.u16(sig); // pr_cursig
  w.u16(0);
  w.word(0); // sigpend
  w.word(0); // sighold
  w.u32(pid);
  while (w.length < (bits === 64 ? 336 : 144)) w.u8(0);
  return w.out();
}

function prpsinfo(
  bits: 32 | 64,
  little: boolean,
  o: { uid: number; pid: number; fname: string; args: string; uid16?: boolean },
): Uint8Array {
  const w = new Writer(bits, little);
  w.u8(0);
  w.u8(0x52);
  w.u8(0);
  w.u8(0);
  if (bits === 64) w.u32(0); // padding before the 8-byte pr_flag
  w.word(0); // pr_flag
  if (o.uid16) {
    w.u16(o.uid);
    w.u16(o.uid);
  } else {
    w.u32(o.uid);
    w.u32(o.uid);
  }
  w.u32(o.pid);
  w.u32(1);
  w.u32(o.pid);
  w.u32(o.pid);
  w.str(o.fname, 16);
  w.str(o.args, 80);
  return w.out();
}

function auxv(bits: 32 | 64, little: boolean, entries: [number, bigint][]): Uint8Array {
  const w = new Writer(bits, little);
  for (const [t, v] of entries) {
    w.word(t);
    w.word(v);
  }
  w.word(0);
  w.word(0);
  return w.out();
}

function fileNote(
  bits: 32 | 64,
  little: boolean,
  maps: { start: bigint; end: bigint; path: string }[],
): Uint8Array {
  const w = new Writer(bits, little);
  w.word(maps.length);
  w.word(4096);
  for (const m of maps) {
    w.word(m.start);
    w.word(m.end);
    w.word(0);
  }
  for (const m of maps) w.bytes(new TextEncoder().encode(`${m.path}\0`));
  return w.out();
}

function buildCore(o: BuildOpts): Uint8Array {
  const is64 = o.bits === 64;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const nph = 1 + (o.extraNotes?.length ?? 0);
  const notes = new Writer(o.bits, o.little);
  for (const n of o.notes) {
    const name = new TextEncoder().encode(`${n.name ?? "CORE"}\0`);
    notes.u32(name.length);
    notes.u32(n.desc.length);
    notes.u32(n.type);
    notes.bytes(name);
    notes.pad(4);
    notes.bytes(n.desc);
    notes.pad(4);
  }
  const noteBytes = notes.out();
  const shoff = ehsize + nph * phentsize;
  const shentsize = is64 ? 64 : 40;
  const noteOff = shoff + (o.xnum ? shentsize : 0);

  const w = new Writer(o.bits, o.little);
  w.bytes(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, o.little ? 1 : 2, 1, 0]));
  w.str("", 8);
  w.u16(o.type ?? 4);
  w.u16(o.machine ?? (is64 ? 62 : 3));
  w.u32(1);
  w.word(0); // e_entry
  w.word(ehsize); // e_phoff
  w.word(o.xnum ? shoff : 0); // e_shoff
  w.u32(0);
  w.u16(ehsize);
  w.u16(phentsize);
  w.u16(o.xnum ? 0xffff : (o.phnumOverride ?? nph));
  w.u16(o.xnum ? shentsize : 0);
  w.u16(o.xnum ? 1 : 0);
  w.u16(0);
  const phdr = (off: bigint, size: bigint) => {
    w.u32(4); // PT_NOTE
    if (is64) {
      w.u32(0);
      w.word(off);
      w.word(0);
      w.word(0);
      w.word(size);
      w.word(0);
      w.word(4);
    } else {
      w.word(off);
      w.word(0);
      w.word(0);
      w.word(size);
      w.word(0);
      w.u32(0);
      w.word(4);
    }
  };
  phdr(BigInt(noteOff), BigInt(noteBytes.length));
  for (const [off, size] of o.extraNotes ?? []) phdr(off, size);
  if (o.xnum) {
    // section header 0: sh_info holds the real program header count
    const sh = new Writer(o.bits, o.little);
    if (is64) {
      sh.u32(0);
      sh.u32(0);
      sh.word(0);
      sh.word(0);
      sh.word(0);
      sh.word(0);
      sh.u32(0);
      sh.u32(o.phnumOverride ?? nph);
      sh.word(0);
      sh.word(0);
    } else {
      for (let i = 0; i < 7; i++) sh.u32(0);
      sh.u32(o.phnumOverride ?? nph);
      sh.u32(0);
      sh.u32(0);
    }
    w.bytes(sh.out());
  }
  w.bytes(noteBytes);
  return w.out();
}

function standardNotes(bits: 32 | 64, little: boolean, uid16 = false): BuildNote[] {
  return [
    { type: NT.PRSTATUS, desc: prstatus(bits, little, 11, 4242) },
    {
      type: NT.PRPSINFO,
      desc: prpsinfo(bits, little, {
        uid: 1000,
        pid: 4242,
        fname: "server",
        args: "/opt/app/server --port 80",
        uid16,
      }),
    },
    { name: "LINUX", type: 0x202, desc: new Uint8Array(40) }, // NT_X86_XSTATE-like: ignored
    { type: NT.PRSTATUS, desc: prstatus(bits, little, 0, 4243) },
    { type: NT.AUXV, desc: auxv(bits, little, [[9, 0x401234n]]) },
    {
      type: NT.FILE,
      desc: fileNote(bits, little, [
        { start: 0x100000n, end: 0x200000n, path: "/lib/ld.so" },
        { start: 0x400000n, end: 0x500000n, path: "/opt/app/server" },
      ]),
    },
  ];
}

describe("parseElfCore on hand-built cores", () => {
  const shapes = [
    { bits: 64, little: true, machine: 62, name: "x86_64", uid16: false },
    { bits: 64, little: false, machine: 22, name: "s390", uid16: false },
    { bits: 32, little: true, machine: 3, name: "i386", uid16: true },
    { bits: 32, little: false, machine: 20, name: "ppc", uid16: false },
  ] as const;
  for (const s of shapes) {
    it(`parses a ${s.bits}-bit ${s.little ? "little" : "big"}-endian core (${s.name})`, async () => {
      const core = buildCore({
        bits: s.bits,
        little: s.little,
        machine: s.machine,
        notes: standardNotes(s.bits, s.little, s.uid16),
      });
      expect(isElfCoreHeader(core)).toBe(true);
      const info = await parseElfCore(recordBuffer(core).read);
      expect(info).toEqual({
        signal: 11,
        signalName: "SIGSEGV",
        executable: "/opt/app/server", // the mapping that holds AT_ENTRY, not the first one
        commandLine: "/opt/app/server --port 80",
        comm: "server",
        uid: 1000,
        gid: 1000,
        pid: 4242,
        threads: 2,
        machine: s.name,
        bits: s.bits,
        endian: s.little ? "little" : "big",
        mappedFiles: ["/lib/ld.so", "/opt/app/server"],
      });
    });
  }

  it("prefers NT_SIGINFO's signal over pr_cursig", async () => {
    const sig = new Uint8Array(128);
    new DataView(sig.buffer).setInt32(0, 7, true);
    const core = buildCore({
      bits: 64,
      little: true,
      notes: [...standardNotes(64, true), { type: NT.SIGINFO, desc: sig }],
    });
    const info = await parseElfCore(recordBuffer(core).read);
    expect(info.signal).toBe(7);
    expect(info.signalName).toBe("SIGBUS");
  });

  it("names the executable after the comm, else the first mapping, when AT_ENTRY is missing", async () => {
    const notes = standardNotes(64, true).filter((n) => n.type !== NT.AUXV);
    expect(
      (await parseElfCore(recordBuffer(buildCore({ bits: 64, little: true, notes })).read))
        .executable,
    ).toBe("/opt/app/server");
    const renamed = notes.map((n) =>
      n.type === NT.PRPSINFO
        ? { ...n, desc: prpsinfo(64, true, { uid: 0, pid: 1, fname: "worker-3", args: "x" }) }
        : n,
    );
    const info = await parseElfCore(
      recordBuffer(buildCore({ bits: 64, little: true, notes: renamed })).read,
    );
    expect(info.executable).toBe("/lib/ld.so");
  });

  it("falls back to pr_fname without NT_FILE", async () => {
    const notes = standardNotes(64, true).filter((n) => n.type !== NT.FILE);
    const info = await parseElfCore(
      recordBuffer(buildCore({ bits: 64, little: true, notes })).read,
    );
    expect(info.executable).toBe("server");
    expect(info.mappedFiles).toBeUndefined();
  });

  it("uses the MIPS signal numbers on MIPS", async () => {
    const core = buildCore({
      bits: 32,
      little: false,
      machine: 8,
      notes: [{ type: NT.PRSTATUS, desc: prstatus(32, false, 10, 1) }],
    });
    const info = await parseElfCore(recordBuffer(core).read);
    expect(info.machine).toBe("mips");
    expect(info.signalName).toBe("SIGBUS");
  });

  it("reads the program header count from section 0 when e_phnum is PN_XNUM", async () => {
    const core = buildCore({ bits: 64, little: true, notes: standardNotes(64, true), xnum: true });
    const info = await parseElfCore(recordBuffer(core).read);
    expect(info.threads).toBe(2);
    expect(info.executable).toBe("/opt/app/server");
  });

  it("gives what it found from a core cut inside its notes", async () => {
    const full = buildCore({ bits: 64, little: true, notes: standardNotes(64, true) });
    const cut = full.subarray(0, full.length - 60); // inside NT_FILE
    const info = await parseElfCore(recordBuffer(cut).read);
    expect(info.notesTruncated).toBe(true);
    expect(info.signalName).toBe("SIGSEGV");
    expect(info.threads).toBe(2);
    expect(info.executable).toBe("server");
  });

  it("stops at a note whose size runs past its segment and reads nothing huge", async () => {
    const bad = new Writer(64, true);
    bad.u32(5);
    bad.u32(0xfffffff0); // descsz
    bad.u32(NT.FILE);
    bad.str("CORE", 8);
    const core = buildCore({
      bits: 64,
      little: true,
      notes: [{ type: NT.PRSTATUS, desc: prstatus(64, true, 6, 9) }],
    });
    const withBad = new Uint8Array(core.length + bad.length);
    withBad.set(core);
    withBad.set(bad.out(), core.length);
    // make the PT_NOTE cover the bad note too
    new DataView(withBad.buffer).setBigUint64(64 + 32, BigInt(withBad.length - 120), true);
    const rec = recordBuffer(withBad);
    const info = await parseElfCore(rec.read);
    expect(info.signalName).toBe("SIGABRT");
    expect(info.notesTruncated).toBe(true);
    expect(Math.max(...rec.ranges.map(([, l]) => l))).toBeLessThanOrEqual(ELF_LIMITS.chunkBytes);
  });

  it("refuses a PT_NOTE segment of absurd size without reading it", async () => {
    const core = buildCore({
      bits: 64,
      little: true,
      notes: standardNotes(64, true),
      extraNotes: [[1n << 40n, 1n << 40n]],
    });
    const rec = recordBuffer(core);
    const info = await parseElfCore(rec.read);
    expect(info.notesTruncated).toBe(true);
    expect(info.executable).toBe("/opt/app/server");
    expect(rec.ranges.every(([off]) => off < core.length)).toBe(true);
  });

  it("throws on an absurd program header count", async () => {
    const core = buildCore({
      bits: 64,
      little: true,
      notes: [],
      xnum: true,
      phnumOverride: 0x7fffffff,
    });
    await expect(parseElfCore(recordBuffer(core).read)).rejects.toThrow(/program headers/);
  });

  it("throws on garbage, non-core ELF files and truncated headers", async () => {
    const garbage = new TextEncoder().encode("#!/bin/sh\necho not a core\n".repeat(5));
    await expect(parseElfCore(recordBuffer(garbage).read)).rejects.toThrow(/not an ELF core/);
    const exec = buildCore({ bits: 64, little: true, type: 2, notes: [] });
    expect(isElfCoreHeader(exec)).toBe(false);
    await expect(parseElfCore(recordBuffer(exec).read)).rejects.toThrow(/not an ELF core/);
    const core = buildCore({ bits: 64, little: true, notes: [] });
    await expect(parseElfCore(recordBuffer(core.subarray(0, 40)).read)).rejects.toThrow(
      /truncated/,
    );
    await expect(parseElfCore(recordBuffer(new Uint8Array(0)).read)).rejects.toThrow();
  });
});

describe("isElfCoreHeader", () => {
  it("checks magic, class, data and e_type", () => {
    const core = buildCore({ bits: 32, little: false, notes: [] });
    expect(isElfCoreHeader(core.subarray(0, 20))).toBe(true);
    expect(isElfCoreHeader(core.subarray(0, 19))).toBe(false);
    const bad = core.slice(0, 64);
    bad[4] = 3;
    expect(isElfCoreHeader(bad)).toBe(false);
    const wrongEndian = core.slice(0, 64);
    wrongEndian[5] = 1; // e_type now reads 0x0400
    expect(isElfCoreHeader(wrongEndian)).toBe(false);
    expect(isElfCoreHeader(new TextEncoder().encode("\x7fELF but not really"))).toBe(false);
  });
});

describe("signalName", () => {
  it.each([
    [11, undefined, "SIGSEGV"],
    [6, undefined, "SIGABRT"],
    [7, "x86_64", "SIGBUS"],
    [8, "aarch64", "SIGFPE"],
    [4, undefined, "SIGILL"],
    [5, undefined, "SIGTRAP"],
    [31, undefined, "SIGSYS"],
    [35, undefined, "SIGRTMIN+1"],
    [7, "sparcv9", "SIGEMT"],
    [10, "mips", "SIGBUS"],
    [0, undefined, undefined],
    [-1, undefined, undefined],
    [99, undefined, undefined],
    [20, "mips", undefined],
  ] as const)("%d on %s is %s", (n, machine, name) => {
    expect(signalName(n, machine)).toBe(name);
  });
});
