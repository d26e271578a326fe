// The parts of an ELF core a crash report needs: the segments (PT_LOAD and PT_NOTE) and, from the notes,
// every thread's NT_PRSTATUS, the NT_SIGINFO, the NT_AUXV and the NT_FILE mappings. Bounded in what it
// reads and holds; never throws: what it could not read is listed in `problems`.
import { isElfCoreHeader, type ReadFn } from "./elf-core.js";
import {
  NT_AUXV,
  NT_FILE,
  NT_PRSTATUS,
  NT_SIGINFO,
  PN_XNUM,
  PT_LOAD,
  PT_NOTE,
} from "./elf-const.js";

export const CORE_LIMITS = {
  /** The kernel's default vm.max_map_count is 65530; a core has one PT_LOAD per mapping. */
  maxProgramHeaders: 1 << 17,
  maxNoteBytes: 64 * 1024 * 1024,
  maxNotes: 1 << 20,
  /** Threads whose registers are kept (the rest are counted). */
  maxThreads: 4096,
  maxFileNoteBytes: 16 * 1024 * 1024,
  maxAuxvBytes: 64 * 1024,
  maxPrstatusBytes: 1024,
  chunkBytes: 64 * 1024,
};

export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

export interface LoadSegment {
  vaddr: bigint;
  memsz: bigint;
  offset: number;
  filesz: number;
  flags: number;
}

export interface FileMapping {
  start: bigint;
  end: bigint;
  /** Offset in the file, in bytes. */
  fileOffset: bigint;
  path: string;
}

export interface CoreThread {
  /** pr_pid of NT_PRSTATUS: the thread id. */
  tid: number;
  cursig: number;
  /** The whole descriptor (registers included), at most maxPrstatusBytes. */
  prstatus: Uint8Array;
}

export interface CoreLayout {
  machine?: number;
  little: boolean;
  bits: 32 | 64;
  fileSize?: number;
  loads: LoadSegment[];
  threads: CoreThread[];
  threadCount: number;
  siginfo?: Uint8Array;
  auxv?: Uint8Array;
  files: FileMapping[];
  problems: string[];
  bytesRead: number;
}

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Reads bounded and counted; a read that throws is a short read. */
class Reader {
  bytesRead = 0;
  constructor(private readonly read: ReadFn) {}
  async at(offset: number, length: number): Promise<Uint8Array> {
    if (length <= 0 || !Number.isSafeInteger(offset) || offset < 0) return new Uint8Array(0);
    let b: Uint8Array;
    try {
      b = await this.read(offset, length);
    } catch {
      return new Uint8Array(0);
    }
    if (b.length > length) b = b.subarray(0, length);
    this.bytesRead += b.length;
    return b;
  }
}

function toNumber(n: bigint): number | undefined {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
}

