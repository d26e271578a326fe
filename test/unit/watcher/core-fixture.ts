// Synthetic ELF64 core files for the watcher's tests: a real ET_CORE header, one PT_NOTE segment with
// NT_PRPSINFO (comm, command line, uid, pid) and NT_SIGINFO (the signal), then a body of the requested size.
import { randomBytes, randomFillSync } from "node:crypto";
import { openSync, writeSync, closeSync } from "node:fs";

function note(type: number, desc: Buffer): Buffer {
  const name = Buffer.from("CORE\0\0\0\0"); // "CORE\0" padded to 4
  const head = Buffer.alloc(12);
  head.writeUInt32LE(5, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(type, 8);
  const pad = Buffer.alloc((4 - (desc.length % 4)) % 4);
  return Buffer.concat([head, name, desc, pad]);
}

export interface FakeCore {
  comm?: string;
  args?: string;
  signal?: number;
  uid?: number;
  pid?: number;
}

/**
 * The first bytes of a core: ELF header, program headers, notes. With `total`, a PT_LOAD segment covers the rest
 * of those bytes, so the headers say the core is `total` bytes long (as a real core's do).
 */
export function coreHead(c: FakeCore = {}, total?: number): Buffer {
  const prpsinfo = Buffer.alloc(136);
  prpsinfo.writeUInt32LE(c.uid ?? 1000, 16);
  prpsinfo.writeInt32LE(c.pid ?? 42, 24);
  prpsinfo.write((c.comm ?? "crasher").slice(0, 15), 40, "latin1");
  prpsinfo.write((c.args ?? "crasher --boom").slice(0, 79), 56, "latin1");
  const siginfo = Buffer.alloc(128);
  siginfo.writeInt32LE(c.signal ?? 11, 0);
  const notes = Buffer.concat([note(3, prpsinfo), note(0x53494749, siginfo)]);
  const phnum = total !== undefined ? 2 : 1;
  const notesAt = 64 + 56 * phnum;
  const headLength = notesAt + notes.length;
  const eh = Buffer.alloc(64);
  eh.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0); // ELF64, little endian, version 1
  eh.writeUInt16LE(4, 16); // ET_CORE
  eh.writeUInt16LE(62, 18); // x86_64
  eh.writeUInt32LE(1, 20);
  eh.writeBigUInt64LE(64n, 32); // e_phoff
  eh.writeUInt16LE(64, 52); // e_ehsize
  eh.writeUInt16LE(56, 54); // e_phentsize
  eh.writeUInt16LE(phnum, 56); // e_phnum
  const ph = Buffer.alloc(56 * phnum);
  ph.writeUInt32LE(4, 0); // PT_NOTE
  ph.writeBigUInt64LE(BigInt(notesAt), 8); // p_offset
  ph.writeBigUInt64LE(BigInt(notes.length), 32); // p_filesz
  ph.writeBigUInt64LE(4n, 48); // p_align
  if (total !== undefined) {
    const load = ph.subarray(56);
    load.writeUInt32LE(1, 0); // PT_LOAD
    load.writeUInt32LE(6, 4); // rw-
    load.writeBigUInt64LE(BigInt(headLength), 8); // p_offset
    load.writeBigUInt64LE(0x400000n, 16); // p_vaddr
    const body = BigInt(Math.max(0, total - headLength));
    load.writeBigUInt64LE(body, 32); // p_filesz
    load.writeBigUInt64LE(body, 40); // p_memsz
    load.writeBigUInt64LE(4096n, 48); // p_align
  }
  return Buffer.concat([eh, ph, notes]);
}

/** A 1 MiB block, half pseudo-random and half zeros: compressible like a real core, cheap to make. */
export function coreBlock(seed = 1): Buffer {
  const b = Buffer.alloc(1 << 20);
  randomBytes(512 * 1024).copy(b);
  b.writeUInt32LE(seed, 0);
  return b;
}

/** Writes a core of exactly `size` bytes (size >= head length) whose headers say it is `size` bytes long. */
export function writeCore(path: string, size: number, c: FakeCore = {}, block = coreBlock()): void {
  const head = coreHead(c, size);
  const fd = openSync(path, "w", 0o600);
  try {
    writeSync(fd, head);
    let left = size - head.length;
    while (left > 0) {
      const n = Math.min(left, block.length);
      writeSync(fd, block, 0, n);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a core of exactly `size` bytes shaped like a real one, for compression figures: every 1 MiB is half
 * fresh random bytes (never repeated, so a compressor's window finds nothing), a quarter zeros (untouched pages)
 * and a quarter repetitive structured data (heap-like 8-byte pointers and counters).
 */
export function writeRealisticCore(path: string, size: number, c: FakeCore = {}): void {
  const head = coreHead(c, size);
  const block = Buffer.alloc(1 << 20);
  const random = block.subarray(0, 512 * 1024);
  const structured = block.subarray(768 * 1024);
  const fd = openSync(path, "w", 0o600);
  try {
    writeSync(fd, head);
    let left = size - head.length;
    for (let i = 0; left > 0; i++) {
      randomFillSync(random);
      for (let o = 0; o < structured.length; o += 16) {
        structured.writeBigUInt64LE(0x7f3a_0000_0000n + BigInt((i * 4096 + o) & 0xfffff), o);
        structured.writeUInt32LE(o & 0xff, o + 8);
      }
      const n = Math.min(left, block.length);
      writeSync(fd, block, 0, n);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}
