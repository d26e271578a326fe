// The TUI's crashes view: `c` opens CoreDump records grouped by fingerprint, Enter shows the newest record of
// the group, p pulls it (through the source), Esc goes back.
import { afterEach, describe, expect, it } from "vitest";
import { cleanup } from "ink-testing-library";
import { buildCoreDump, type CoreDump } from "../../../src/coredump.js";
import { reduceKey, initialUi, type View } from "../../../plugin/tui/keys.js";
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

class CrashSource extends FakeSource {
  records = [rec("a1", 5, "a"), rec("a2", 50, "a", "worker"), rec("b1", 20, "b")];
  pulls: string[] = [];
  crashes = async () => this.records;
  pullCrash = async (ns: string, name: string) => {
    this.pulls.push(`${ns}/${name}`);
    return { out: `/tmp/${name}.core`, gdb: `gdb /app/server /tmp/${name}.core` };
  };
}

afterEach(() => cleanup());

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
    const view: View = {
      selected: 0,
      rowCount: 0,
      page: 10,
      find: () => undefined,
      namespaces: [],
    };
    const opened = reduceKey(initialUi(), { input: "c" }, view);
    expect(opened.state.mode).toEqual({ type: "crashes", index: 0, details: false });
    expect(opened.effects).toEqual([{ type: "crashes-load" }]);
    const p = reduceKey(opened.state, { input: "p" }, { ...view, crashGroups: 0 });
    expect(p.effects).toEqual([]);
    expect(p.state.flash?.text).toBe("no crash selected");
  });
});
