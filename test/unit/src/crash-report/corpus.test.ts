// The crash report of real crashes, judged by gdb ($_siginfo, bt) and eu-unstrip (build-ids) on the same
// cores. Programs are compiled once into a temporary directory and crashed in a private mount namespace.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MEMORY_LIMITS } from "../../../../src/crash-memory.js";
import { crashReport, type CrashReport } from "../../../../src/crash-report.js";
import {
  coreDumpsPossible,
  crash,
  euUnstrip,
  fileReader,
  FIXTURES,
  gdbRead,
  holdCoreDumps,
  realpath,
  type GdbReading,
} from "./support.js";

/** How strictly the backtrace is judged: every frame at gdb's depth, in gdb's order, or frame 0 only. */
type Judge = "depth" | "subsequence" | "top";

interface Case {
  name: string;
  argv: () => string[];
  env?: Record<string, string>;
  judge: Judge;
  signal: string;
  /** Extra checks on the report. */
  check?: (r: CrashReport, g: GdbReading) => void;
  /** Skip reason when the toolchain for it is missing. */
  missing?: () => string | undefined;
}

const possible = coreDumpsPossible();
const dir = mkdtempSync(join(tmpdir(), "coredog-crashreport-"));
const bin = (n: string) => join(dir, n);
const cores = join(dir, "cores");
let release: (() => Promise<void>) | undefined;

