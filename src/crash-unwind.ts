// A frame-pointer walk over the stack memory in the core: bounded in frames, moving strictly up the
// stack (so chains that loop or go backwards end it), and saying where and why it stopped.
import type { CoreMemory } from "./crash-memory.js";
import type { RegisterLayout } from "./crash-registers.js";
import { hex } from "./crash-signal.js";

export const UNWIND_LIMITS = {
  maxFrames: 64,
  /** How far above sp a frame record is looked for when the chain breaks at the top. */
  scanBytes: 16n * 1024n,
  /** Signal frames (a handler interrupting code) followed in one walk. */
  maxSignalFrames: 4,
  /** A frame record further than this above the previous one is not believed. */
  maxFrameBytes: 1024n * 1024n,
};

export interface RawFrame {
  pc: bigint;
  /** How the frame was found. */
  how:
    | "pc"
    | "return address at sp"
    | "frame pointer"
    | "frame record found by scanning the stack"
    | "signal context";
}

export type StopCode =
  | "end-of-chain"
  | "frame-limit"
  | "no-registers"
  | "fp-misaligned"
  | "fp-backwards"
  | "fp-too-far"
  | "stack-unreadable"
  | "not-code";

export interface Walk {
  frames: RawFrame[];
  stop: { code: StopCode; reason: string };
  /** The chain broke right at the top (code without frame pointers, e.g. libc's abort()): the walk went on
   * from a frame record found by scanning the stack above sp, so frames between are missing. */
  gap?: { afterFrame: number; reason: string };
}

export async function walkFramePointers(
  layout: RegisterLayout,
  regs: Map<string, bigint> | undefined,
  memory: CoreMemory,
  maxFrames = UNWIND_LIMITS.maxFrames,
): Promise<Walk> {
  const pc = regs?.get(layout.pc);
  const sp = regs?.get(layout.sp);
  const fp = regs?.get(layout.fp);
  if (pc === undefined || sp === undefined || fp === undefined)
    return {
      frames: [],
      stop: { code: "no-registers", reason: "the thread's registers are not in the core" },
    };
  const frames: RawFrame[] = [{ pc, how: "pc" }];
  // A call through a bad pointer faults before the callee pushed anything: the caller's return address is
  // at sp and the frame pointer is still the caller's (gdb reads it the same way).
  if (!memory.isExecutable(pc) && layout.machine === "x86_64") {
    const ret = await memory.readWord(sp);
    if (typeof ret !== "string" && memory.isExecutable(ret))
      frames.push({ pc: ret, how: "return address at sp" });
  }
  const first = await follow(layout, memory, frames, fp, sp, maxFrames);
  const chained = frames.some((f) => f.how === "frame pointer");
  if (chained || first.code === "frame-limit" || first.code === "end-of-chain")
    return { frames, stop: first };
  const found = await scanForFrameRecord(layout, memory, sp);
  if (found === undefined) return { frames, stop: first };
  const gap = { afterFrame: frames.length - 1, reason: first.reason };
  const stop = await follow(
    layout,
    memory,
    frames,
    found,
    sp,
    maxFrames,
    "frame record found by scanning the stack",
  );
  return { frames, stop, gap };
}

async function follow(
  layout: RegisterLayout,
  memory: CoreMemory,
  frames: RawFrame[],
  start: bigint,
  sp: bigint,
  maxFrames: number,
  firstHow?: RawFrame["how"],
): Promise<Walk["stop"]> {
  let fp = start;
  let floor = sp;
  const w = 8n;
  let how = firstHow;
  let signals = 0;
  const stop = (code: StopCode, reason: string) => ({ code, reason });
  while (frames.length < maxFrames) {
    if (fp === 0n) return stop("end-of-chain", "the frame pointer is 0 (outermost frame)");
    if (fp % BigInt(layout.fpAlign) !== 0n)
      return stop("fp-misaligned", `the frame pointer ${hex(fp)} is not aligned`);
    if (fp < floor)
      return stop(
        "fp-backwards",
        `the frame pointer ${hex(fp)} points below the previous frame (${hex(floor)})`,
      );
    if (fp - floor > UNWIND_LIMITS.maxFrameBytes)
      return stop(
        "fp-too-far",
        `the frame pointer ${hex(fp)} is more than 1 MiB above the previous frame`,
      );
    const savedFp = await memory.readWord(fp + BigInt(layout.frameRecord.savedFp) * w);
    const ret = await memory.readWord(fp + BigInt(layout.frameRecord.returnAddress) * w);
    if (typeof savedFp === "string" || typeof ret === "string") {
      const miss = typeof savedFp === "string" ? savedFp : (ret as string);
      return stop("stack-unreadable", `the frame record at ${hex(fp)} is ${missText(miss)}`);
    }
    if (ret === 0n) return stop("end-of-chain", "the return address is 0 (outermost frame)");
    if (!memory.isExecutable(ret))
      return stop("not-code", `the return address ${hex(ret)} is not in executable memory`);
    frames.push({ pc: ret, how: how ?? "frame pointer" });
    how = undefined;
    // A signal handler's return address is the sigreturn trampoline, and the kernel's ucontext follows it:
    // go on from the registers the signal interrupted (where the fault happened), as gdb does.
    const ctx =
      signals < UNWIND_LIMITS.maxSignalFrames
        ? await signalContext(layout, memory, fp + 2n * w)
        : undefined;
    if (ctx && frames.length < maxFrames) {
      signals++;
      frames.push({ pc: ctx.pc, how: "signal context" });
      floor = ctx.sp;
      fp = ctx.fp;
      continue;
    }
    floor = fp + 2n * w;
    fp = savedFp;
  }
  return stop("frame-limit", `the walk stopped at the limit of ${maxFrames} frames`);
}

