// The loaded ELF modules of a crashed process: each file NT_FILE maps, at its load address, with the GNU
// build-id read from its ELF header page (which the kernel dumps by default, coredump_filter bit 4), and
// the vDSO found through AT_SYSINFO_EHDR.
import type { FileMapping } from "./crash-core.js";
import { PF_X } from "./crash-core.js";
import type { CoreMemory } from "./crash-memory.js";
import { NT_GNU_BUILD_ID, PT_LOAD, PT_NOTE } from "./elf-const.js";

export interface Module {
  path: string;
  /** The address its file offset 0 is mapped at. */
  base: bigint;
  /** The end of its last mapping. */
  end: bigint;
  buildId?: string;
  /** Why there is no build-id, when there is none. */
  buildIdMissing?: string;
  executable?: boolean;
}

export const MODULE_LIMITS = { maxModules: 4096, maxNoteBytes: 4096, maxProgramHeaders: 64 };

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** The build-id of the ELF image whose header is mapped at `base`, or why it cannot be read. */
export async function buildIdAt(
  memory: CoreMemory,
  base: bigint,
): Promise<{ buildId: string } | { missing: string; notElf?: boolean }> {
  const eh = await memory.read(base, 64);
  if (typeof eh === "string") return { missing: `ELF header ${eh}` };
  if (eh[0] !== 0x7f || eh[1] !== 0x45 || eh[2] !== 0x4c || eh[3] !== 0x46)
    return { missing: "not an ELF file", notElf: true };
  if (eh[4] !== 2 || eh[5] !== 1) return { missing: "not a 64-bit little-endian ELF file" };
  const h = dv(eh);
  const phoff = h.getBigUint64(32, true);
  const phentsize = h.getUint16(54, true);
  const phnum = Math.min(h.getUint16(56, true), MODULE_LIMITS.maxProgramHeaders);
  if (phentsize < 56 || phoff > 65536n) return { missing: "program headers not valid" };
  const ph = await memory.read(base + phoff, phnum * phentsize);
  if (typeof ph === "string") return { missing: `program headers ${ph}` };
  let bias: bigint | undefined;
  const noteSegs: { vaddr: bigint; size: bigint }[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = dv(ph.subarray(i * phentsize, i * phentsize + 56));
    const type = p.getUint32(0, true);
    if (type === PT_LOAD && bias === undefined) {
      const vaddr = p.getBigUint64(16, true);
      const offset = p.getBigUint64(8, true);
      bias = base - (vaddr - offset);
    } else if (type === PT_NOTE) {
      noteSegs.push({ vaddr: p.getBigUint64(16, true), size: p.getBigUint64(40, true) });
    }
  }
  if (bias === undefined) return { missing: "no PT_LOAD in its program headers" };
  let why = "no NT_GNU_BUILD_ID note";
  for (const seg of noteSegs) {
    const size = Number(
      seg.size < BigInt(MODULE_LIMITS.maxNoteBytes) ? seg.size : BigInt(MODULE_LIMITS.maxNoteBytes),
    );
    const notes = await memory.read(bias + seg.vaddr, size);
    if (typeof notes === "string") {
      why = `note segment ${notes}`;
      continue;
    }
    const v = dv(notes);
    for (let off = 0; off + 12 <= notes.length;) {
      const namesz = v.getUint32(off, true);
      const descsz = v.getUint32(off + 4, true);
      const type = v.getUint32(off + 8, true);
      const descOff = off + 12 + Math.ceil(namesz / 4) * 4;
      const next = descOff + Math.ceil(descsz / 4) * 4;
      if (next > notes.length || namesz > 256) break;
      const name = new TextDecoder().decode(notes.subarray(off + 12, off + 12 + namesz));
      if (type === NT_GNU_BUILD_ID && name === "GNU\0" && descsz > 0 && descsz <= 64) {
        const id = [...notes.subarray(descOff, descOff + descsz)]
          .map((b) => b.toString(16).padStart(2, "0"))
          .join("");
        return { buildId: id };
      }
      off = next;
    }
  }
  return { missing: why };
}

/** Modules from the NT_FILE mappings (files with an ELF header in the core or mapped executable). */
export async function readModules(
  files: readonly FileMapping[],
  memory: CoreMemory,
  vdsoBase: bigint | undefined,
  entry: bigint | undefined,
  problems: string[],
): Promise<Module[]> {
  // One module per mapping of file offset 0 (a file may be loaded, and also mapped again whole to be read,
  // as Rust's and Go's backtrace code do); later mappings of the same file extend the last one below them.
  const images: { path: string; base?: bigint; start: bigint; end: bigint; exec: boolean }[] = [];
  const sorted = [...files].sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
  for (const f of sorted) {
    let m =
      f.fileOffset === 0n
        ? undefined
        : images.findLast((x) => x.path === f.path && x.start <= f.start);
    if (!m) {
      m = { path: f.path, start: f.start, end: f.end, exec: false };
      if (f.fileOffset === 0n) m.base = f.start;
      images.push(m);
    }
    if (f.end > m.end) m.end = f.end;
    const seg = memory.segmentOf(f.start);
    if (seg && (seg.flags & PF_X) !== 0) m.exec = true;
  }
  const out: Module[] = [];
  for (const m of images) {
    const path = m.path;
    if (out.length >= MODULE_LIMITS.maxModules) {
      problems.push(`more than ${MODULE_LIMITS.maxModules} mapped files: the rest are not listed`);
      break;
    }
    const base = m.base ?? m.start;
    const mod: Module = { path, base, end: m.end };
    const id =
      m.base === undefined
        ? { missing: "offset 0 of the file is not mapped" }
        : await buildIdAt(memory, base);
    if ("buildId" in id) mod.buildId = id.buildId;
    else {
      if ("notElf" in id && id.notElf) continue;
      if (!m.exec && id.missing.startsWith("ELF header")) continue; // a data file whose head the kernel skipped
      mod.buildIdMissing = id.missing;
    }
    if (entry !== undefined && entry >= m.start && entry < m.end) mod.executable = true;
    out.push(mod);
  }
  if (vdsoBase !== undefined && vdsoBase !== 0n) {
    const seg = memory.segmentOf(vdsoBase);
    const mod: Module = {
      path: "[vdso]",
      base: vdsoBase,
      end: seg ? seg.vaddr + seg.memsz : vdsoBase,
    };
    const id = await buildIdAt(memory, vdsoBase);
    if ("buildId" in id) mod.buildId = id.buildId;
    else mod.buildIdMissing = id.missing;
    out.push(mod);
  }
  return out;
}

/** The module whose mappings span `addr`. */
export function moduleOf(modules: readonly Module[], addr: bigint): Module | undefined {
  return modules.find((m) => addr >= m.base && addr < m.end);
}
