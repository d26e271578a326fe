// ELF core dumps: what crashed and how, from the ELF header, the program headers and the PT_NOTE
// segments only (never the memory image), through an injected reader so that this module does no I/O.

import {
  ET_CORE,
  NT_AUXV,
  NT_FILE,
  NT_PRPSINFO,
  NT_PRSTATUS,
  NT_SIGINFO,
  PN_XNUM,
  PT_NOTE,
} from "./elf-const.js";

export interface CoreInfo {
  /** The signal that caused the dump (NT_SIGINFO si_signo, else pr_cursig of the first thread). */
  signal?: number;
  signalName?: string;
  /** Full path of the executable (the NT_FILE mapping holding AT_ENTRY), else the kernel's comm. */
  executable?: string;
  /** pr_psargs: the command line as the kernel keeps it (at most 80 bytes, arguments space-joined). */
  commandLine?: string;
  /** pr_fname: the comm of the process (at most 15 bytes). */
  comm?: string;
  uid?: number;
  gid?: number;
  /** The process id (pr_pid of NT_PRSTATUS or of the first thread) in the dumping pid namespace. */
  pid?: number;
  /** Number of NT_PRSTATUS notes, one per thread. */
  threads: number;
  /** `x86_64`, `aarch64`, ... from e_machine. */
  machine?: string;
  bits?: 32 | 64;
  endian?: "little" | "big";
  /** Mapped files (NT_FILE), in mapping order, without duplicates. */
  mappedFiles?: string[];
  /** Set when the notes ended early (a truncated core) or a note segment was refused as too large. */
  notesTruncated?: boolean;
}

export type ReadFn = (offset: number, length: number) => Promise<Uint8Array>;

const AT_NULL = 0n;
const AT_ENTRY = 9n;

/** Limits that keep a hostile or broken core from making us read or hold much. */
export const ELF_LIMITS = {
  maxProgramHeaders: 1 << 20,
  maxNoteSegmentBytes: 256 * 1024 * 1024,
  maxTotalNoteBytes: 512 * 1024 * 1024,
  maxNotes: 1 << 21,
  maxFileNoteBytes: 32 * 1024 * 1024,
  maxAuxvBytes: 64 * 1024,
  chunkBytes: 64 * 1024,
};

const MACHINES: Record<number, string> = {
  2: "sparc",
  3: "i386",
  4: "m68k",
  8: "mips",
  15: "parisc",
  18: "sparc32plus",
  20: "ppc",
  21: "ppc64",
  22: "s390",
  40: "arm",
  43: "sparcv9",
  62: "x86_64",
  183: "aarch64",
  243: "riscv",
  258: "loongarch",
  0x9026: "alpha",
};

const SIGNALS = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

/** MIPS, SPARC, Alpha and PA-RISC number signals differently; these agree with each other up to 15. */
const OLD_STYLE_MACHINES = new Set(["mips", "sparc", "sparc32plus", "sparcv9", "alpha", "parisc"]);
const OLD_STYLE: Record<number, string> = { 7: "SIGEMT", 10: "SIGBUS", 12: "SIGSYS" };

/** `SIGSEGV` for 11 etc. (Linux numbering; `machine` selects the MIPS/SPARC/Alpha/PA-RISC table). */
export function signalName(signal: number, machine?: string): string | undefined {
  if (!Number.isInteger(signal) || signal <= 0) return undefined;
  if (machine !== undefined && OLD_STYLE_MACHINES.has(machine)) {
    if (OLD_STYLE[signal]) return OLD_STYLE[signal];
    return signal <= 15 ? SIGNALS[signal] : undefined;
  }
  if (signal < SIGNALS.length) return SIGNALS[signal];
  if (signal >= 34 && signal <= 64) return `SIGRTMIN+${signal - 34}`;
  return undefined;
}

