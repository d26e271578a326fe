// The whole crash report as `kubectl coredog crashes show` prints it below the record: how it died, the crashing
// thread's registers and backtrace, the other threads' top frames, and every module with its build-id.
import type { CoreSidecar } from "../../src/core-sidecar.js";
import type { CrashReport, ReportFrame } from "../../src/crash-report.js";
import { frameText } from "../../src/crash-summary.js";

function frameLine(f: ReportFrame, i: number): string {
  const where = frameText(f);
  const id = f.buildId ? ` (build-id ${f.buildId})` : "";
  return `  #${i} ${f.pc} ${where === f.pc ? "?" : where}${id} [${f.how}]`;
}

export function describeReport(r: CrashReport): string {
  const out: string[] = [];
  out.push(
    `Crash report (schema ${r.schemaVersion}${r.complete ? "" : `, incomplete: ${r.problems.join("; ")}`}):`,
  );
  out.push(`  Death:    ${r.death.summary}`);
  const t = r.crashingThread;
  out.push(
    `  Thread:   ${t.tid !== undefined ? `tid ${t.tid}` : "?"} of ${r.process.threads} thread(s)${r.machine ? `, ${r.machine}` : ""}`,
  );
  if (r.process.commandLine) out.push(`  Command:  ${r.process.commandLine}`);
  const regs = Object.entries(t.registers ?? {});
  if (regs.length > 0) {
    out.push("Registers:");
    for (let i = 0; i < regs.length; i += 4)
      out.push(
        `  ${regs
          .slice(i, i + 4)
          .map(([k, v]) => `${k.padEnd(6)} ${v}`)
          .join("  ")}`,
      );
  }
  out.push("Backtrace (crashing thread, whole):");
  t.backtrace.forEach((f, i) => out.push(frameLine(f, i)));
  out.push(`  (${t.stop.reason})`);
  if (t.gap) out.push(`  (frames missing after #${t.gap.afterFrame}: ${t.gap.reason})`);
  if (r.otherThreads.length > 0) {
    out.push("Other threads (top frame):");
    for (const o of r.otherThreads)
      out.push(`  tid ${o.tid}: ${o.top ? `${o.top.pc} ${frameText(o.top)}` : "?"}`);
  }
  out.push("Modules:");
  for (const m of r.modules)
    out.push(
      `  ${m.base}-${m.end} ${m.path} ${m.buildId ? `build-id ${m.buildId}` : `(no build-id: ${m.buildIdMissing ?? "not read"})`}`,
    );
  return out.join("\n");
}

/** The report part of `crashes show` (and of the TUI's crash details): the whole report, or why there is none. */
export function reportSection(sidecar: { doc: CoreSidecar } | { error: string }): string {
  if ("error" in sidecar) return `Crash report: not shown: ${sidecar.error}`;
  if (sidecar.doc.crash) return describeReport(sidecar.doc.crash);
  return `Crash report: none (${sidecar.doc.crashError ?? "the core could not be read as one"})`;
}
