// `npm run bench:report`: the crash report of a 2 GiB core beside reading only its notes (src/elf-core.ts
// parseElfCore), in the same run. The core is a real one (a C program crashed here through the kernel),
// with its heap segment padded by 2 GiB of sparse zeros and the segments after it moved along, so the
// file is 2 GiB on disk (sparse) in /tmp, deleted afterwards. The report must read only the headers, the
// notes and a few pages, so it costs a small multiple of the notes alone, not a read of the file.
// Last line: `report of a 2 GiB core: <ms> ms, <MiB> MiB extra, <ratio> x notes only`.
import { execFileSync } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crashReport } from "../../src/crash-report.js";
import { parseElfCore, type ReadFn } from "../../src/elf-core.js";
import { crash, FIXTURES, holdCoreDumps } from "../unit/src/crash-report/support.js";

const PAD = 2n * 1024n * 1024n * 1024n;
const ROUNDS = 9;

const dir = mkdtempSync(join(tmpdir(), "coredog-bench-report-"));
try {
  const exe = join(dir, "crasher");
  execFileSync("gcc", [
    "-O0",
    "-fno-omit-frame-pointer",
    "-shared",
    "-fPIC",
    "-o",
    join(dir, "libboom.so"),
    join(FIXTURES, "libboom.c"),
  ]);
  execFileSync("gcc", [
    "-O0",
    "-fno-omit-frame-pointer",
    "-pthread",
    "-o",
    exe,
    join(FIXTURES, "crasher.c"),
    `-L${dir}`,
    "-lboom",
    `-Wl,-rpath,${dir}`,
  ]);
  mkdirSync(join(dir, "cores"));
  const release = await holdCoreDumps();
  let small: string;
  try {
    small = crash(join(dir, "cores"), [exe, "null"]);
  } finally {
    await release();
  }
  const big = join(dir, "big.core");
  const padded = padHeap(readFileSync(small), big);
  const size = statSync(big).size;
  console.log(
    `core: ${statSync(small).size} bytes from the kernel; padded ${padded} by 2 GiB: ${size} bytes (sparse)`,
  );

  const fd = openSync(big, "r");
  const read: ReadFn = async (offset, length) => {
    const b = Buffer.alloc(length);
    const n = readSync(fd, b, 0, length, offset);
    return b.subarray(0, n);
  };
  // warm up both
  await parseElfCore(read);
  const first = await crashReport(read, { fileSize: size });
  if (first.crashingThread.backtrace.length < 3 || !first.death.nullPointer)
    throw new Error(
      `the report of the padded core is not the crash's: ${JSON.stringify(first.death)}`,
    );

  const notes: number[] = [];
  const reports: number[] = [];
  const rssBefore = process.memoryUsage().rss;
  let maxExtra = 0;
  for (let i = 0; i < ROUNDS; i++) {
    let t = performance.now();
    await parseElfCore(read);
    notes.push(performance.now() - t);
    const start = process.memoryUsage().rss;
    t = performance.now();
    const r = await crashReport(read, { fileSize: size });
    reports.push(performance.now() - t);
    maxExtra = Math.max(
      maxExtra,
      process.memoryUsage().rss - start,
      process.resourceUsage().maxRSS * 1024 - rssBefore,
    );
    if (r.fingerprint.id !== first.fingerprint.id)
      throw new Error("the report changed between rounds");
  }
  closeSync(fd);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ms = median(reports);
  const base = median(notes);
  console.log(`notes only (parseElfCore): median ${base.toFixed(2)} ms over ${ROUNDS} rounds`);
  console.log(`crash report: median ${ms.toFixed(2)} ms, ${first.bytesRead} bytes read of ${size}`);
  console.log(`fault: ${first.death.summary}; fingerprint ${first.fingerprint.short}`);
  const mib = Math.max(0, maxExtra) / (1024 * 1024);
  if (ms >= 200 || mib >= 32) {
    console.log(`OVER BUDGET (200 ms, 32 MiB)`);
    process.exitCode = 1;
  }
  console.log(
    `report of a 2 GiB core: ${ms.toFixed(1)} ms, ${mib.toFixed(1)} MiB extra, ${(ms / base).toFixed(2)} x notes only`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** Writes `core` to `path` with its heap PT_LOAD 2 GiB longer (sparse zeros), later segments moved along. */
function padHeap(core: Buffer, path: string): string {
  const phoff = Number(core.readBigUInt64LE(32));
  const phnum = core.readUInt16LE(56);
  const loads: { at: number; offset: bigint; vaddr: bigint; filesz: bigint; memsz: bigint }[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * 56;
    if (core.readUInt32LE(at) !== 1) continue;
    loads.push({
      at,
      offset: core.readBigUInt64LE(at + 8),
      vaddr: core.readBigUInt64LE(at + 16),
      filesz: core.readBigUInt64LE(at + 32),
      memsz: core.readBigUInt64LE(at + 40),
    });
  }
  // a dumped segment followed by a gap of more than 2 GiB in the address space (the heap, below the mmaps)
  const i = loads.findIndex(
    (l, k) =>
      l.filesz > 0n && k + 1 < loads.length && loads[k + 1]!.vaddr - (l.vaddr + l.memsz) > PAD,
  );
  if (i < 0) throw new Error("no segment with 2 GiB of address space after it");
  const seg = loads[i]!;
  const end = Number(seg.offset + seg.filesz);
  const out = Buffer.from(core);
  out.writeBigUInt64LE(seg.filesz + PAD, seg.at + 32);
  out.writeBigUInt64LE(seg.memsz + PAD, seg.at + 40);
  for (const l of loads)
    if (l.offset >= BigInt(end) && l.filesz > 0n) out.writeBigUInt64LE(l.offset + PAD, l.at + 8);
  const fd = openSync(path, "w");
  writeSync(fd, out, 0, end, 0);
  writeSync(fd, out, end, out.length - end, Number(BigInt(end) + PAD));
  closeSync(fd);
  return `the segment at 0x${seg.vaddr.toString(16)}`;
}
