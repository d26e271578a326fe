// The crash report on cores a real crash does not make: chains that loop or go backwards, a stack outside
// every segment, truncated files, no notes, absurd counts, and generated corrupt cores. Bounded and no
// exception (except "not an ELF core"), with what could not be read said in `problems`.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CORE_LIMITS } from "../../../../src/crash-core.js";
import { MEMORY_LIMITS } from "../../../../src/crash-memory.js";
import { crashReport, type CrashReport } from "../../../../src/crash-report.js";
import { UNWIND_LIMITS } from "../../../../src/crash-unwind.js";
import type { ReadFn } from "../../../../src/elf-core.js";
import { buildCore, elfImagePage, stackSegment, type SyntheticCore } from "./synthetic.js";

const EXE = 0x400000n;
const STACK = 0x7ffd0000n;
const STACK_SIZE = 0x4000;
const BUILD_ID = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
const R = 4; // PF_R
const RX = 5;
const RW = 6;

function reader(buf: Uint8Array): { read: ReadFn; bytes: () => number; calls: () => number } {
  let bytes = 0;
  let calls = 0;
  return {
    bytes: () => bytes,
    calls: () => calls,
    read: async (offset, length) => {
      calls++;
      const out = buf.subarray(offset, Math.min(buf.length, offset + length));
      bytes += out.length;
      return out;
    },
  };
}

/** An executable at EXE, code at EXE+0x1000, a stack at STACK whose frame records are `chain`. */
function core(
  chain: [bigint, bigint][],
  regs: Record<string, bigint>,
  extra: Partial<SyntheticCore> = {},
): Uint8Array {
  return buildCore({
    threads: [{ tid: 100, regs }],
    siginfo: { signo: 11, code: 1, addr: 0n },
    auxv: [[9n, EXE + 0x1000n]],
    files: [
      { start: EXE, end: EXE + 0x1000n, pageOffset: 0n, path: "/app/server" },
      { start: EXE + 0x1000n, end: EXE + 0x2000n, pageOffset: 1n, path: "/app/server" },
    ],
    loads: [
      { vaddr: EXE, data: elfImagePage(EXE, BUILD_ID), flags: R },
      { vaddr: EXE + 0x1000n, data: new Uint8Array(0), memsz: 0x1000n, flags: RX },
      { vaddr: STACK, data: stackSegment(STACK, STACK_SIZE, chain), flags: RW },
    ],
    ...extra,
  });
}

async function report(buf: Uint8Array): Promise<CrashReport> {
  return crashReport(reader(buf).read, { fileSize: buf.length });
}

const pc = (r: CrashReport) => r.crashingThread.backtrace.map((f) => f.pc);

