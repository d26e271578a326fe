// The whole crash report as `kubectl coredog crashes show` prints it below the record: how it died, the crashing
// thread's registers and backtrace (its crash site marked), the other threads' top frames, and every module with
// its build-id.
import type { CoreSidecar } from "../../src/core-sidecar.js";
import type { CrashReport, ReportFrame } from "../../src/crash-report.js";
import { crashSite, frameText } from "../../src/crash-summary.js";
import type { Tone } from "./output.js";

/** One line of a printed crash report; the tone marks what a reader looks at first. */
export interface ReportLine {
  text: string;
  tone?: Tone;
}

const CRASH_SITE_MARK = "  ← crash site";

function frameLine(f: ReportFrame, i: number, site: boolean): ReportLine {
  const where = frameText(f);
  const id = f.buildId ? ` (build-id ${f.buildId})` : "";
  const text = `  #${i} ${f.pc} ${where === f.pc ? "?" : where}${id} [${f.how}]`;
  return site ? { text: `${text}${CRASH_SITE_MARK}`, tone: "bad" } : { text };
}

/** The report line by line: how it died and the crash site (the first frame outside the C runtime) stand out. */
export function reportLines(r: CrashReport): ReportLine[] {
  const out: ReportLine[] = [];
  const heading = (text: string) => out.push({ text, tone: "bold" });
  const line = (text: string) => out.push({ text });
  out.push({
    text: `Crash report (schema ${r.schemaVersion}${r.complete ? "" : `, incomplete: ${r.problems.join("; ")}`}):`,
    tone: r.complete ? "bold" : "warn",
  });
  out.push({ text: `  Death:    ${r.death.summary}`, tone: "bad" });
  const t = r.crashingThread;
  line(
    `  Thread:   ${t.tid !== undefined ? `tid ${t.tid}` : "?"} of ${r.process.threads} thread(s)${r.machine ? `, ${r.machine}` : ""}`,
  );
  if (r.process.commandLine) line(`  Command:  ${r.process.commandLine}`);
  const regs = Object.entries(t.registers ?? {});
  if (regs.length > 0) {
    heading("Registers:");
    for (let i = 0; i < regs.length; i += 4)
      line(
        `  ${regs
          .slice(i, i + 4)
          .map(([k, v]) => `${k.padEnd(6)} ${v}`)
          .join("  ")}`,
      );
  }
  heading("Backtrace (crashing thread, whole):");
  const site = crashSite(r);
  t.backtrace.forEach((f, i) => out.push(frameLine(f, i, f === site)));
  line(`  (${t.stop.reason})`);
  if (t.gap) line(`  (frames missing after #${t.gap.afterFrame}: ${t.gap.reason})`);
  if (r.otherThreads.length > 0) {
    heading("Other threads (top frame):");
    for (const o of r.otherThreads)
      line(`  tid ${o.tid}: ${o.top ? `${o.top.pc} ${frameText(o.top)}` : "?"}`);
  }
  heading("Modules:");
  for (const m of r.modules)
    line(
      `  ${m.base}-${m.end} ${m.path} ${m.buildId ? `build-id ${m.buildId}` : `(no build-id: ${m.buildIdMissing ?? "not read"})`}`,
    );
  return out;
}

/** The report part of `crashes show` (and of the TUI's crash details): the whole report, or why there is none. */
export function reportSectionLines(
  sidecar: { doc: CoreSidecar } | { error: string },
): ReportLine[] {
  if ("error" in sidecar)
    return [{ text: `Crash report: not shown: ${sidecar.error}`, tone: "bad" }];
  if (sidecar.doc.crash) return reportLines(sidecar.doc.crash);
  return [
    {
      text: `Crash report: none (${sidecar.doc.crashError ?? "the core could not be read as one"})`,
      tone: "warn",
    },
  ];
}
