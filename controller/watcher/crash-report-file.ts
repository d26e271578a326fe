// The crash report of a core, read from its open descriptor (only the pages the report needs).
import type { FileHandle } from "node:fs/promises";
import { crashReport, type CrashReport } from "../../src/crash-report.js";

export async function readCrashReport(
  fh: FileHandle,
  size: number,
): Promise<CrashReport | undefined> {
  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    const n = Math.max(0, Math.min(length, size - offset));
    const buf = new Uint8Array(n);
    if (n === 0) return buf;
    const { bytesRead } = await fh.read(buf, 0, n, offset);
    return buf.subarray(0, bytesRead);
  };
  try {
    return await crashReport(read, { fileSize: size });
  } catch {
    return undefined;
  }
}