interface Layout {
  bits: 32 | 64;
  little: boolean;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u16(b: Uint8Array, off: number, l: Layout): number {
  return view(b).getUint16(off, l.little);
}
function u32(b: Uint8Array, off: number, l: Layout): number {
  return view(b).getUint32(off, l.little);
}
function i32(b: Uint8Array, off: number, l: Layout): number {
  return view(b).getInt32(off, l.little);
}
/** A word (unsigned long) of the core's class, as a bigint. */
function word(b: Uint8Array, off: number, l: Layout): bigint {
  return l.bits === 64
    ? view(b).getBigUint64(off, l.little)
    : BigInt(view(b).getUint32(off, l.little));
}
function safe(n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER))
    throw new Error(`ELF core: ${what} ${n} is out of range`);
  return Number(n);
}
function cstring(b: Uint8Array, start: number, end: number): string {
  const slice = b.subarray(start, Math.min(end, b.length));
  const nul = slice.indexOf(0);
  return new TextDecoder("utf-8").decode(nul === -1 ? slice : slice.subarray(0, nul));
}

/** True when `first` (at least the first 20 bytes of a file) starts an ELF core (ET_CORE). */
export function isElfCoreHeader(first: Uint8Array): boolean {
  if (first.length < 20) return false;
  if (first[0] !== 0x7f || first[1] !== 0x45 || first[2] !== 0x4c || first[3] !== 0x46)
    return false;
  const cls = first[4];
  const data = first[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) return false;
  return view(first).getUint16(16, data === 1) === ET_CORE;
}

async function readExact(read: ReadFn, offset: number, length: number): Promise<Uint8Array> {
  const b = await read(offset, length);
  return b.length > length ? b.subarray(0, length) : b;
}

/** Sequential reads inside [start, end), in chunks, never outside it. */
class SegmentCursor {
  private buf: Uint8Array = new Uint8Array(0);
  private bufStart = 0;
  bytesRead = 0;

  constructor(
    private readonly read: ReadFn,
    private readonly end: number,
  ) {}

  /** Bytes [off, off+len), or undefined when the file ends first. */
  async get(off: number, len: number): Promise<Uint8Array | undefined> {
    if (off + len > this.end) return undefined;
    if (off >= this.bufStart && off + len <= this.bufStart + this.buf.length) {
      return this.buf.subarray(off - this.bufStart, off - this.bufStart + len);
    }
    const want = Math.min(Math.max(len, ELF_LIMITS.chunkBytes), this.end - off);
    const b = await readExact(this.read, off, want);
    this.bytesRead += b.length;
    this.buf = b;
    this.bufStart = off;
    return b.length >= len ? b.subarray(0, len) : undefined;
  }
}

