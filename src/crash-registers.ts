// Where each register sits in NT_PRSTATUS pr_reg, per machine: one table per architecture, so that the
// report, the unwinder and the tests share a single description of the layout.

export interface RegisterLayout {
  machine: string;
  /** Byte offset of pr_reg inside elf_prstatus (112 on every 64-bit Linux). */
  prRegOffset: number;
  /** Register names in pr_reg order, each one word (8 bytes). */
  names: readonly string[];
  pc: string;
  sp: string;
  /** The frame-pointer register the unwinder follows. */
  fp: string;
  /** Where a frame record [saved fp, return address] sits relative to fp, in words. */
  frameRecord: { savedFp: number; returnAddress: number };
  /** Alignment the ABI keeps for fp (a misaligned fp ends the walk). */
  fpAlign: number;
}

/** struct user_regs_struct (arch/x86/include/asm/user_64.h). */
const X86_64: RegisterLayout = {
  machine: "x86_64",
  prRegOffset: 112,
  names: [
    "r15",
    "r14",
    "r13",
    "r12",
    "rbp",
    "rbx",
    "r11",
    "r10",
    "r9",
    "r8",
    "rax",
    "rcx",
    "rdx",
    "rsi",
    "rdi",
    "orig_rax",
    "rip",
    "cs",
    "eflags",
    "rsp",
    "ss",
    "fs_base",
    "gs_base",
    "ds",
    "es",
    "fs",
    "gs",
  ],
  pc: "rip",
  sp: "rsp",
  fp: "rbp",
  frameRecord: { savedFp: 0, returnAddress: 1 },
  fpAlign: 8,
};

/** struct user_pt_regs (arch/arm64/include/uapi/asm/ptrace.h): x0..x30, sp, pc, pstate. */
const AARCH64: RegisterLayout = {
  machine: "aarch64",
  prRegOffset: 112,
  names: [...Array.from({ length: 31 }, (_, i) => `x${i}`), "sp", "pc", "pstate"],
  pc: "pc",
  sp: "sp",
  fp: "x29",
  frameRecord: { savedFp: 0, returnAddress: 1 },
  fpAlign: 8,
};

const LAYOUTS: Record<string, RegisterLayout> = { x86_64: X86_64, aarch64: AARCH64 };

export function registerLayout(machine: string | undefined): RegisterLayout | undefined {
  return machine === undefined ? undefined : LAYOUTS[machine];
}

/** The registers of one NT_PRSTATUS descriptor (little-endian 64-bit), or undefined when it is too short. */
export function readRegisters(
  layout: RegisterLayout,
  prstatus: Uint8Array,
): Map<string, bigint> | undefined {
  const end = layout.prRegOffset + layout.names.length * 8;
  if (prstatus.length < end) return undefined;
  const v = new DataView(prstatus.buffer, prstatus.byteOffset, prstatus.byteLength);
  const regs = new Map<string, bigint>();
  layout.names.forEach((name, i) =>
    regs.set(name, v.getBigUint64(layout.prRegOffset + i * 8, true)),
  );
  return regs;
}
