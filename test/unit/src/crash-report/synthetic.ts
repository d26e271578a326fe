// Synthetic x86_64 ELF cores, byte for byte as the kernel lays them out (ELF header, program headers, one
// PT_NOTE, PT_LOAD data), for the bounds and fuzz tests: the cases a real crash cannot be made to produce.
const REGS = [
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
];

export interface SyntheticCore {
  threads: { tid: number; regs: Record<string, bigint> }[];
  siginfo?: { signo: number; code: number; addr: bigint };
  auxv?: [bigint, bigint][];
  files?: { start: bigint; end: bigint; pageOffset: bigint; path: string }[];
  /** `fileCount` overrides the NT_FILE count field (absurd counts). */
  fileCount?: bigint;
  loads: { vaddr: bigint; data: Uint8Array; memsz?: bigint; flags: number }[];
  noNotes?: boolean;
}

function note(name: string, type: number, desc: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(`${name}\0`);
  const nsz = Math.ceil(nameBytes.length / 4) * 4;
  const dsz = Math.ceil(desc.length / 4) * 4;
  const out = new Uint8Array(12 + nsz + dsz);
  const v = new DataView(out.buffer);
  v.setUint32(0, nameBytes.length, true);
  v.setUint32(4, desc.length, true);
  v.setUint32(8, type, true);
  out.set(nameBytes, 12);
  out.set(desc, 12 + nsz);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function buildCore(spec: SyntheticCore): Uint8Array {
  const notes: Uint8Array[] = [];
  for (const t of spec.threads) {
    const d = new Uint8Array(336);
    const v = new DataView(d.buffer);
    v.setInt16(12, spec.siginfo?.signo ?? 0, true);
    v.setInt32(32, t.tid, true);
    REGS.forEach((r, i) => v.setBigUint64(112 + i * 8, t.regs[r] ?? 0n, true));
    notes.push(note("CORE", 1, d));
    if (notes.length === 1 && spec.siginfo) {
      const si = new Uint8Array(128);
      const sv = new DataView(si.buffer);
      sv.setInt32(0, spec.siginfo.signo, true);
      sv.setInt32(8, spec.siginfo.code, true);
      sv.setBigUint64(16, spec.siginfo.addr, true);
      notes.push(note("CORE", 0x53494749, si));
    }
  }
  if (spec.auxv) {
    const a = new Uint8Array((spec.auxv.length + 1) * 16);
    const v = new DataView(a.buffer);
    spec.auxv.forEach(([k, val], i) => {
      v.setBigUint64(i * 16, k, true);
      v.setBigUint64(i * 16 + 8, val, true);
    });
    notes.push(note("CORE", 6, a));
  }
  if (spec.files) {
    const names = concat(spec.files.map((f) => new TextEncoder().encode(`${f.path}\0`)));
    const d = new Uint8Array(16 + spec.files.length * 24 + names.length);
    const v = new DataView(d.buffer);
    v.setBigUint64(0, spec.fileCount ?? BigInt(spec.files.length), true);
    v.setBigUint64(8, 4096n, true);
    spec.files.forEach((f, i) => {
      v.setBigUint64(16 + i * 24, f.start, true);
      v.setBigUint64(24 + i * 24, f.end, true);
      v.setBigUint64(32 + i * 24, f.pageOffset, true);
    });
    d.set(names, 16 + spec.files.length * 24);
    notes.push(note("CORE", 0x46494c45, d));
  }
  const noteBytes = spec.noNotes ? new Uint8Array(0) : concat(notes);
  const phnum = spec.loads.length + (spec.noNotes ? 0 : 1);
  const header = new Uint8Array(64);
  const h = new DataView(header.buffer);
  header.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  h.setUint16(16, 4, true); // ET_CORE
  h.setUint16(18, 62, true); // x86_64
  h.setUint32(20, 1, true);
  h.setBigUint64(32, 64n, true);
  h.setUint16(52, 64, true);
  h.setUint16(54, 56, true);
  h.setUint16(56, phnum, true);
  const phdrs = new Uint8Array(phnum * 56);
  const p = new DataView(phdrs.buffer);
  let off = 64 + phdrs.length;
  let i = 0;
  if (!spec.noNotes) {
    p.setUint32(0, 4, true);
    p.setBigUint64(8, BigInt(off), true);
    p.setBigUint64(32, BigInt(noteBytes.length), true);
    p.setBigUint64(40, BigInt(noteBytes.length), true);
    p.setBigUint64(48, 4n, true);
    off += noteBytes.length;
    i = 1;
  }
  const datas: Uint8Array[] = [];
  for (const l of spec.loads) {
    const pad = (8 - (off % 8)) % 8;
    datas.push(new Uint8Array(pad), l.data);
    off += pad;
    const b = i * 56;
    p.setUint32(b, 1, true);
    p.setUint32(b + 4, l.flags, true);
    p.setBigUint64(b + 8, BigInt(off), true);
    p.setBigUint64(b + 16, l.vaddr, true);
    p.setBigUint64(b + 32, BigInt(l.data.length), true);
    p.setBigUint64(b + 40, l.memsz ?? BigInt(l.data.length), true);
    p.setBigUint64(b + 48, 4096n, true);
    off += l.data.length;
    i++;
  }
  return concat([header, phdrs, noteBytes, ...datas]);
}

/** The first page of an ELF executable linked at `vaddr`: header, PT_LOAD, PT_NOTE with a GNU build-id. */
export function elfImagePage(vaddr: bigint, buildId: Uint8Array): Uint8Array {
  const page = new Uint8Array(4096);
  const v = new DataView(page.buffer);
  page.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, 2, true);
  v.setUint16(18, 62, true);
  v.setBigUint64(32, 64n, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, 2, true);
  v.setUint32(64, 1, true); // PT_LOAD offset 0 at vaddr
  v.setUint32(68, 5, true);
  v.setBigUint64(80, vaddr, true);
  v.setBigUint64(64 + 32, 0x2000n, true);
  v.setBigUint64(64 + 40, 0x2000n, true);
  const n = note("GNU", 3, buildId);
  v.setUint32(120, 4, true); // PT_NOTE
  v.setBigUint64(120 + 8, 0x200n, true);
  v.setBigUint64(120 + 16, vaddr + 0x200n, true);
  v.setBigUint64(120 + 32, BigInt(n.length), true);
  v.setBigUint64(120 + 40, BigInt(n.length), true);
  page.set(n, 0x200);
  return page;
}

/** A stack segment of `size` bytes at `base` with 8-byte words written at the given addresses. */
export function stackSegment(base: bigint, size: number, words: [bigint, bigint][]): Uint8Array {
  const d = new Uint8Array(size);
  const v = new DataView(d.buffer);
  for (const [addr, val] of words) {
    const o = Number(addr - base);
    if (o >= 0 && o + 8 <= size) v.setBigUint64(o, val, true);
  }
  return d;
}