/** Reads the layout of an ELF core through `read`; `notCore` when the file is not an ELF core. */
export async function readCoreLayout(
  read: ReadFn,
  reader = new Reader(read),
): Promise<CoreLayout | { notCore: string }> {
  const header = await reader.at(0, 64);
  if (!isElfCoreHeader(header)) return { notCore: "not an ELF core file (bad magic or e_type)" };
  const little = header[5] === 1;
  const bits: 32 | 64 = header[4] === 2 ? 64 : 32;
  const core: CoreLayout = {
    little,
    bits,
    loads: [],
    threads: [],
    threadCount: 0,
    files: [],
    problems: [],
    bytesRead: 0,
  };
  const h = dv(header);
  core.machine = h.getUint16(18, little);
  if (bits !== 64 || !little) {
    core.problems.push(
      `only 64-bit little-endian cores are read in full (this one is ${bits}-bit ${little ? "little" : "big"}-endian)`,
    );
    core.bytesRead = reader.bytesRead;
    return core;
  }
  if (header.length < 64) {
    core.problems.push("the ELF header is truncated");
    core.bytesRead = reader.bytesRead;
    return core;
  }
  const phoff = toNumber(h.getBigUint64(32, true));
  const phentsize = h.getUint16(54, true);
  let phnum = h.getUint16(56, true);
  if (phnum === PN_XNUM) {
    const shoff = toNumber(h.getBigUint64(40, true));
    const sh = shoff === undefined ? new Uint8Array(0) : await reader.at(shoff + 44, 4);
    if (sh.length < 4) {
      core.problems.push("section header 0 (the program header count) could not be read");
      phnum = 0;
    } else phnum = dv(sh).getUint32(0, true);
  }
  if (phentsize < 56 || phentsize > 1024 || phoff === undefined) {
    core.problems.push(`the program headers are not valid (e_phentsize ${phentsize})`);
    phnum = 0;
  }
  if (phnum > CORE_LIMITS.maxProgramHeaders) {
    core.problems.push(
      `${phnum} program headers is more than the limit ${CORE_LIMITS.maxProgramHeaders}: only the first are read`,
    );
    phnum = CORE_LIMITS.maxProgramHeaders;
  }
  const notes: { offset: number; size: number; align: number }[] = [];
  const perChunk = Math.max(1, Math.floor(CORE_LIMITS.chunkBytes / phentsize));
  for (let i = 0; i < phnum; i += perChunk) {
    const n = Math.min(perChunk, phnum - i);
    const chunk = await reader.at((phoff ?? 0) + i * phentsize, n * phentsize);
    const complete = Math.floor(chunk.length / phentsize);
    for (let j = 0; j < complete; j++) {
      const p = dv(chunk.subarray(j * phentsize, (j + 1) * phentsize));
      const type = p.getUint32(0, true);
      const offset = toNumber(p.getBigUint64(8, true));
      const filesz = toNumber(p.getBigUint64(32, true));
      if (offset === undefined || filesz === undefined) continue;
      if (type === PT_LOAD) {
        core.loads.push({
          flags: p.getUint32(4, true),
          offset,
          vaddr: p.getBigUint64(16, true),
          filesz,
          memsz: p.getBigUint64(40, true),
        });
      } else if (type === PT_NOTE) {
        notes.push({ offset, size: filesz, align: p.getBigUint64(48, true) === 8n ? 8 : 4 });
      }
    }
    if (complete < n) {
      core.problems.push(
        `the file ends inside the program headers (${i + complete} of ${phnum} read)`,
      );
      break;
    }
  }
  core.loads.sort((a, b) => (a.vaddr < b.vaddr ? -1 : a.vaddr > b.vaddr ? 1 : 0));
  if (notes.length === 0)
    core.problems.push("the core has no PT_NOTE segment (no threads, no signal)");
  let budget = CORE_LIMITS.maxNoteBytes;
  for (const seg of notes) {
    const size = Math.min(seg.size, budget);
    if (size < seg.size)
      core.problems.push(`note bytes beyond ${CORE_LIMITS.maxNoteBytes} were not read`);
    budget -= size;
    await readNotes(reader, seg.offset, size, seg.align, core);
  }
  if (core.threadCount === 0 && notes.length > 0)
    core.problems.push("the notes hold no thread (NT_PRSTATUS)");
  core.bytesRead = reader.bytesRead;
  return core;
}

