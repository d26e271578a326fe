// The crash report of an ELF core: how the process died, its threads, its modules, the backtrace of the
// crashing thread and a fingerprint, read through an injected reader from the notes, the program headers
// and the few memory pages it needs. Never throws on a bad core: what it could not read is in `problems`.
import { CoreReader, readCoreLayout, type CoreLayout } from "./crash-core.js";
import { fingerprint, type Fingerprint } from "./crash-fingerprint.js";
import { CoreMemory } from "./crash-memory.js";
import { readModules, type Module } from "./crash-modules.js";
import { readRegisters, registerLayout, type RegisterLayout } from "./crash-registers.js";
import { describeDeath, hex, signalCode } from "./crash-signal.js";
import { walkFramePointers, type RawFrame, type StopCode } from "./crash-unwind.js";
import { parseElfCore, signalName, type ReadFn } from "./elf-core.js";

export const CRASH_REPORT_SCHEMA_VERSION = 1;
export const REPORT_LIMITS = { maxOtherThreads: 256 };

export interface ReportFrame {
  pc: string;
  module?: string;
  buildId?: string;
  /** pc minus the module's load address. */
  offset?: string;
  how: RawFrame["how"];
}

export interface CrashReport {
  schemaVersion: typeof CRASH_REPORT_SCHEMA_VERSION;
  /** False when something could not be read; `problems` says what. */
  complete: boolean;
  problems: string[];
  machine?: string;
  process: {
    pid?: number;
    executable?: string;
    commandLine?: string;
    uid?: number;
    gid?: number;
    threads: number;
  };
  death: {
    summary: string;
    signal?: number;
    signalName?: string;
    code?: number;
    codeName?: string;
    codeText?: string;
    faultAddress?: string;
    nullPointer: boolean;
    probableStackOverflow: boolean;
    /** For signals sent by a process (kill, tkill): who sent it. */
    sender?: { pid: number; uid: number };
  };
  crashingThread: {
    tid?: number;
    registers?: Record<string, string>;
    backtrace: ReportFrame[];
    stop: { code: StopCode; reason: string };
    /** Set when the frame-pointer chain broke at the top and the walk went on from a frame record found on
     * the stack: frames after `afterFrame` and before the next one are missing. */
    gap?: { afterFrame: number; reason: string };
  };
  otherThreads: { tid: number; top?: ReportFrame }[];
  modules: {
    path: string;
    base: string;
    end: string;
    buildId?: string;
    buildIdMissing?: string;
    executable?: boolean;
  }[];
  fingerprint: Fingerprint;
  /** Bytes this report read from the core (headers, notes and memory pages). */
  bytesRead: number;
}

const MACHINES: Record<number, string> = {
  3: "i386",
  40: "arm",
  62: "x86_64",
  183: "aarch64",
  243: "riscv",
};
const AT_ENTRY = 9n;
const AT_SYSINFO_EHDR = 33n;

function auxv(d: Uint8Array | undefined, key: bigint): bigint | undefined {
  if (!d) return undefined;
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  for (let off = 0; off + 16 <= d.length; off += 16) {
    const t = v.getBigUint64(off, true);
    if (t === 0n) return undefined;
    if (t === key) return v.getBigUint64(off + 8, true);
  }
  return undefined;
}

export interface CrashReportOptions {
  /** The size of the core file, when known: reads beyond it are not attempted. */
  fileSize?: number;
  maxFrames?: number;
}

/** The crash report of the ELF core behind `read`. Throws only when the file is not an ELF core. */
export async function crashReport(
  read: ReadFn,
  options: CrashReportOptions = {},
): Promise<CrashReport> {
  const reader = new CoreReader(read);
  const layout = await readCoreLayout(read, reader);
  if ("notCore" in layout) throw new Error(layout.notCore);
  const problems = layout.problems;
  const report = emptyReport(layout);
  try {
    await fill(report, layout, reader, read, options);
  } catch (err) {
    problems.push(`the report stopped early: ${(err as Error).message}`);
  }
  report.bytesRead = reader.bytesRead;
  report.complete = problems.length === 0;
  return report;
}