function have(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

beforeAll(async () => {
  if (!possible.ok) return;
  execFileSync("mkdir", ["-p", cores]);
  const src = (f: string) => join(FIXTURES, f);
  const fp = ["-O0", "-g", "-fno-omit-frame-pointer"];
  execFileSync("gcc", [...fp, "-shared", "-fPIC", "-o", bin("libboom.so"), src("libboom.c")]);
  const link = ["-pthread", `-L${dir}`, "-lboom", `-Wl,-rpath,${dir}`];
  execFileSync("gcc", [...fp, "-o", bin("c-O0"), src("crasher.c"), ...link]);
  execFileSync("gcc", [
    "-O2",
    "-g",
    "-fomit-frame-pointer",
    "-o",
    bin("c-O2"),
    src("crasher.c"),
    ...link,
  ]);
  if (have("g++")) execFileSync("g++", [...fp, "-o", bin("cpp"), src("uncaught.cpp")]);
  if (have("rustc"))
    execFileSync("rustc", [
      "-C",
      "panic=abort",
      "-C",
      "force-frame-pointers=yes",
      "-o",
      bin("rust"),
      src("panic.rs"),
    ]);
  if (have("go")) {
    const env = {
      ...process.env,
      GOCACHE: join(dir, "gocache"),
      GOPATH: join(dir, "gopath"),
      GO111MODULE: "off",
    };
    execFileSync("go", ["build", "-o", bin("go"), src("nilpointer.go")], { env });
  }
  release = await holdCoreDumps();
}, 180_000);

afterAll(async () => {
  await release?.();
  rmSync(dir, { recursive: true, force: true });
});

const CASES: Case[] = [
  {
    name: "C -O0 frame pointers, NULL write",
    argv: () => [bin("c-O0"), "null"],
    judge: "depth",
    signal: "SIGSEGV",
    check: (r) => {
      expect(r.death.summary).toBe(
        "SIGSEGV: address not mapped (SEGV_MAPERR) at 0x0 (NULL pointer)",
      );
      expect(r.death.nullPointer).toBe(true);
    },
  },
  {
    name: "C -O2 -fomit-frame-pointer, NULL write",
    argv: () => [bin("c-O2"), "null"],
    judge: "top",
    signal: "SIGSEGV",
    check: (r) => expect(r.death.nullPointer).toBe(true),
  },
  {
    name: "C -O0, NULL member read (0x10)",
    argv: () => [bin("c-O0"), "member"],
    judge: "depth",
    signal: "SIGSEGV",
    check: (r) => expect(r.death.summary).toMatch(/at 0x10 \(NULL pointer\)$/),
  },
  {
    name: "C -O0, call through a NULL function pointer",
    argv: () => [bin("c-O0"), "callnull"],
    judge: "depth",
    signal: "SIGSEGV",
    check: (r) => expect(r.crashingThread.backtrace[1]?.how).toBe("return address at sp"),
  },
  {
    name: "C -O0, stack overflow by recursion",
    argv: () => [bin("c-O0"), "overflow"],
    judge: "depth",
    signal: "SIGSEGV",
    check: (r) => {
      expect(r.death.probableStackOverflow).toBe(true);
      expect(r.death.summary).toMatch(/\(probable stack overflow\)$/);
      expect(r.crashingThread.stop.code).toBe("frame-limit");
    },
  },
  {
    name: "C -O0, integer divide by zero",
    argv: () => [bin("c-O0"), "div"],
    judge: "depth",
    signal: "SIGFPE",
    check: (r) => expect(r.death.codeName).toBe("FPE_INTDIV"),
  },
  {
    name: "C -O2 -fomit-frame-pointer, integer divide by zero",
    argv: () => [bin("c-O2"), "div"],
    judge: "top",
    signal: "SIGFPE",
  },
  {
    name: "C -O0, abort() in a shared library of its own",
    argv: () => [bin("c-O0"), "abortlib"],
    judge: "subsequence",
    signal: "SIGABRT",
    check: (r) => {
      expect(r.death.codeName).toBe("SI_TKILL");
      expect(r.death.sender?.pid).toBe(r.process.pid);
      const mods = r.crashingThread.backtrace.map((f) => f.module ?? "");
      expect(mods.some((m) => m.endsWith("/libboom.so"))).toBe(true);
    },
  },
  {
    name: "C -O0, crash in a non-main thread of 4",
    argv: () => [bin("c-O0"), "thread"],
    judge: "depth",
    signal: "SIGSEGV",
    check: (r) => {
      expect(r.process.threads).toBe(4);
      expect(r.crashingThread.tid).not.toBe(r.process.pid);
      expect(r.otherThreads).toHaveLength(3);
    },
  },
  {
    name: "C -O0, stack overflow in a thread (into its guard page)",
    argv: () => [bin("c-O0"), "threadoverflow"],
    judge: "depth",
    signal: "SIGSEGV",
    check: (r) => {
      expect(r.death.probableStackOverflow).toBe(true);
      expect(r.crashingThread.tid).not.toBe(r.process.pid);
    },
  },
  {
    name: "C -O0, a SIGSEGV handler that calls abort()",
    argv: () => [bin("c-O0"), "handler-null"],
    judge: "subsequence",
    signal: "SIGABRT",
    check: (r, g) => {
      // through the handler's frame to the code the signal interrupted, which gdb shows after
      // <signal handler called>
      const i = r.crashingThread.backtrace.findIndex((f) => f.how === "signal context");
      expect(i).toBeGreaterThan(0);
      const gi = g.frames.findIndex((f) => f.name === "write_null");
      expect(r.crashingThread.backtrace[i]!.pc).toBe(`0x${g.frames[gi]!.pc.toString(16)}`);
    },
  },
  {
    name: "C++ uncaught exception (std::terminate → abort)",
    missing: () => (have("g++") ? undefined : "g++ is not installed"),
    argv: () => [bin("cpp")],
    judge: "subsequence",
    signal: "SIGABRT",
  },
  {
    name: "Rust panic=abort",
    missing: () => (have("rustc") ? undefined : "rustc is not installed"),
    argv: () => [bin("rust")],
    // std is built without frame pointers; a frame record found by scanning may be a stale one (tallied)
    judge: "top",
    signal: "SIGABRT",
  },
  {
    name: "Go nil pointer dereference, GOTRACEBACK=crash",
    missing: () => (have("go") ? undefined : "go (Debian golang-go) is not installed"),
    argv: () => [bin("go")],
    env: { GOTRACEBACK: "crash" },
    // runtime.raise keeps no frame, and gdb stops at the signal trampoline that our walk goes through
    judge: "top",
    signal: "SIGABRT",
  },
  {
    name: "Python crashing through ctypes (string_at(0))",
    missing: () => (have("/usr/bin/python3") ? undefined : "/usr/bin/python3 is not installed"),
    argv: () => ["/usr/bin/python3", "-c", "import ctypes; ctypes.string_at(0)"],
    judge: "top",
    signal: "SIGSEGV",
    check: (r) => expect(r.death.nullPointer).toBe(true),
  },
  {
    name: "Node process.abort()",
    argv: () => [process.execPath, "-e", "process.abort()"],
    judge: "top",
    signal: "SIGABRT",
  },
];

/** The number of program headers and the size of the PT_NOTE segment, as binutils reads them. */
function readelfLayout(core: string): { headers: number; notes: number } {
  const out = execFileSync("readelf", ["-lW", core], { encoding: "utf8" });
  const m = /^\s*NOTE\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)/m.exec(out);
  const h = /There are (\d+) program headers/.exec(out);
  if (!m || !h) throw new Error(`readelf shows no NOTE segment or header count in ${core}`);
  return { headers: Number(h[1]), notes: Number(m[1]) };
}

