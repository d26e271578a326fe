import { describe, expect, it } from "vitest";
import { describeReport } from "../../../plugin/lib/crash-report-text.js";
import { crashReportFixture } from "../notify/fixtures.js";

describe("describeReport", () => {
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

  it("says what is missing from an incomplete report", () => {
    const r = { ...crashReportFixture(), complete: false, problems: ["the stack was not dumped"] };
    expect(describeReport(r).split("\n")[0]).toBe(
      "Crash report (schema 1, incomplete: the stack was not dumped):",
    );
  });
});
