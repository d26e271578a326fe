// The TUI's crashes view: `c` opens CoreDump records grouped by fingerprint, Enter shows the newest record of
// the group with its crash report (scrolled with the keys), p pulls it (through the source), Esc goes back.
import { afterEach, describe, expect, it } from "vitest";
import { cleanup } from "ink-testing-library";
import { buildCoreDump, type CoreDump } from "../../../src/coredump.js";
import { reduceKey, initialUi, type View } from "../../../plugin/tui/keys.js";
import { reportLines } from "../../../plugin/lib/crash-report-text.js";
import { groupCrashes } from "../../../plugin/lib/crashes.js";
import { crashDetailsLines } from "../../../plugin/tui/components/crashes-view.js";
import { crashReportFixture } from "../notify/fixtures.js";
import { FakeSource, NOW, pod } from "./fake.js";
import { KEYS, setup } from "./harness.js";

function rec(name: string, minutesAgo: number, fp: string, workload = "api"): CoreDump {
  const r = buildCoreDump({
    namespace: "shop",
    pod: `${workload}-7d9f-${name}`,
    node: "node-1",
    workload: { kind: "Deployment", name: workload },
    capturedAt: new Date(NOW - minutesAgo * 60_000),
    executable: "/app/server",
    filename: "core.server.1",
    signal: 11,
    signalName: "SIGSEGV",
    key: `corefiles/shop/${name}`,
    size: 100,
    sha256: "d".repeat(64),
    compression: "zstd",
  });
  r.metadata.name = name;
  r.spec.fingerprint = { id: fp.repeat(64).slice(0, 64), short: fp.repeat(12).slice(0, 12) };
  r.spec.frames = [`server+0x${fp}00`, "libc.so.6+0x29d90"];
  return r;
}

/** A report as `crashes show` prints it, longer than a screen: 40 modules. */
function reportText(name: string): string {
  return [
    "Crash report (schema 1):",
    `  Death:    SIGSEGV (SEGV_MAPERR) at 0x0 in ${name}`,
    "Registers:",
    "  rax    0x0000000000000000  rbx    0x00007ffd5a3c1e88  rcx    0x0000000000000001  rdx    0x0",
    "Modules:",
    ...Array.from(
      { length: 40 },
      (_, i) => `  0x7f00${i}000-0x7f00${i}fff /usr/lib/libmod${i}.so build-id ${"e".repeat(40)}`,
    ),
  ].join("\n");
}

class CrashSource extends FakeSource {
  records = [rec("a1", 5, "a"), rec("a2", 50, "a", "worker"), rec("b1", 20, "b")];
  pulls: string[] = [];
  reports: string[] = [];
  crashes = async () => this.records;
  crashReport = async (ns: string, name: string) => {
    this.reports.push(`${ns}/${name}`);
    return reportText(name)
      .split("\n")
      .map((text) => ({ text }));
  };
  pullCrash = async (ns: string, name: string) => {
    this.pulls.push(`${ns}/${name}`);
    return { out: `/tmp/${name}.core`, gdb: `gdb /app/server /tmp/${name}.core` };
  };
}

afterEach(() => cleanup());

/** What the keys see of an empty pod list. */
const LIST_VIEW: View = {
  selected: 0,
  rowCount: 0,
  page: 10,
  find: () => undefined,
  namespaces: [],
};

