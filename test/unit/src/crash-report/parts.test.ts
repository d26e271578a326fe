// The small parts of the crash report on their own: SHA-256, signal codes in words, the death summary,
// the fingerprint's rules, the register tables.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fingerprint } from "../../../../src/crash-fingerprint.js";
import { readRegisters, registerLayout } from "../../../../src/crash-registers.js";
import { describeDeath, signalCode } from "../../../../src/crash-signal.js";
import { sha256Hex } from "../../../../src/sha256.js";

describe("sha256Hex", () => {
  it("equals node:crypto on any input", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(sha256Hex(b)).toBe(createHash("sha256").update(b).digest("hex"));
      }),
      { numRuns: 300 },
    );
    expect(sha256Hex("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
});

describe("signal codes and the death summary", () => {
  it("names si_code per signal and the generic codes", () => {
    expect(signalCode("SIGSEGV", 2)).toEqual({
      name: "SEGV_ACCERR",
      text: "invalid permissions for mapped object",
    });
    expect(signalCode("SIGBUS", 1)?.name).toBe("BUS_ADRALN");
    expect(signalCode("SIGFPE", 1)?.name).toBe("FPE_INTDIV");
    expect(signalCode("SIGILL", 1)?.name).toBe("ILL_ILLOPC");
    expect(signalCode("SIGTRAP", 1)?.name).toBe("TRAP_BRKPT");
    expect(signalCode("SIGABRT", -6)?.name).toBe("SI_TKILL");
    expect(signalCode("SIGSEGV", 128)?.text).toMatch(/^general protection fault/);
    expect(signalCode("SIGBUS", 128)?.text).toBe("sent by the kernel");
    expect(signalCode("SIGSEGV", 99)).toBeUndefined();
  });

  it("reads NULL pointers and faults next to the stack pointer", () => {
    expect(
      describeDeath({ signal: 11, signalName: "SIGSEGV", code: 1, faultAddress: 0n }).summary,
    ).toBe("SIGSEGV: address not mapped (SEGV_MAPERR) at 0x0 (NULL pointer)");
    const sp = 0x7ffc00001000n;
    const near = describeDeath({
      signal: 11,
      signalName: "SIGSEGV",
      code: 1,
      faultAddress: sp - 8n,
      stackPointer: sp,
    });
    expect(near.probableStackOverflow).toBe(true);
    const far = describeDeath({
      signal: 11,
      signalName: "SIGSEGV",
      code: 1,
      faultAddress: 0x5000000n,
      stackPointer: sp,
    });
    expect(far).toEqual({
      summary: "SIGSEGV: address not mapped (SEGV_MAPERR) at 0x5000000",
      nullPointer: false,
      probableStackOverflow: false,
    });
    // a kill -SEGV has no fault address
    expect(
      describeDeath({ signal: 11, signalName: "SIGSEGV", code: 0, faultAddress: 0n }).summary,
    ).toBe("SIGSEGV: sent by kill() (SI_USER)");
  });
});

describe("fingerprint", () => {
  const libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  const f = (module: string, offset: bigint, modulePath = module) => ({
    module,
    offset,
    modulePath,
  });

  it("depends on the executable, the signal and the top three frames only", () => {
    const frames = [f("app", 0x10n), f("app", 0x20n), f("app", 0x30n), f("app", 0x40n)];
    const a = fingerprint("app-id", "SIGSEGV", frames);
    expect(fingerprint("app-id", "SIGSEGV", [...frames.slice(0, 3), f("app", 0x99n)]).id).toBe(
      a.id,
    );
    expect(fingerprint("app-id", "SIGSEGV", [f("app", 0x11n), ...frames.slice(1)]).id).not.toBe(
      a.id,
    );
    expect(fingerprint("app-id", "SIGBUS", frames).id).not.toBe(a.id);
    expect(fingerprint("other-build", "SIGSEGV", frames).id).not.toBe(a.id);
    expect(a.short).toBe(a.id.slice(0, 12));
  });

  it("skips the C runtime's frames on top when the program's frames follow", () => {
    const ours = [f("app", 0x10n), f("app", 0x20n), f("app", 0x30n)];
    const a = fingerprint("app", "SIGABRT", [f("libc-id", 0x8aeecn, libc), ...ours]);
    expect(a.basis.slice(3)).toEqual(["frame app+0x10", "frame app+0x20", "frame app+0x30"]);
    const only = fingerprint("app", "SIGABRT", [f("libc-id", 0x8aeecn, libc)]);
    expect(only.basis.slice(3)).toEqual(["frame libc-id+0x8aeec"]);
  });
});

describe("register tables", () => {
  it("read x86_64 and aarch64 pr_reg at offset 112", () => {
    const d = new Uint8Array(112 + 34 * 8);
    const v = new DataView(d.buffer);
    for (let i = 0; i < 34; i++) v.setBigUint64(112 + i * 8, BigInt(i + 1), true);
    const x = readRegisters(registerLayout("x86_64")!, d)!;
    expect([x.get("r15"), x.get("rbp"), x.get("rip"), x.get("rsp"), x.get("gs")]).toEqual([
      1n,
      5n,
      17n,
      20n,
      27n,
    ]);
    const a = readRegisters(registerLayout("aarch64")!, d)!;
    expect([a.get("x0"), a.get("x29"), a.get("sp"), a.get("pc"), a.get("pstate")]).toEqual([
      1n,
      30n,
      32n,
      33n,
      34n,
    ]);
    expect(readRegisters(registerLayout("x86_64")!, d.subarray(0, 200))).toBeUndefined();
    expect(registerLayout("mips")).toBeUndefined();
  });
});