describe("crash report of synthetic cores", () => {
  it("walks a frame-pointer chain to its end and names modules, offsets and the build-id", async () => {
    const fp1 = STACK + 0x100n;
    const fp2 = STACK + 0x200n;
    const r = await report(
      core(
        [
          [fp1, fp2],
          [fp1 + 8n, EXE + 0x1111n],
          [fp2, 0n],
          [fp2 + 8n, EXE + 0x1222n],
        ],
        { rip: EXE + 0x1010n, rsp: STACK + 0x80n, rbp: fp1 },
      ),
    );
    expect(pc(r)).toEqual(["0x401010", "0x401111", "0x401222"]);
    expect(r.crashingThread.backtrace.map((f) => f.offset)).toEqual(["0x1010", "0x1111", "0x1222"]);
    expect(r.crashingThread.stop.code).toBe("end-of-chain");
    expect(r.modules).toEqual([
      {
        path: "/app/server",
        base: "0x400000",
        end: "0x402000",
        buildId: "deadbeef01020304",
        executable: true,
      },
    ]);
    expect(r.death.summary).toBe("SIGSEGV: address not mapped (SEGV_MAPERR) at 0x0 (NULL pointer)");
    expect(r.fingerprint.basis).toEqual([
      "v1",
      "exe deadbeef01020304",
      "signal SIGSEGV",
      "frame deadbeef01020304+0x1010",
      "frame deadbeef01020304+0x1111",
      "frame deadbeef01020304+0x1222",
    ]);
    expect(r.problems).toEqual([]);
    expect(r.complete).toBe(true);
  });

  it("stops a chain that loops on itself", async () => {
    const fp = STACK + 0x100n;
    const r = await report(
      core(
        [
          [fp, fp],
          [fp + 8n, EXE + 0x1111n],
        ],
        { rip: EXE + 0x1010n, rsp: STACK, rbp: fp },
      ),
    );
    expect(pc(r)).toEqual(["0x401010", "0x401111"]);
    expect(r.crashingThread.stop.code).toBe("fp-backwards");
  });

  it("stops a chain that goes backwards down the stack", async () => {
    const fp1 = STACK + 0x200n;
    const fp2 = STACK + 0x100n;
    const r = await report(
      core(
        [
          [fp1, fp2],
          [fp1 + 8n, EXE + 0x1111n],
          [fp2, STACK + 0x300n],
          [fp2 + 8n, EXE + 0x1222n],
        ],
        { rip: EXE + 0x1010n, rsp: STACK, rbp: fp1 },
      ),
    );
    expect(pc(r)).toEqual(["0x401010", "0x401111"]);
    expect(r.crashingThread.stop).toMatchObject({ code: "fp-backwards" });
    expect(r.crashingThread.stop.reason).toContain("below the previous frame");
  });

  it("stops at the frame limit on an endless valid chain, reading a bounded number of bytes", async () => {
    const chain: [bigint, bigint][] = [];
    for (let i = 0n; i < 500n; i++) {
      const fp = STACK + 0x20n + i * 0x20n;
      chain.push([fp, fp + 0x20n], [fp + 8n, EXE + 0x1100n + i]);
    }
    const buf = core(chain, { rip: EXE + 0x1010n, rsp: STACK, rbp: STACK + 0x20n });
    const rd = reader(buf);
    const r = await crashReport(rd.read);
    expect(r.crashingThread.backtrace).toHaveLength(UNWIND_LIMITS.maxFrames);
    expect(r.crashingThread.stop.code).toBe("frame-limit");
    expect(rd.bytes()).toBeLessThan(buf.length);
  });

  it("says so when the stack pointer and frame pointer are outside every segment", async () => {
    const r = await report(core([], { rip: EXE + 0x1010n, rsp: 0x1234560n, rbp: 0x1234600n }));
    expect(pc(r)).toEqual(["0x401010"]);
    expect(r.crashingThread.stop.code).toBe("stack-unreadable");
    expect(r.crashingThread.stop.reason).toContain("outside every segment");
  });

  it("reads a stack overflow: a fault in the guard page under the stack", async () => {
    const buf = buildCore({
      threads: [{ tid: 7, regs: { rip: EXE + 0x1010n, rsp: STACK + 0x2000n, rbp: 0n } }],
      siginfo: { signo: 11, code: 2, addr: STACK - 0x800n },
      loads: [
        { vaddr: STACK - 0x1000n, data: new Uint8Array(0), memsz: 0x1000n, flags: 0 },
        { vaddr: STACK, data: new Uint8Array(STACK_SIZE), flags: RW },
      ],
    });
    const r = await report(buf);
    expect(r.death.summary).toBe(
      `SIGSEGV: invalid permissions for mapped object (SEGV_ACCERR) at 0x${(STACK - 0x800n).toString(16)} (probable stack overflow)`,
    );
    expect(r.death.probableStackOverflow).toBe(true);
  });

  it("names SIGBUS, SIGILL, SIGTRAP and SIGFPE codes", async () => {
    const cases: [number, number, string][] = [
      [
        7,
        2,
        "SIGBUS: nonexistent physical address (beyond the end of a mapped file?) (BUS_ADRERR) at 0x7f00",
      ],
      [4, 1, "SIGILL: illegal opcode (ILL_ILLOPC) at 0x7f00"],
      [5, 1, "SIGTRAP: process breakpoint (TRAP_BRKPT) at 0x7f00"],
      [8, 1, "SIGFPE: integer divide by zero (FPE_INTDIV) at 0x7f00"],
      [6, -6, "SIGABRT: sent by tkill() (raise(), abort()) (SI_TKILL)"],
    ];
    for (const [signo, code, summary] of cases) {
      const r = await report(
        buildCore({
          threads: [{ tid: 1, regs: { rip: 0x7f00n, rsp: STACK } }],
          siginfo: { signo, code, addr: 0x7f00n },
          loads: [],
        }),
      );
      expect(r.death.summary).toBe(summary);
    }
  });

  it("reports a core without notes", async () => {
    const r = await report(core([], { rip: EXE }, { noNotes: true }));
    expect(r.problems.join("\n")).toContain("no PT_NOTE");
    expect(r.process.threads).toBe(0);
    expect(r.complete).toBe(false);
  });

  it("reports an NT_FILE with an absurd count", async () => {
    const r = await report(core([], { rip: EXE + 0x1010n, rsp: STACK }, { fileCount: 1n << 60n }));
    expect(r.problems.join("\n")).toMatch(/NT_FILE claims 1152921504606846976 mappings/);
    expect(r.modules.map((m) => m.path)).toEqual(["/app/server"]);
  });

  it("reports an absurd program header count", async () => {
    const buf = core([], { rip: EXE });
    new DataView(buf.buffer).setUint16(56, 0xffff, true); // PN_XNUM, with no section header behind it
    const r = await report(buf);
    expect(r.problems.length).toBeGreaterThan(0);
  });

  it("reports a core truncated inside its memory and inside its notes", async () => {
    const fp1 = STACK + 0x100n;
    const full = core(
      [
        [fp1, 0n],
        [fp1 + 8n, EXE + 0x1111n],
      ],
      { rip: EXE + 0x1010n, rsp: STACK, rbp: fp1 },
    );
    const r1 = await report(full.subarray(0, full.length - STACK_SIZE + 0x80));
    expect(r1.crashingThread.stop.reason).toContain("beyond the end of the file");
    const r2 = await report(full.subarray(0, 64 + 4 * 56 + 400));
    expect(r2.problems.join("\n")).toMatch(/notes end early|truncated/);
  });

  it("refuses a file that is not an ELF core with a clear error", async () => {
    await expect(
      report(new TextEncoder().encode("hello, this is not a core file at all")),
    ).rejects.toThrow("not an ELF core file");
  });

  it("never throws and stays bounded on generated corrupt cores", async () => {
    const fp1 = STACK + 0x100n;
    const fp2 = STACK + 0x200n;
    const base = core(
      [
        [fp1, fp2],
        [fp1 + 8n, EXE + 0x1111n],
        [fp2, 0n],
        [fp2 + 8n, EXE + 0x1222n],
      ],
      { rip: EXE + 0x1010n, rsp: STACK + 0x80n, rbp: fp1 },
    );
    const notesEnd = 64 + 4 * 56 + 2000;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.nat({ max: 255 })), {
          maxLength: 40,
        }),
        fc.array(
          fc.tuple(fc.nat({ max: notesEnd }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
          { maxLength: 6 },
        ),
        fc.option(fc.nat({ max: base.length }), { nil: undefined }),
        async (flips, words, cut) => {
          const buf = base.slice(0, cut ?? base.length);
          for (const [off, val] of flips) if (off < buf.length) buf[off] = val;
          const v = new DataView(buf.buffer);
          for (const [off, val] of words) if (off + 8 <= buf.length) v.setBigUint64(off, val, true);
          const rd = reader(buf);
          let r: CrashReport;
          try {
            r = await crashReport(rd.read, { fileSize: buf.length });
          } catch (err) {
            expect((err as Error).message).toMatch(/^not an ELF core file/);
            return;
          }
          expect(r.crashingThread.backtrace.length).toBeLessThanOrEqual(UNWIND_LIMITS.maxFrames);
          expect(JSON.parse(JSON.stringify(r)).schemaVersion).toBe(1);
          expect(r.complete).toBe(r.problems.length === 0);
          // what it read: headers, notes (bounded) and memory pages (budget), never more than that
          expect(rd.bytes()).toBeLessThanOrEqual(
            64 +
              CORE_LIMITS.maxProgramHeaders * 56 +
              CORE_LIMITS.maxNoteBytes +
              2 * MEMORY_LIMITS.maxBytesRead,
          );
          expect(rd.calls()).toBeLessThan(10_000);
        },
      ),
      { numRuns: 400, seed: 12 },
    );
  });
});