describe("tui crashes view", () => {
  it("groups by fingerprint, shows the newest record, pulls it, and goes back", async () => {
    const source = new CrashSource({ pods: [pod("shop", "api-7d9f-aaaaa")] });
    const { frame, press, until } = setup(source);
    await until(/api-7d9f-aaaaa/);
    await press("c");
    await until(/FINGERPRINT\s+COUNT\s+LAST SEEN/);
    const lines = frame().split("\n");
    const a = lines.find((l) => l.includes("aaaaaaaaaaaa"))!;
    expect(a).toMatch(
      /^> aaaaaaaaaaaa\s+2\s+5m\s+SIGSEGV\s+server\+0xa00\s+shop\/deployment\/api,shop\/deployment\/worker/,
    );
    expect(lines.find((l) => l.includes("bbbbbbbbbbbb"))).toMatch(/^ {2}bbbbbbbbbbbb\s+1\s+20m/);
    await press("j", KEYS.enter);
    await until(/fingerprint bbbbbbbbbbbb · 1 crashes · newest:/);
    expect(frame()).toContain("kubectl coredog pull b1 -n shop");
    await press("p");
    await until(/pulled \/tmp\/b1\.core \(verified\) · gdb \/app\/server \/tmp\/b1\.core/);
    expect(source.pulls).toEqual(["shop/b1"]);
    await press(KEYS.escape, KEYS.escape);
    await until(/api-7d9f-aaaaa/);
    expect(frame()).not.toContain("FINGERPRINT");
  });

  it("shows the newest record's whole crash report, fetched once, scrolled by the keys; a report that cannot be fetched says why", async () => {
    const source = new CrashSource({ pods: [pod("shop", "api-7d9f-aaaaa")] });
    const { frame, press, until } = setup(source, { rows: 30 });
    await press("c");
    await until(/FINGERPRINT\s+COUNT/);
    await press(KEYS.enter);
    await until(/Death: {4}SIGSEGV \(SEGV_MAPERR\) at 0x0 in a1/);
    expect(frame()).toContain("fingerprint aaaaaaaaaaaa · 2 crashes · newest:");
    expect(frame()).not.toMatch(/rax {4}0x0000000000000000/);
    await press("j", "j", "j");
    await until(/rax {4}0x0000000000000000/);
    expect(frame()).not.toContain("fingerprint aaaaaaaaaaaa");
    expect(frame()).not.toContain("libmod39.so");
    await press("G");
    await until(/libmod39\.so build-id e{40}/);
    expect(frame()).not.toContain("fingerprint aaaaaaaaaaaa");
    await press("k", "k");
    await until(/libmod37\.so/);
    expect(frame()).not.toContain("libmod39.so");
    await press("g");
    await until(/fingerprint aaaaaaaaaaaa · 2 crashes/);
    // Back to the groups and in again: the report is not fetched a second time.
    await press(KEYS.escape);
    await until(/FINGERPRINT\s+COUNT/);
    await press(KEYS.enter);
    await until(/Death: {4}SIGSEGV/);
    expect(source.reports).toEqual(["shop/a1"]);

    source.crashReport = async () => {
      throw new Error("the watcher holding the Lease did not answer within 15s");
    };
    await press(KEYS.escape, "j", KEYS.enter);
    await until(/Crash report: not shown: the watcher holding the Lease did not answer within 15s/);
  });

  it("shows the report's crash site marked and in the report's tone", async () => {
    const source = new CrashSource({ pods: [pod("shop", "api-7d9f-aaaaa")] });
    source.crashReport = async () => reportLines(crashReportFixture());
    const { frame, press, until } = setup(source, { rows: 40 });
    await press("c");
    await until(/FINGERPRINT\s+COUNT/);
    await press(KEYS.enter);
    await until(/#0 0x[0-9a-f]+ api\+0x1139 .*← crash site/);
    expect(frame().match(/← crash site/g)).toHaveLength(1);

    const records = [rec("a1", 5, "a")];
    const details = crashDetailsLines(
      { state: "done", groups: groupCrashes(records), records: new Map([["a1", records[0]!]]) },
      0,
      { state: "done", lines: reportLines(crashReportFixture()) },
    );
    expect(details.find((l) => l.text.endsWith("← crash site"))?.tone).toBe("bad");
    expect(details.find((l) => l.text.startsWith("  Death:"))?.tone).toBe("bad");
  });

  it("says when loading fails", async () => {
    const source = new CrashSource();
    source.crashes = async () => {
      throw new Error("this cluster does not serve CoreDump records (coredumps.coredog.io)");
    };
    const { press, until } = setup(source);
    await press("c");
    await until(/error: this cluster does not serve CoreDump records/);
  });

  it("keys: c opens the view and loads; p without a crash says so", () => {
    const view = LIST_VIEW;
    const opened = reduceKey(initialUi(), { input: "c" }, view);
    expect(opened.state.mode).toEqual({ type: "crashes", index: 0, details: false, scroll: 0 });
    expect(opened.effects).toEqual([{ type: "crashes-load" }]);
    const p = reduceKey(opened.state, { input: "p" }, { ...view, crashGroups: 0 });
    expect(p.effects).toEqual([]);
    expect(p.state.flash?.text).toBe("no crash selected");
  });

  it("keys: Enter opens the details and asks for the report; the scroll stays within the details; Esc goes back", () => {
    const view: View = {
      ...LIST_VIEW,
      crashGroups: 2,
      currentCrash: { namespace: "shop", name: "a1" },
      detailsScrollMax: 25,
    };
    const list = reduceKey(initialUi(), { input: "c" }, view).state;
    const opened = reduceKey(list, { input: "", return: true }, view);
    expect(opened.state.mode).toEqual({ type: "crashes", index: 0, details: true, scroll: 0 });
    expect(opened.effects).toEqual([{ type: "crash-report", namespace: "shop", name: "a1" }]);
    const keys = (s: typeof opened.state, ...ks: Parameters<typeof reduceKey>[1][]) =>
      ks.reduce((st, k) => reduceKey(st, k, view).state, s);
    const scrollOf = (s: typeof opened.state) => (s.mode.type === "crashes" ? s.mode.scroll : -1);
    expect(scrollOf(keys(opened.state, { input: "k" }))).toBe(0);
    expect(scrollOf(keys(opened.state, { input: "j" }, { input: "j" }))).toBe(2);
    expect(scrollOf(keys(opened.state, { input: "", pageDown: true }))).toBe(10);
    expect(scrollOf(keys(opened.state, { input: "G" }))).toBe(25);
    expect(scrollOf(keys(opened.state, { input: "G" }, { input: " " }))).toBe(25);
    expect(
      scrollOf(keys(opened.state, { input: "G" }, { input: "", pageUp: true }, { input: "k" })),
    ).toBe(14);
    // In the details j moves the text, not the selected group.
    const moved = keys(opened.state, { input: "j" });
    expect(moved.mode).toMatchObject({ index: 0, details: true });
    expect(keys(moved, { input: "", escape: true }).mode).toEqual({
      type: "crashes",
      index: 0,
      details: false,
      scroll: 0,
    });
  });
});
