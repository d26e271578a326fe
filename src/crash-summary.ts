// A crash report said briefly, for people: the frames as module+offset, whether its fingerprint is new,
// and the one-line short form that Events and logs carry (`SIGSEGV at 0x0 in app+0x1139 [fp 1a2b3c4d5e6f, new]`).
import { isRuntimeModule } from "./crash-fingerprint.js";
import type { CrashReport, ReportFrame } from "./crash-report.js";

export const NOTICE_FRAMES = 3;

function basename(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

/** `app+0x1139`; the bare pc for code outside every module. */
export function frameText(f: ReportFrame): string {
  if (f.module && f.offset) return `${basename(f.module)}+${f.offset}`;
  return f.pc;
}

/** The top `n` frames of the crashing thread as module+offset. */
export function topFrames(report: CrashReport, n = NOTICE_FRAMES): string[] {
  return report.crashingThread.backtrace.slice(0, n).map(frameText);
}

/** The frame people look at first: the first one outside the C/C++ runtime (abort, raise), else frame 0. */
export function crashSite(report: CrashReport): ReportFrame | undefined {
  const frames = report.crashingThread.backtrace;
  return frames.find((f) => f.module !== undefined && !isRuntimeModule(f.module)) ?? frames[0];
}

/**
 * How often this fingerprint was seen before this core, in words: `new`, `seen once before`,
 * `seen 3 times before`, `seen 10000+ times before` (a bounded count); undefined when not known.
 */
export function seenText(seenBefore: number | undefined, atLeast = false): string | undefined {
  if (seenBefore === undefined || !Number.isFinite(seenBefore) || seenBefore < 0) return undefined;
  if (seenBefore === 0) return "new";
  if (seenBefore === 1 && !atLeast) return "seen once before";
  return `seen ${seenBefore}${atLeast ? "+" : ""} times before`;
}

/** `SIGSEGV at 0x0 in app+0x1139 [fp 1a2b3c4d5e6f, new]`. */
export function crashShortForm(report: CrashReport, seen?: string): string {
  const parts = [
    report.death.signalName ??
      (report.death.signal !== undefined ? `signal ${report.death.signal}` : "unknown signal"),
  ];
  if (report.death.faultAddress) parts.push(`at ${report.death.faultAddress}`);
  const site = crashSite(report);
  if (site) parts.push(`in ${frameText(site)}`);
  parts.push(`[fp ${report.fingerprint.short}${seen ? `, ${seen}` : ""}]`);
  return parts.join(" ");
}

export interface ShortFormParts {
  /** The whole short form. */
  text: string;
  /** The fingerprint's short id. */
  fingerprint: string;
  /** `new`, `seen once before`, …; undefined when the message did not say. */
  seen?: string;
}

const SHORT_FORM_TAIL = /; ([^;]* \[fp ([0-9a-f]{12})(?:, ([^\]]+))?\])$/;

/** The short form at the end of an Event message (eventMessage in the watcher puts it there), if any. */
export function parseCrashShortForm(message: string): ShortFormParts | undefined {
  const m = SHORT_FORM_TAIL.exec(message);
  if (!m) return undefined;
  return { text: m[1]!, fingerprint: m[2]!, ...(m[3] ? { seen: m[3] } : {}) };
}
