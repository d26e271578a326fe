// The process's memory as the core holds it: PT_LOAD segments by virtual address, read page by page
// through the core reader, with a small page cache and a byte budget so that no walk reads much.
import type { CoreReader, LoadSegment } from "./crash-core.js";
import { PF_X } from "./crash-core.js";

export const MEMORY_LIMITS = {
  pageBytes: 4096,
  cachedPages: 64,
  /** All reads of one report together. */
  maxBytesRead: 2 * 1024 * 1024,
};

export type MemoryMiss = "unmapped" | "not-dumped" | "truncated" | "budget";

export class CoreMemory {
  private readonly cache = new Map<bigint, Uint8Array>();
  bytesRead = 0;
  budgetExhausted = false;

  constructor(
    private readonly reader: CoreReader,
    /** Sorted by vaddr. */
    readonly loads: readonly LoadSegment[],
    private readonly fileSize?: number,
  ) {}

  /** The segment whose [vaddr, vaddr+memsz) holds `addr`. */
  segmentOf(addr: bigint): LoadSegment | undefined {
    let lo = 0;
    let hi = this.loads.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.loads[mid]!;
      if (addr < s.vaddr) hi = mid - 1;
      else if (addr >= s.vaddr + s.memsz) lo = mid + 1;
      else return s;
    }
    return undefined;
  }

  isExecutable(addr: bigint): boolean {
    const s = this.segmentOf(addr);
    return s !== undefined && (s.flags & PF_X) !== 0;
  }

  /** `length` bytes at `addr`, or why they cannot be had. */
  async read(addr: bigint, length: number): Promise<Uint8Array | MemoryMiss> {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const a = addr + BigInt(done);
      const s = this.segmentOf(a);
      if (!s) return "unmapped";
      const inSeg = a - s.vaddr;
      if (inSeg >= BigInt(s.filesz)) return "not-dumped";
      const pageBytes = BigInt(MEMORY_LIMITS.pageBytes);
      const pageStart = a - (a % pageBytes);
      const page = await this.page(pageStart, s);
      if (typeof page === "string") return page;
      const from = Number(a - pageStart);
      const n = Math.min(length - done, page.length - from);
      if (n <= 0) return "truncated";
      out.set(page.subarray(from, from + n), done);
      done += n;
    }
    return out;
  }

  async readWord(addr: bigint): Promise<bigint | MemoryMiss> {
    const b = await this.read(addr, 8);
    if (typeof b === "string") return b;
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  }

  private async page(pageStart: bigint, s: LoadSegment): Promise<Uint8Array | MemoryMiss> {
    const hit = this.cache.get(pageStart);
    if (hit) return hit;
    // Within the segment's file bytes only (segments need not be page aligned).
    const from = pageStart < s.vaddr ? s.vaddr : pageStart;
    const segEnd = s.vaddr + BigInt(s.filesz);
    const to =
      pageStart + BigInt(MEMORY_LIMITS.pageBytes) < segEnd
        ? pageStart + BigInt(MEMORY_LIMITS.pageBytes)
        : segEnd;
    const length = Number(to - from);
    if (this.bytesRead + length > MEMORY_LIMITS.maxBytesRead) {
      this.budgetExhausted = true;
      return "budget";
    }
    const offset = s.offset + Number(from - s.vaddr);
    if (this.fileSize !== undefined && offset >= this.fileSize) return "truncated";
    const got = await this.reader.at(offset, length);
    this.bytesRead += got.length;
    if (got.length === 0) return "truncated";
    // Keep the page addressable from pageStart: pad the front when the segment starts mid-page.
    let page = got;
    if (from > pageStart) {
      page = new Uint8Array(Number(from - pageStart) + got.length);
      page.set(got, Number(from - pageStart));
    }
    if (this.cache.size >= MEMORY_LIMITS.cachedPages) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(pageStart, page);
    return page;
  }
}