interface Tally {
  name: string;
  equal: number;
  /** Frames of the walk found in gdb's bt, in gdb's order. */
  inOrder: number;
  /** Judged frame by frame (a frame-pointer build). */
  depth: boolean;
  gdb: number;
  ours: number;
}
const tally: Tally[] = [];

/** gdb's physical frames (inline frames share their caller's pc and have no frame of their own). */
function physical(g: GdbReading, limit: number): GdbReading["frames"] {
  return g.frames.filter((f) => !f.inline).slice(0, limit);
}

describe("crash report against gdb on real crashes", () => {
  beforeAll(() => {
    if (!possible.ok)
      throw new Error(`the corpus needs root and kernel.core_pattern: ${possible.why}`);
  });
  for (const c of CASES) {
    it(c.name, () => {
      const why = c.missing?.();
      // .ci/run installs every compiler the corpus uses: a missing one is a broken machine, not a pass.
      if (why) throw new Error(`${c.name}: ${why}`);
      return check(c);
    });
  }

  afterAll(() => {
    if (tally.length === 0) return;
    const eq = tally.reduce((n, t) => n + t.equal, 0);
    const all = tally.reduce((n, t) => n + t.gdb, 0);
    const lines = tally.map(
      (t) =>
        `  ${t.name}: ${t.equal}/${t.gdb} frames equal at gdb's depth (walk gave ${t.ours}, ${t.inOrder} of them in gdb's bt in order)`,
    );
    const fpCases = tally.filter((t) => t.depth);
    const fpEq = fpCases.reduce((n, t) => n + t.equal, 0);
    const fpAll = fpCases.reduce((n, t) => n + t.gdb, 0);
    console.log(
      `crash report vs gdb bt (gdb frames counted up to the walk's limit of 64):\n${lines.join("\n")}\n` +
        `agreement over the frame-pointer builds: ${fpEq}/${fpAll} frames equal / frames gdb shows\n` +
        `agreement over the corpus: ${eq}/${all} frames equal / frames gdb shows`,
    );
  });
});

async function check(c: Case): Promise<void> {
  const argv = c.argv();
  const core = crash(cores, argv, c.env);
  const f = fileReader(core);
  let r: CrashReport;
  try {
    r = await crashReport(f.read, { fileSize: f.size });
  } finally {
    f.close();
  }
  const g = gdbRead(argv[0]!, core);

  // It read the headers, the notes (twice: the process facts come from src/elf-core.ts) and a few pages
  const { notes, headers } = readelfLayout(core);
  expect(f.bytes()).toBeLessThanOrEqual(
    2 * (64 + 56 * headers + notes) + MEMORY_LIMITS.maxBytesRead,
  );
  expect(r.bytesRead + notes).toBeLessThanOrEqual(f.bytes() + 64);

  // How it died, as $_siginfo says
  expect(r.death.signalName).toBe(c.signal);
  expect(r.death.signal).toBe(g.signo);
  expect(r.death.code).toBe(g.code);
  if (r.death.faultAddress !== undefined)
    expect(BigInt(r.death.faultAddress)).toBe(BigInt(g.addr ?? -1));
  expect(r.crashingThread.tid).toBe(g.tid);
  expect(r.process.threads).toBe(g.threads.length);
  const regs = r.crashingThread.registers ?? {};
  expect(Object.keys(regs)).toHaveLength(27);
  expect(Object.keys(g.regs).length).toBeGreaterThanOrEqual(17);
  for (const [name, value] of Object.entries(g.regs))
    expect(BigInt(regs[name] ?? -1), name).toBe(BigInt(value));

  // Frame 0: pc and module
  const ours = r.crashingThread.backtrace;
  const theirs = physical(g, 64);
  expect(ours[0]?.pc).toBe(`0x${theirs[0]!.pc.toString(16)}`);
  const gdbModule = (pc: GdbReading["frames"][number]) => realpath(pc.solib ?? g.exe);
  if (ours[0]!.module === undefined) {
    // outside every module (a call through a NULL pointer): gdb knows no function there either
    expect(theirs[0]!.name).toBeNull();
  } else {
    if (ours[0]!.module !== "[vdso]") expect(realpath(ours[0]!.module)).toBe(gdbModule(theirs[0]!));
    const base = r.modules.find((m) => m.path === ours[0]!.module)!.base;
    expect(BigInt(ours[0]!.offset ?? -1)).toBe(BigInt(theirs[0]!.pc) - BigInt(base));
  }

  // Top frames of the other threads
  for (const t of r.otherThreads) {
    const gt = g.threads.find((x) => x.tid === t.tid);
    expect(gt, `thread ${t.tid} in gdb`).toBeDefined();
    expect(t.top?.pc).toBe(`0x${gt!.pc.toString(16)}`);
  }

  // Build-ids, as eu-unstrip reads them from the same core
  const eu = euUnstrip(core);
  expect(eu.size).toBeGreaterThan(0);
  for (const [start, m] of eu) {
    const mine = r.modules.find((x) => BigInt(x.base) === start);
    expect(mine?.buildId, `build-id of ${m.name} at 0x${start.toString(16)}`).toBe(m.buildId);
  }

  // The walk, frame by frame
  let equal = 0;
  for (let i = 0; i < Math.min(ours.length, theirs.length); i++)
    if (ours[i]!.pc === `0x${theirs[i]!.pc.toString(16)}`) equal++;
  const gdbPcs = theirs.map((x) => `0x${x.pc.toString(16)}`);
  let inOrder = 0;
  for (let i = 0, j = 0; i < ours.length; i++) {
    let k = j;
    while (k < gdbPcs.length && gdbPcs[k] !== ours[i]!.pc) k++;
    if (k < gdbPcs.length) {
      inOrder++;
      j = k + 1;
    }
  }
  tally.push({
    name: c.name,
    equal,
    inOrder,
    depth: c.judge === "depth",
    gdb: theirs.length,
    ours: ours.length,
  });
  if (c.judge === "depth" && !r.crashingThread.gap) {
    expect(ours.map((x) => x.pc)).toEqual(gdbPcs.slice(0, ours.length));
    // and it goes the whole way: gdb goes on past glibc's start code (__libc_start_main, _start, clone3),
    // which keeps no frame record
    expect(ours.length).toBeGreaterThanOrEqual(Math.min(theirs.length - 2, 64));
  } else if (c.judge === "subsequence") {
    let j = 0;
    for (const fr of ours) {
      while (j < gdbPcs.length && gdbPcs[j] !== fr.pc) j++;
      expect(j, `frame ${fr.pc} in gdb's bt after the previous one`).toBeLessThan(gdbPcs.length);
      j++;
    }
  }
  expect(r.crashingThread.stop.reason.length).toBeGreaterThan(0);
  c.check?.(r, g);
  writeFileSync(`${core}.report.json`, JSON.stringify(r));
}

