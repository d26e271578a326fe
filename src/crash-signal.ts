// How a process died, in words: the signal, its si_code, the fault address, and what they suggest
// (a NULL pointer, a probable stack overflow).

export interface SignalCode {
  /** The kernel's constant, e.g. `SEGV_MAPERR`. */
  name: string;
  /** What it means, e.g. `address not mapped`. */
  text: string;
}

const GENERIC: Record<number, SignalCode> = {
  0: { name: "SI_USER", text: "sent by kill()" },
  128: { name: "SI_KERNEL", text: "sent by the kernel" },
  [-1]: { name: "SI_QUEUE", text: "sent by sigqueue()" },
  [-2]: { name: "SI_TIMER", text: "timer expired" },
  [-3]: { name: "SI_MESGQ", text: "message queue state changed" },
  [-4]: { name: "SI_ASYNCIO", text: "AIO completed" },
  [-5]: { name: "SI_SIGIO", text: "queued SIGIO" },
  [-6]: { name: "SI_TKILL", text: "sent by tkill() (raise(), abort())" },
};

const BY_SIGNAL: Record<string, Record<number, SignalCode>> = {
  SIGSEGV: {
    1: { name: "SEGV_MAPERR", text: "address not mapped" },
    2: { name: "SEGV_ACCERR", text: "invalid permissions for mapped object" },
    3: { name: "SEGV_BNDERR", text: "failed address bound checks" },
    4: { name: "SEGV_PKUERR", text: "access denied by memory protection keys" },
    5: { name: "SEGV_ACCADI", text: "ADI not enabled for mapped object" },
    6: { name: "SEGV_ADIDERR", text: "disrupting MCD error" },
    7: { name: "SEGV_ADIPERR", text: "precise MCD exception" },
    8: { name: "SEGV_MTEAERR", text: "asynchronous memory tag check fault" },
    9: { name: "SEGV_MTESERR", text: "synchronous memory tag check fault" },
    10: { name: "SEGV_CPERR", text: "control protection fault" },
  },
  SIGBUS: {
    1: { name: "BUS_ADRALN", text: "invalid address alignment" },
    2: {
      name: "BUS_ADRERR",
      text: "nonexistent physical address (beyond the end of a mapped file?)",
    },
    3: { name: "BUS_OBJERR", text: "object-specific hardware error" },
    4: { name: "BUS_MCEERR_AR", text: "hardware memory error consumed on a machine check" },
    5: { name: "BUS_MCEERR_AO", text: "hardware memory error detected, action optional" },
  },
  SIGFPE: {
    1: { name: "FPE_INTDIV", text: "integer divide by zero" },
    2: { name: "FPE_INTOVF", text: "integer overflow" },
    3: { name: "FPE_FLTDIV", text: "floating-point divide by zero" },
    4: { name: "FPE_FLTOVF", text: "floating-point overflow" },
    5: { name: "FPE_FLTUND", text: "floating-point underflow" },
    6: { name: "FPE_FLTRES", text: "floating-point inexact result" },
    7: { name: "FPE_FLTINV", text: "floating-point invalid operation" },
    8: { name: "FPE_FLTSUB", text: "subscript out of range" },
  },
  SIGILL: {
    1: { name: "ILL_ILLOPC", text: "illegal opcode" },
    2: { name: "ILL_ILLOPN", text: "illegal operand" },
    3: { name: "ILL_ILLADR", text: "illegal addressing mode" },
    4: { name: "ILL_ILLTRP", text: "illegal trap" },
    5: { name: "ILL_PRVOPC", text: "privileged opcode" },
    6: { name: "ILL_PRVREG", text: "privileged register" },
    7: { name: "ILL_COPROC", text: "coprocessor error" },
    8: { name: "ILL_BADSTK", text: "internal stack error" },
  },
  SIGTRAP: {
    1: { name: "TRAP_BRKPT", text: "process breakpoint" },
    2: { name: "TRAP_TRACE", text: "process trace trap" },
    3: { name: "TRAP_BRANCH", text: "process taken branch trap" },
    4: { name: "TRAP_HWBKPT", text: "hardware breakpoint or watchpoint" },
  },
};

/** Signals whose siginfo carries the faulting address (si_addr). */
export const FAULT_SIGNALS = new Set(["SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP"]);

/** The si_code of `signalName` in words; codes ≤ 0 and SI_KERNEL mean the same for every signal. */
export function signalCode(signalName: string | undefined, code: number): SignalCode | undefined {
  if (code === 128 && signalName === "SIGSEGV")
    return { name: "SI_KERNEL", text: "general protection fault (a non-canonical address?)" };
  if (code <= 0 || code === 128) return GENERIC[code];
  return signalName === undefined ? undefined : BY_SIGNAL[signalName]?.[code];
}

/** Faults below this address are read as a NULL pointer (plus a small member offset). */
export const NULL_PAGE_LIMIT = 4096n;
/** A SIGSEGV this close to the stack pointer is read as a probable stack overflow. */
export const STACK_OVERFLOW_DISTANCE = 64n * 1024n;

export interface DeathFacts {
  signal?: number;
  signalName?: string;
  code?: number;
  faultAddress?: bigint;
  stackPointer?: bigint;
  /** The fault lies in a mapping with no permissions (a guard page) next to the stack of the thread. */
  inStackGuard?: boolean;
}

export interface DeathVerdict {
  summary: string;
  nullPointer: boolean;
  probableStackOverflow: boolean;
}

export function hex(n: bigint): string {
  return `0x${n.toString(16)}`;
}

/** `SIGSEGV: address not mapped at 0x0 (NULL pointer)` and the flags behind it. */
export function describeDeath(f: DeathFacts): DeathVerdict {
  const name = f.signalName ?? (f.signal !== undefined ? `signal ${f.signal}` : "unknown signal");
  const code = f.code !== undefined ? signalCode(f.signalName, f.code) : undefined;
  const isFault =
    f.signalName !== undefined && FAULT_SIGNALS.has(f.signalName) && (f.code ?? 0) > 0;
  let nullPointer = false;
  let probableStackOverflow = false;
  let summary = name;
  if (code) summary += `: ${code.text} (${code.name})`;
  else if (f.code !== undefined) summary += `: si_code ${f.code}`;
  if (isFault && f.faultAddress !== undefined) {
    summary += ` at ${hex(f.faultAddress)}`;
    if (f.signalName === "SIGSEGV" || f.signalName === "SIGBUS") {
      const sp = f.stackPointer;
      const near =
        sp !== undefined &&
        (f.faultAddress > sp ? f.faultAddress - sp : sp - f.faultAddress) <=
          STACK_OVERFLOW_DISTANCE;
      if (f.faultAddress < NULL_PAGE_LIMIT) {
        nullPointer = true;
        summary += " (NULL pointer)";
      } else if (near || f.inStackGuard) {
        probableStackOverflow = true;
        summary += " (probable stack overflow)";
      }
    }
  }
  return { summary, nullPointer, probableStackOverflow };
}
