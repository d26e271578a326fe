// The crashes view: CoreDump records grouped by fingerprint (count, last seen, workloads, top frame), and the
// selected group's newest record in full with its crash report (Enter), scrolled by the keys. Keys are in keys.ts
// (crashes mode).
import { age } from "../../lib/output.js";
import { describeCrash, type CrashGroup } from "../../lib/crashes.js";
import type { CoreDump } from "../../../src/coredump.js";
import type { ReportLine } from "../../lib/crash-report-text.js";
import { Lines, type Line } from "./dialogs.js";

export type CrashesState =
  | { state: "loading" }
  | { state: "error"; message: string }
  | { state: "done"; groups: CrashGroup[]; records: Map<string, CoreDump> };

/** One record's crash report, fetched from beside its core when its details open. */
export type CrashReportState =
  | { state: "loading" }
  | { state: "error"; message: string }
  | { state: "done"; lines: ReportLine[] };

/** The details of group `index`: its newest record, then its crash report (as `crashes show` prints them). */
export function crashDetailsLines(
  crashes: CrashesState,
  index: number,
  report: CrashReportState | undefined,
): Line[] {
  if (crashes.state !== "done") return [];
  const g = crashes.groups[index];
  const r = g && crashes.records.get(g.latest);
  const reportLines: Line[] =
    report?.state === "done"
      ? report.lines
      : report?.state === "error"
        ? [{ text: `Crash report: not shown: ${report.message}`, tone: "bad" }]
        : [{ text: "loading the crash report…", tone: "dim" }];
  return [
    { text: `fingerprint ${g?.fingerprint} · ${g?.count} crashes · newest:`, tone: "bold" },
    ...(r ? describeCrash(r).split("\n") : []).map((text) => ({ text })),
    ...reportLines,
  ];
}

export function CrashesView(p: {
  crashes: CrashesState;
  index: number;
  details: boolean;
  /** The details' first line shown. */
  scroll: number;
  report: CrashReportState | undefined;
  height: number;
  width: number;
  now: number;
}) {
  const c = p.crashes;
  let lines: Line[];
  if (c.state === "loading") lines = [{ text: "loading CoreDump records…", tone: "dim" }];
  else if (c.state === "error") lines = [{ text: `error: ${c.message}`, tone: "bad" }];
  else if (!c.groups.length)
    lines = [
      { text: "no crashes recorded (CoreDump records appear after a core is stored)", tone: "dim" },
    ];
  else if (p.details) lines = crashDetailsLines(c, p.index, p.report).slice(p.scroll);
  else {
    const row = (g: CrashGroup) =>
      [
        g.fingerprint.padEnd(12),
        String(g.count).padStart(5),
        age(g.lastSeen, p.now).padStart(9),
        (g.signal || "-").padEnd(8),
        (g.topFrame || "-").padEnd(28),
        g.workloads.join(","),
      ].join("  ");
    const top = Math.max(0, Math.min(p.index - (p.height - 2), c.groups.length - (p.height - 1)));
    lines = [
      {
        text: `${"FINGERPRINT".padEnd(12)}  COUNT  LAST SEEN  ${"SIGNAL".padEnd(8)}  ${"TOP FRAME".padEnd(28)}  WORKLOADS`,
        tone: "bold",
      },
      ...c.groups
        .slice(top, top + p.height - 1)
        .map((g, i) => ({ text: row(g), selected: top + i === p.index })),
    ];
  }
  return <Lines lines={lines} height={p.height} width={p.width} />;
}
