import { describe, expect, it } from "vitest";
import {
  reportLines,
  reportSectionLines,
  type ReportLine,
} from "../../../plugin/lib/crash-report-text.js";
import { sidecarDocument } from "../../../src/core-sidecar.js";
import type { CrashReport } from "../../../src/crash-report.js";
import { crashReportFixture } from "../notify/fixtures.js";

const text = (lines: ReportLine[]) => lines.map((l) => l.text).join("\n");
const describeReport = (r: CrashReport) => text(reportLines(r));
const reportSection = (s: Parameters<typeof reportSectionLines>[0]) => text(reportSectionLines(s));

describe("reportLines", () => {
  it("prints how it died, every register, the whole backtrace, other threads and every module", () => {
    const r = crashReportFixture();
    const text = describeReport(r);
    expect(text).toContain(`Death:    ${r.death.summary}`);
    for (const [name, value] of Object.entries(r.crashingThread.registers ?? {}))
      expect(text).toMatch(new RegExp(`\\b${name}\\s+${value}\\b`));
    const frames = text.split("\n").filter((l) => /^ {2}#\d+ /.test(l));
    expect(frames).toHaveLength(r.crashingThread.backtrace.length);
    expect(text).toContain(`(${r.crashingThread.stop.reason})`);
    for (const m of r.modules) expect(text).toContain(`${m.base}-${m.end} ${m.path}`);
    for (const o of r.otherThreads) expect(text).toContain(`tid ${o.tid}:`);
  });

  it("marks the crash site, the first frame outside the C runtime, and makes it and the death stand out", () => {
    const r = crashReportFixture();
    const [api, , libc] = r.crashingThread.backtrace;
    const marked = (report: CrashReport) =>
      reportLines(report).filter((l) => l.text.endsWith("← crash site"));
    expect(marked(r)).toEqual([
      { text: expect.stringMatching(/^ {2}#0 0x[0-9a-f]+ api\+0x1139 /), tone: "bad" },
    ]);
    // A crash inside libc (abort, raise): the first frame of the program is the site, not frame 0.
    const inLibc = {
      ...r,
      crashingThread: { ...r.crashingThread, backtrace: [libc!, api!] },
    };
    expect(marked(inLibc).map((l) => l.text)).toEqual([
      expect.stringMatching(/^ {2}#1 0x[0-9a-f]+ api\+0x1139 /),
    ]);
    const lines = reportLines(r);
    expect(lines.find((l) => l.text.startsWith("  Death:"))?.tone).toBe("bad");
    expect(lines.filter((l) => l.tone === "bold").map((l) => l.text)).toEqual([
      "Crash report (schema 1):",
      "Registers:",
      "Backtrace (crashing thread, whole):",
      "Other threads (top frame):",
      "Modules:",
    ]);
  });

  it("says what is missing from an incomplete report", () => {
    const r = { ...crashReportFixture(), complete: false, problems: ["the stack was not dumped"] };
    expect(describeReport(r).split("\n")[0]).toBe(
      "Crash report (schema 1, incomplete: the stack was not dumped):",
    );
  });
});

describe("reportSection", () => {
  it("is the whole report, or says why there is none or why it is not shown", () => {
    const r = crashReportFixture();
    const doc = sidecarDocument(
      {
        key: "corefiles/shop/api-1/app/1-core",
        size: 4,
        sha256: "c".repeat(64),
        storedBytes: 4,
        compression: "none",
        uploadedAt: "2026-12-04T17:00:00.000Z",
        metadata: {},
      },
      r,
    );
    expect(reportSection({ doc })).toBe(describeReport(r));
    expect(reportSection({ doc: { ...doc, crash: null, crashError: "no PT_NOTE segment" } })).toBe(
      "Crash report: none (no PT_NOTE segment)",
    );
    expect(reportSection({ doc: { ...doc, crash: null } })).toBe(
      "Crash report: none (the core could not be read as one)",
    );
    expect(reportSection({ error: "the store answered HTTP 404 for the report" })).toBe(
      "Crash report: not shown: the store answered HTTP 404 for the report",
    );
  });
});