function emptyReport(layout: CoreLayout): CrashReport {
  return {
    schemaVersion: CRASH_REPORT_SCHEMA_VERSION,
    complete: false,
    problems: layout.problems,
    machine:
      layout.machine !== undefined
        ? (MACHINES[layout.machine] ?? `e_machine ${layout.machine}`)
        : undefined,
    process: { threads: layout.threadCount },
    death: { summary: "unknown", nullPointer: false, probableStackOverflow: false },
    crashingThread: {
      backtrace: [],
      stop: { code: "no-registers", reason: "the core holds no thread" },
    },
    otherThreads: [],
    modules: [],
    fingerprint: fingerprint(undefined, undefined, []),
    bytesRead: 0,
  };
}

async function fill(
  report: CrashReport,
  layout: CoreLayout,
  reader: CoreReader,
  read: ReadFn,
  options: CrashReportOptions,
): Promise<void> {
  const problems = layout.problems;
  try {
    const info = await parseElfCore(read);
    report.process = {
      pid: info.pid,
      executable: info.executable,
      commandLine: info.commandLine,
      uid: info.uid,
      gid: info.gid,
      threads: layout.threadCount,
    };
  } catch (err) {
    problems.push(`process facts could not be read: ${(err as Error).message}`);
  }
  const memory = new CoreMemory(reader, layout.loads, options.fileSize);
  const entry = auxv(layout.auxv, AT_ENTRY);
  const modules = await readModules(
    layout.files,
    memory,
    auxv(layout.auxv, AT_SYSINFO_EHDR),
    entry,
    problems,
  );
  if (layout.files.length === 0)
    problems.push("no mapped files could be read (NT_FILE): no modules");
  report.modules = modules.map((m) => ({
    path: m.path,
    base: hex(m.base),
    end: hex(m.end),
    ...(m.buildId ? { buildId: m.buildId } : { buildIdMissing: m.buildIdMissing }),
    ...(m.executable ? { executable: true } : {}),
  }));

  const regLayout = registerLayout(report.machine);
  if (!regLayout) problems.push(`registers of ${report.machine ?? "this machine"} are not read`);
  const first = layout.threads[0];
  const regs = first && regLayout ? readRegisters(regLayout, first.prstatus) : undefined;
  if (first && regLayout && !regs)
    problems.push("the crashing thread's NT_PRSTATUS is too short for its registers");

  // How it died
  const si = layout.siginfo;
  let signal: number | undefined;
  let code: number | undefined;
  let fault: bigint | undefined;
  if (si && si.length >= 24) {
    const v = new DataView(si.buffer, si.byteOffset, si.byteLength);
    signal = v.getInt32(0, true);
    code = v.getInt32(8, true);
    fault = v.getBigUint64(16, true);
    if (code <= 0) report.death.sender = { pid: v.getInt32(16, true), uid: v.getUint32(20, true) };
  } else {
    problems.push(
      "the core has no NT_SIGINFO: the signal is pr_cursig, without si_code or fault address",
    );
    if (first && first.cursig > 0) signal = first.cursig;
  }
  const name = signal !== undefined ? signalName(signal, report.machine) : undefined;
  const sc = code !== undefined ? signalCode(name, code) : undefined;
  const isFault = code !== undefined && code > 0 && code !== 128;
  const sp = regs && regLayout ? regs.get(regLayout.sp) : undefined;
  const verdict = describeDeath({
    signal,
    signalName: name,
    code,
    faultAddress: isFault ? fault : undefined,
    stackPointer: sp,
    inStackGuard:
      isFault && fault !== undefined && sp !== undefined && inGuardBelow(layout, fault, sp),
  });
  report.death = {
    summary: verdict.summary,
    signal,
    signalName: name,
    code,
    codeName: sc?.name,
    codeText: sc?.text,
    faultAddress: isFault && fault !== undefined ? hex(fault) : undefined,
    nullPointer: verdict.nullPointer,
    probableStackOverflow: verdict.probableStackOverflow,
    sender: report.death.sender,
  };

  // Crashing thread
  const symbolize = (f: RawFrame): ReportFrame => frameOf(f, layout, modules);
  if (first) {
    report.crashingThread.tid = first.tid;
    if (regs)
      report.crashingThread.registers = Object.fromEntries([...regs].map(([k, v]) => [k, hex(v)]));
  }
  if (regLayout) {
    const walk = await walkFramePointers(regLayout, regs, memory, options.maxFrames);
    report.crashingThread.backtrace = walk.frames.map(symbolize);
    report.crashingThread.stop = walk.stop;
    if (walk.gap) report.crashingThread.gap = walk.gap;
    if (memory.budgetExhausted)
      problems.push("the memory read budget ran out: the backtrace may be short");
  }
  for (const t of layout.threads.slice(1, 1 + REPORT_LIMITS.maxOtherThreads)) {
    const r = regLayout ? readRegisters(regLayout, t.prstatus) : undefined;
    const pc = r && regLayout ? r.get(regLayout.pc) : undefined;
    report.otherThreads.push({
      tid: t.tid,
      ...(pc !== undefined ? { top: symbolize({ pc, how: "pc" }) } : {}),
    });
  }
  if (layout.threadCount > 1 + REPORT_LIMITS.maxOtherThreads)
    problems.push(`only the first ${REPORT_LIMITS.maxOtherThreads} other threads are listed`);

  const exe = modules.find((m) => m.executable);
  report.fingerprint = fingerprint(
    exe
      ? (exe.buildId ?? basename(exe.path))
      : report.process.executable
        ? basename(report.process.executable)
        : undefined,
    name,
    report.crashingThread.backtrace.map((f) => ({
      module: f.buildId ?? (f.module ? basename(f.module) : undefined),
      modulePath: f.module,
      offset: f.offset !== undefined ? BigInt(f.offset) : undefined,
      signalContext: f.how === "signal context",
    })),
  );
}