interface Note {
  type: number;
  name: string;
  desc: Uint8Array | undefined; // undefined when not wanted or too large
  descSize: number;
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

const WANTED: Record<number, number> = {
  [NT_PRSTATUS]: 64, // only the head: signal and pid
  [NT_PRPSINFO]: 4096,
  [NT_SIGINFO]: 4096,
  [NT_AUXV]: ELF_LIMITS.maxAuxvBytes,
  [NT_FILE]: ELF_LIMITS.maxFileNoteBytes,
};

async function* notes(
  read: ReadFn,
  start: number,
  size: number,
  l: Layout,
  noteAlign: number,
  state: { notes: number; truncated: boolean },
): AsyncGenerator<Note> {
  const end = start + size;
  const cur = new SegmentCursor(read, end);
  let off = start;
  while (off + 12 <= end) {
    if (++state.notes > ELF_LIMITS.maxNotes) {
      state.truncated = true;
      return;
    }
    const head = await cur.get(off, 12);
    if (!head) return void (state.truncated = true);
    const namesz = u32(head, 0, l);
    const descsz = u32(head, 4, l);
    const type = u32(head, 8, l);
    const nameOff = off + 12;
    const descOff = nameOff + align(namesz, 4);
    const next = descOff + align(descsz, noteAlign);
    if (namesz > 4096 || next > end) {
      state.truncated = true;
      return;
    }
    const nameBytes = await cur.get(nameOff, namesz);
    if (!nameBytes) return void (state.truncated = true);
    const name = cstring(nameBytes, 0, namesz);
    const cap = name === "CORE" ? WANTED[type] : undefined;
    let desc: Uint8Array | undefined;
    if (cap !== undefined) {
      const want = type === NT_PRSTATUS ? Math.min(descsz, cap) : descsz <= cap ? descsz : 0;
      if (want > 0) {
        desc = await cur.get(descOff, want);
        if (!desc) return void (state.truncated = true);
        desc = desc.slice(); // the cursor's buffer is replaced on the next read
      }
    }
    yield { type, name, desc, descSize: descsz };
    off = next;
  }
}

interface Segment {
  type: number;
  offset: number;
  size: number;
  align: number;
}

/** Every program header; `complete` is false when the file ends inside them. */
async function programHeaders(
  read: ReadFn,
  l: Layout,
  header: Uint8Array,
): Promise<{ segments: Segment[]; complete: boolean }> {
  const is64 = l.bits === 64;
  const phoff = safe(is64 ? word(header, 32, l) : BigInt(u32(header, 28, l)), "e_phoff");
  const phentsize = u16(header, is64 ? 54 : 42, l);
  let phnum = u16(header, is64 ? 56 : 44, l);
  const minEnt = is64 ? 56 : 32;
  if (phentsize < minEnt || phentsize > 1024) {
    throw new Error(`ELF core: e_phentsize ${phentsize} is not valid (expected ${minEnt})`);
  }
  if (phnum === PN_XNUM) {
    // More than 65534 segments: the real count is sh_info of section header 0.
    const shoff = safe(is64 ? word(header, 40, l) : BigInt(u32(header, 32, l)), "e_shoff");
    const infoAt = shoff + (is64 ? 44 : 28);
    const sh = await readExact(read, infoAt, 4);
    if (sh.length < 4) throw new Error("ELF core: truncated before section header 0");
    phnum = u32(sh, 0, l);
  }
  if (phnum > ELF_LIMITS.maxProgramHeaders) {
    throw new Error(
      `ELF core: ${phnum} program headers is more than the limit ${ELF_LIMITS.maxProgramHeaders}`,
    );
  }
  const segments: Segment[] = [];
  const perChunk = Math.max(1, Math.floor(ELF_LIMITS.chunkBytes / phentsize));
  for (let i = 0; i < phnum; i += perChunk) {
    const n = Math.min(perChunk, phnum - i);
    const chunk = await readExact(read, phoff + i * phentsize, n * phentsize);
    const complete = Math.floor(chunk.length / phentsize);
    for (let j = 0; j < complete; j++) {
      const p = chunk.subarray(j * phentsize, (j + 1) * phentsize);
      const type = u32(p, 0, l);
      const offset = safe(is64 ? word(p, 8, l) : BigInt(u32(p, 4, l)), "p_offset");
      const size = safe(is64 ? word(p, 32, l) : BigInt(u32(p, 16, l)), "p_filesz");
      const al = Number(is64 ? word(p, 48, l) : BigInt(u32(p, 28, l)));
      segments.push({ type, offset, size, align: al === 8 ? 8 : 4 });
    }
    if (complete < n) return { segments, complete: false }; // file ends inside the program headers
  }
  return { segments, complete: true };
}

function parseFileNote(
  desc: Uint8Array,
  l: Layout,
): { start: bigint; end: bigint; path: string }[] {
  const w = l.bits / 8;
  if (desc.length < 2 * w) return [];
  const count = word(desc, 0, l);
  const maxCount = BigInt(Math.floor((desc.length - 2 * w) / (3 * w)));
  const n = Number(count < maxCount ? count : maxCount);
  const out: { start: bigint; end: bigint; path: string }[] = [];
  let strOff = 2 * w + n * 3 * w;
  for (let i = 0; i < n && strOff < desc.length; i++) {
    const base = 2 * w + i * 3 * w;
    let nul = desc.indexOf(0, strOff);
    if (nul === -1) nul = desc.length;
    out.push({
      start: word(desc, base, l),
      end: word(desc, base + w, l),
      path: new TextDecoder("utf-8").decode(desc.subarray(strOff, nul)),
    });
    strOff = nul + 1;
  }
  return out;
}

function auxvEntry(desc: Uint8Array, l: Layout, key: bigint): bigint | undefined {
  const w = l.bits / 8;
  for (let off = 0; off + 2 * w <= desc.length; off += 2 * w) {
    const t = word(desc, off, l);
    if (t === AT_NULL) return undefined;
    if (t === key) return word(desc, off + w, l);
  }
  return undefined;
}

/**
 * Reads what crashed from an ELF core through `read(offset, length)` (which may return fewer bytes
 * at the end of the file). Reads the ELF header, the program headers (and section header 0 when
 * there are more than 65534 of them) and the PT_NOTE segments, nothing else.
 * Throws when the file is not an ELF core or its headers are invalid; a core truncated inside its
 * notes gives what was found and `notesTruncated`.
 */
export async function parseElfCore(read: ReadFn): Promise<CoreInfo> {
  const header = await readExact(read, 0, 64);
  if (!isElfCoreHeader(header)) throw new Error("not an ELF core file (bad magic or e_type)");
  const l: Layout = { bits: header[4] === 2 ? 64 : 32, little: header[5] === 1 };
  if (header.length < (l.bits === 64 ? 64 : 52)) throw new Error("ELF core: truncated header");

  const info: CoreInfo = { threads: 0, bits: l.bits, endian: l.little ? "little" : "big" };
  const machine = MACHINES[u16(header, 18, l)];
  if (machine) info.machine = machine;

  const state = { notes: 0, truncated: false };
  let budget = ELF_LIMITS.maxTotalNoteBytes;
  let cursig: number | undefined;
  let threadPid: number | undefined;
  let siginfoSigno: number | undefined;
  let entry: bigint | undefined;
  let files: { start: bigint; end: bigint; path: string }[] | undefined;

  for (const seg of (await programHeaders(read, l, header)).segments) {
    if (seg.type !== PT_NOTE) continue;
    if (seg.size > ELF_LIMITS.maxNoteSegmentBytes || seg.size > budget) {
      state.truncated = true;
      continue;
    }
    budget -= seg.size;
    for await (const note of notes(read, seg.offset, seg.size, l, seg.align, state)) {
      if (note.name !== "CORE") continue;
      const d = note.desc;
      switch (note.type) {
        case NT_PRSTATUS:
          info.threads++;
          if (info.threads === 1 && d && d.length >= 16) {
            cursig = view(d).getInt16(12, l.little);
            const pidAt = l.bits === 64 ? 32 : 24;
            if (d.length >= pidAt + 4) threadPid = i32(d, pidAt, l);
          }
          break;
        case NT_PRPSINFO:
          if (d) parsePrpsinfo(d, l, info);
          break;
        case NT_SIGINFO:
          // gdb writes one per thread; the first belongs to the first (signalled) thread
          if (siginfoSigno === undefined && d && d.length >= 4) siginfoSigno = i32(d, 0, l);
          break;
        case NT_AUXV:
          if (d) entry = auxvEntry(d, l, AT_ENTRY);
          break;
        case NT_FILE:
          if (d) files = parseFileNote(d, l);
          else state.truncated = true;
          break;
      }
    }
  }

  const signal = siginfoSigno && siginfoSigno > 0 ? siginfoSigno : cursig;
  if (signal !== undefined && signal > 0) {
    info.signal = signal;
    const name = signalName(signal, info.machine);
    if (name) info.signalName = name;
  }
  if (info.pid === undefined && threadPid !== undefined && threadPid > 0) info.pid = threadPid;
  if (files && files.length > 0) {
    info.mappedFiles = [...new Set(files.map((f) => f.path))];
    const exe =
      (entry !== undefined ? files.find((f) => entry >= f.start && entry < f.end) : undefined) ??
      (info.comm ? files.find((f) => basename(f.path).startsWith(info.comm ?? "")) : undefined) ??
      files[0];
    if (exe) info.executable = exe.path;
  }
  if (info.executable === undefined && info.comm) info.executable = info.comm;
  if (state.truncated) info.notesTruncated = true;
  return info;
}

/**
 * The length of the whole core as its headers describe it: the furthest end of any segment's file
 * image (p_offset + p_filesz) or of the section header table (gdb writes one; the kernel writes one
 * with more than 65534 segments). A file shorter than this is not (yet) a complete core, however
 * long it has been quiet. Reads the ELF header and the program headers only.
 * Returns undefined while the file ends inside its headers (the length is not known yet); throws when
 * the file is not an ELF core or its headers are invalid.
 */
export async function expectedCoreLength(read: ReadFn): Promise<number | undefined> {
  const header = await readExact(read, 0, 64);
  if (header.length < 20) return undefined;
  if (!isElfCoreHeader(header)) throw new Error("not an ELF core file (bad magic or e_type)");
  const l: Layout = { bits: header[4] === 2 ? 64 : 32, little: header[5] === 1 };
  const is64 = l.bits === 64;
  if (header.length < (is64 ? 64 : 52)) return undefined;
  const phoff = safe(is64 ? word(header, 32, l) : BigInt(u32(header, 28, l)), "e_phoff");
  const phentsize = u16(header, is64 ? 54 : 42, l);
  const shoff = safe(is64 ? word(header, 40, l) : BigInt(u32(header, 32, l)), "e_shoff");
  const shentsize = u16(header, is64 ? 58 : 46, l);
  let shnum = u16(header, is64 ? 60 : 48, l);
  let end = is64 ? 64 : 52;
  if (shoff > 0 && shnum === 0) {
    // 65280 sections or more: the real count is sh_size of section header 0.
    const at = shoff + (is64 ? 32 : 20);
    const b = await readExact(read, at, is64 ? 8 : 4);
    if (b.length < (is64 ? 8 : 4)) return undefined;
    shnum = safe(is64 ? word(b, 0, l) : BigInt(u32(b, 0, l)), "sh_size of section 0");
  }
  if (shoff > 0 && shnum > 0) end = Math.max(end, shoff + shnum * shentsize);
  if (u16(header, is64 ? 56 : 44, l) === PN_XNUM) {
    // the segment count lives in section header 0, which is written last
    const b = await readExact(read, shoff + (is64 ? 44 : 28), 4);
    if (b.length < 4) return undefined;
  }
  const { segments, complete } = await programHeaders(read, l, header);
  if (!complete) return undefined;
  const phnum = segments.length;
  end = Math.max(end, phoff + phnum * phentsize);
  for (const seg of segments) if (seg.size > 0) end = Math.max(end, seg.offset + seg.size);
  return end;
}

function basename(p: string): string {
  const i = p.lastIndexOf("/");
  return i === -1 ? p : p.slice(i + 1);
}

function parsePrpsinfo(d: Uint8Array, l: Layout, info: CoreInfo): void {
  // elf_prpsinfo: state, sname, zomb, nice (1 byte each), pr_flag (unsigned long), uid, gid, pid,
  // ppid, pgrp, sid, fname[16], psargs[80]. 32-bit arches with 16-bit uids (i386, arm) give 124 bytes.
  let uidAt: number;
  let uid16 = false;
  if (l.bits === 64) uidAt = 16;
  else {
    uidAt = 8;
    uid16 = d.length === 124;
  }
  const idSize = uid16 ? 2 : 4;
  const pidAt = uidAt + 2 * idSize;
  const fnameAt = pidAt + 16;
  const psargsAt = fnameAt + 16;
  if (d.length < psargsAt) return;
  const v = view(d);
  info.uid = uid16 ? v.getUint16(uidAt, l.little) : v.getUint32(uidAt, l.little);
  info.gid = uid16 ? v.getUint16(uidAt + idSize, l.little) : v.getUint32(uidAt + idSize, l.little);
  const pid = v.getInt32(pidAt, l.little);
  if (pid > 0) info.pid = pid;
  const comm = cstring(d, fnameAt, fnameAt + 16);
  if (comm) info.comm = comm;
  const args = cstring(d, psargsAt, psargsAt + 80).trim();
  if (args) info.commandLine = args;
}