describe("fingerprint on real crashes", () => {
  beforeAll(() => {
    if (!possible.ok)
      throw new Error(`the corpus needs root and kernel.core_pattern: ${possible.why}`);
  });
  async function reportOf(argv: string[]): Promise<CrashReport> {
    const core = crash(cores, argv);
    const f = fileReader(core);
    try {
      return await crashReport(f.read, { fileSize: f.size });
    } finally {
      f.close();
    }
  }

  it("is equal for the same bug crashed twice (other PID, other load addresses)", async () => {
    const a = await reportOf([bin("c-O0"), "null"]);
    const b = await reportOf([bin("c-O0"), "null"]);
    expect(a.process.pid).not.toBe(b.process.pid);
    const base = (r: CrashReport) => r.modules.find((m) => m.executable)?.base;
    expect(base(a)).not.toBe(base(b));
    expect(a.crashingThread.backtrace[0]!.pc).not.toBe(b.crashingThread.backtrace[0]!.pc);
    expect(a.fingerprint.id).toBe(b.fingerprint.id);
  });

  it("differs for different bugs in one program", async () => {
    const ids = new Set<string>();
    for (const mode of ["null", "member", "div", "abortlib", "callnull"])
      ids.add((await reportOf([bin("c-O0"), mode])).fingerprint.id);
    expect(ids.size).toBe(5);
  });

  it("is the crash site's when a handler aborts: different bugs differ, the same bug is equal", async () => {
    const a = await reportOf([bin("c-O0"), "handler-null"]);
    const b = await reportOf([bin("c-O0"), "handler-null"]);
    const c = await reportOf([bin("c-O0"), "handler-member"]);
    expect(a.fingerprint.id).toBe(b.fingerprint.id);
    expect(c.fingerprint.id).not.toBe(a.fingerprint.id);
    const site = a.crashingThread.backtrace.find((f) => f.how === "signal context");
    expect(a.fingerprint.basis[3]).toBe(`frame ${site?.buildId}+${site?.offset}`);
  });

  it("is equal for the same abort() twice although libc's frames are on top", async () => {
    const a = await reportOf([bin("c-O0"), "abortlib"]);
    const b = await reportOf([bin("c-O0"), "abortlib"]);
    expect(a.fingerprint.id).toBe(b.fingerprint.id);
    expect(a.fingerprint.basis.some((l) => l.includes("libc"))).toBe(false);
  });
});
