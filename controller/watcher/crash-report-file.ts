// The crash report of a core from its open descriptor, before the upload: only the pages the report needs
// (headers, notes, a few memory pages), bounded in bytes and time. Never throws: a core it cannot read gives
// undefined and the reason (for the log and the sidecar's crashError).
import type { FileHandle } from "node:fs/promises";
import { crashReport, type CrashReport } from "../../src/crash-report.js";
import { errorText } from "../../src/error-text.js";

export const REPORT_FILE_LIMITS = {
  /** All reads of one report together: the notes may be up to 64 MiB (src/crash-core.ts), pages 2 MiB. */
  maxBytesRead: 80 * 1024 * 1024,
  timeoutMs: 10_000,
};

class ReportStopped extends Error {}

/** Reads [offset, offset+length) through the descriptor, short at the end of the file. */
async function readAt(
  fh: FileHandle,
  size: number,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  const n = Math.max(0, Math.min(length, size - offset));
  const buf = Buffer.alloc(n);
  let done = 0;
  while (done < n) {
    const { bytesRead } = await fh.read(buf, done, n - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

/**
 * The crash report of the core behind `fh` (`size` from fstat), or undefined when it cannot be made;
 * `onError` hears why in one sentence.
 */
export async function readCrashReport(
  fh: FileHandle,
  size: number,
  onError?: (why: string) => void,
  limits: Partial<typeof REPORT_FILE_LIMITS> = {},
): Promise<CrashReport | undefined> {
  const maxBytes = limits.maxBytesRead ?? REPORT_FILE_LIMITS.maxBytesRead;
  const timeoutMs = limits.timeoutMs ?? REPORT_FILE_LIMITS.timeoutMs;
  let bytes = 0;
  let stopped: string | undefined;
  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    if (stopped) throw new ReportStopped(stopped);
    if (bytes + length > maxBytes) {
      stopped = `it would read more than ${maxBytes} bytes of the core`;
      throw new ReportStopped(stopped);
    }
    bytes += length;
    return readAt(fh, size, offset, length);
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      stopped = `it took longer than ${timeoutMs} ms`;
      reject(new ReportStopped(stopped));
    }, timeoutMs);
    timer.unref();
  });
  try {
    const report = await Promise.race([crashReport(read, { fileSize: size }), timeout]);
    if (stopped) report.problems.push(`the report stopped early: ${stopped}`);
    report.complete = report.problems.length === 0;
    return report;
  } catch (err) {
    onError?.(`no crash report: ${errorText(err)}`);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