/** The lowest address above sp holding a frame record that chains to a second one (both pointing up the stack
 * and returning into executable memory): where the first function with a frame pointer keeps its record. */
async function scanForFrameRecord(
  layout: RegisterLayout,
  memory: CoreMemory,
  sp: bigint,
): Promise<bigint | undefined> {
  const w = 8n;
  const valid = async (at: bigint): Promise<bigint | undefined> => {
    const saved = await memory.readWord(at);
    const ret = await memory.readWord(at + w);
    if (typeof saved === "string" || typeof ret === "string") return undefined;
    if (!memory.isExecutable(ret)) return undefined;
    if (
      saved !== 0n &&
      (saved <= at || saved - at > UNWIND_LIMITS.maxFrameBytes || saved % w !== 0n)
    )
      return undefined;
    return saved;
  };
  const start = sp - (sp % BigInt(layout.fpAlign));
  for (let at = start; at < sp + UNWIND_LIMITS.scanBytes; at += w) {
    const saved = await valid(at);
    if (saved === undefined) continue;
    if (saved !== 0n && (await valid(saved)) !== undefined) return at;
  }
  return undefined;
}

/** x86_64 struct ucontext: uc_flags, uc_link, uc_stack (24 bytes), then mcontext gregs r8 … rip. */
const UC = {
  flags: 0n,
  link: 8n,
  rbp: 120n,
  rsp: 160n,
  rip: 168n,
  eflags: 176n,
  csgsfs: 184n,
  bytes: 192,
};
/** The user code segment selector of 64-bit Linux processes: the low 16 bits of csgsfs. */
const USER_CS = 0x33n;

/** The interrupted registers of a kernel signal frame whose ucontext starts at `at`, if one is there. */
async function signalContext(
  layout: RegisterLayout,
  memory: CoreMemory,
  at: bigint,
): Promise<{ pc: bigint; sp: bigint; fp: bigint } | undefined> {
  if (layout.machine !== "x86_64") return undefined;
  const uc = await memory.read(at, UC.bytes);
  if (typeof uc === "string") return undefined;
  const v = new DataView(uc.buffer, uc.byteOffset, uc.byteLength);
  const word = (o: bigint) => v.getBigUint64(Number(o), true);
  if (word(UC.flags) > 0xffn || word(UC.link) !== 0n) return undefined;
  // eflags bit 1 is always set; cs is the user code segment: a saved register set, not stack data
  if ((word(UC.eflags) & 2n) === 0n || word(UC.eflags) >= 1n << 22n) return undefined;
  if ((word(UC.csgsfs) & 0xffffn) !== USER_CS) return undefined;
  const pc = word(UC.rip);
  const sp = word(UC.rsp);
  if (sp === 0n || sp % 8n !== 0n || memory.segmentOf(sp) === undefined) return undefined;
  if (!memory.isExecutable(pc) && typeof (await memory.readWord(sp)) === "string") return undefined;
  return { pc, sp, fp: word(UC.rbp) };
}

function missText(miss: string): string {
  switch (miss) {
    case "unmapped":
      return "outside every segment of the core";
    case "not-dumped":
      return "in a segment the core does not contain";
    case "truncated":
      return "beyond the end of the file (a truncated core)";
    case "budget":
      return "beyond the read budget of this report";
    default:
      return miss;
  }
}