function frameOf(f: RawFrame, layout: CoreLayout, modules: readonly Module[]): ReportFrame {
  const out: ReportFrame = { pc: hex(f.pc), how: f.how };
  const mapping = layout.files.find((m) => f.pc >= m.start && f.pc < m.end);
  const mod = mapping
    ? modules.find((m) => m.path === mapping.path && f.pc >= m.base && f.pc < m.end)
    : modules.find((m) => m.path === "[vdso]" && f.pc >= m.base && f.pc < m.end);
  if (mod) {
    out.module = mod.path;
    if (mod.buildId) out.buildId = mod.buildId;
    out.offset = hex(f.pc - mod.base);
  } else if (mapping) {
    out.module = mapping.path;
    out.offset = hex(f.pc - mapping.start + mapping.fileOffset);
  }
  return out;
}

/** The fault is in a no-access mapping (a guard page) right below the mapping that holds the stack pointer. */
function inGuardBelow(layout: CoreLayout, fault: bigint, sp: bigint): boolean {
  const loads = layout.loads;
  const i = loads.findIndex((s) => fault >= s.vaddr && fault < s.vaddr + s.memsz);
  const stack = loads.findIndex((s) => sp >= s.vaddr && sp < s.vaddr + s.memsz);
  if (stack < 0) return false;
  if (i >= 0) return loads[i]!.flags === 0 && i + 1 === stack;
  // Not mapped at all: just below the stack's mapping (the kernel's stack guard gap).
  const s = loads[stack]!;
  return fault < s.vaddr && s.vaddr - fault <= 1024n * 1024n;
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

export type { RegisterLayout };