async function readNotes(
  reader: Reader,
  start: number,
  size: number,
  noteAlign: number,
  core: CoreLayout,
): Promise<void> {
  const end = start + size;
  let buf: Uint8Array = new Uint8Array(0);
  let bufStart = start;
  const get = async (off: number, len: number): Promise<Uint8Array | undefined> => {
    if (off + len > end) return undefined;
    if (off >= bufStart && off + len <= bufStart + buf.length)
      return buf.subarray(off - bufStart, off - bufStart + len);
    const want = Math.min(Math.max(len, CORE_LIMITS.chunkBytes), end - off);
    buf = await reader.at(off, want);
    bufStart = off;
    return buf.length >= len ? buf.subarray(0, len) : undefined;
  };
  let off = start;
  let count = 0;
  const truncated = () =>
    core.problems.push(`the notes end early at file offset ${off} (a truncated core?)`);
  while (off + 12 <= end) {
    if (++count > CORE_LIMITS.maxNotes) {
      core.problems.push(`more than ${CORE_LIMITS.maxNotes} notes: the rest were not read`);
      return;
    }
    const head = await get(off, 12);
    if (!head) return void truncated();
    const hv = dv(head);
    const namesz = hv.getUint32(0, true);
    const descsz = hv.getUint32(4, true);
    const type = hv.getUint32(8, true);
    const descOff = off + 12 + Math.ceil(namesz / 4) * 4;
    const next = descOff + Math.ceil(descsz / noteAlign) * noteAlign;
    if (namesz > 4096 || next > end) {
      core.problems.push(`a note at file offset ${off} does not fit its segment`);
      return;
    }
    const nameBytes = await get(off + 12, namesz);
    if (!nameBytes) return void truncated();
    const isCore = namesz === 5 && new TextDecoder().decode(nameBytes.subarray(0, 4)) === "CORE";
    if (isCore) {
      const take = async (cap: number, what: string): Promise<Uint8Array | undefined> => {
        if (descsz > cap) {
          core.problems.push(`${what} of ${descsz} bytes is larger than the limit ${cap}`);
          return undefined;
        }
        const d = await get(descOff, descsz);
        if (!d) truncated();
        return d?.slice();
      };
      if (type === NT_PRSTATUS) {
        core.threadCount++;
        if (core.threads.length < CORE_LIMITS.maxThreads) {
          const d = await get(descOff, Math.min(descsz, CORE_LIMITS.maxPrstatusBytes));
          if (!d) return void truncated();
          if (d.length >= 36) {
            const v = dv(d);
            core.threads.push({
              tid: v.getInt32(32, true),
              cursig: v.getInt16(12, true),
              prstatus: d.slice(),
            });
          }
        }
      } else if (type === NT_SIGINFO && core.siginfo === undefined) {
        core.siginfo = await take(4096, "NT_SIGINFO");
      } else if (type === NT_AUXV && core.auxv === undefined) {
        core.auxv = await take(CORE_LIMITS.maxAuxvBytes, "NT_AUXV");
      } else if (type === NT_FILE && core.files.length === 0) {
        const d = await take(CORE_LIMITS.maxFileNoteBytes, "NT_FILE (the mapped files)");
        if (d) core.files = parseFileNote(d, core);
      }
    }
    off = next;
  }
}

function parseFileNote(d: Uint8Array, core: CoreLayout): FileMapping[] {
  if (d.length < 16) return [];
  const v = dv(d);
  const count = v.getBigUint64(0, true);
  const pageSize = v.getBigUint64(8, true);
  const fits = BigInt(Math.floor((d.length - 16) / 24));
  if (count > fits)
    core.problems.push(`NT_FILE claims ${count} mappings but holds at most ${fits}`);
  let n = Number(count < fits ? count : fits);
  if (count > fits) {
    // Recover the real count: n entries followed by exactly n NUL-terminated names.
    let from = 16 + n * 24;
    let nuls = 0;
    for (let i = from; i < d.length; i++) if (d[i] === 0) nuls++;
    while (n > 0 && nuls !== n) {
      n--;
      for (let i = from - 24; i < from; i++) if (d[i] === 0) nuls++;
      from -= 24;
    }
  }
  const out: FileMapping[] = [];
  let strOff = 16 + n * 24;
  const dec = new TextDecoder();
  for (let i = 0; i < n; i++) {
    if (strOff >= d.length) {
      core.problems.push(`NT_FILE names end after ${i} of ${n} mappings`);
      break;
    }
    let nul = d.indexOf(0, strOff);
    if (nul === -1) nul = d.length;
    const base = 16 + i * 24;
    out.push({
      start: v.getBigUint64(base, true),
      end: v.getBigUint64(base + 8, true),
      fileOffset: v.getBigUint64(base + 16, true) * pageSize,
      path: dec.decode(d.subarray(strOff, nul)),
    });
    strOff = nul + 1;
  }
  return out;
}

export { Reader as CoreReader };
