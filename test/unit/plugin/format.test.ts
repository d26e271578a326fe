// What the CLI prints: tables, lists, colours, events, the status table, errors as one sentence.
import { Writable } from "node:stream";
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { usageSentence } from "../../../plugin/lib/base.js";
import { explainKubeError, UserError } from "../../../plugin/lib/errors.js";
import {
  eventColumns,
  eventRow,
  hasFingerprint,
  isWatcherEvent,
} from "../../../plugin/lib/events.js";
import { columnWidths, formatList, formatTable, paint } from "../../../plugin/lib/output.js";
import { buildStatus, nodeColumns } from "../../../plugin/lib/status.js";

const savedEnv = { ...process.env };
afterEach(() => {
  process.env = { ...savedEnv };
});

/** A stream that claims to be a terminal with colours, as node:util's styleText checks it. */
function tty(): NodeJS.WriteStream {
  const s = new Writable({ write: (_c, _e, cb) => cb() }) as unknown as NodeJS.WriteStream;
  Object.assign(s, { isTTY: true, hasColors: () => true, getColorDepth: () => 8 });
  return s;
}

describe("tables and lists", () => {
  it("aligns columns with three spaces and no trailing blanks", () => {
    const rows = [
      { a: "x", b: "long value", c: "" },
      { a: "longer", b: "y", c: "z" },
    ];
    const out = formatTable(rows, [
      { header: "A", value: (r) => r.a },
      { header: "B", value: (r) => r.b },
      { header: "C", value: (r) => r.c, wide: true },
    ]);
    expect(out).toBe("A        B\nx        long value\nlonger   y");
    const wide = formatTable(
      rows,
      [
        { header: "A", value: (r) => r.a },
        { header: "C", value: (r) => r.c, wide: true },
      ],
      true,
    );
    expect(wide.split("\n")).toEqual(["A        C", "x", "longer   z"]);
  });

  it("keeps a stream's later lines under the first header; colour takes no room", () => {
    const cols = [
      { header: "A", value: (r: { a: string }) => r.a },
      { header: "B", value: () => "b" },
    ];
    const widths = columnWidths([{ a: "first-row" }], cols);
    expect(widths).toEqual([9, 1]);
    expect(formatTable([{ a: "x" }], cols, false, widths).split("\n")[1]).toBe("x           b");
    const red = "\u001b[31mxy\u001b[39m";
    expect(formatTable([{ a: red }], cols).split("\n")[1]).toBe(`${red}   b`);
  });

  it("wraps -o json/yaml in a kubectl List", () => {
    expect(JSON.parse(formatList([{ pod: "a" }], "json"))).toEqual({
      apiVersion: "v1",
      kind: "List",
      items: [{ pod: "a" }],
    });
    expect(formatList([{ pod: "a" }], "yaml")).toBe(
      "apiVersion: v1\nkind: List\nitems:\n  - pod: a",
    );
  });
});

describe("colours", () => {
  it("colours on a terminal", () => {
    delete process.env.NO_COLOR;
    delete process.env.FORCE_COLOR;
    delete process.env.NODE_DISABLE_COLORS;
    process.env.TERM = "xterm-256color";
    expect(paint("bad", "x", tty())).toBe("\u001b[31mx\u001b[39m");
  });

  it("no colours with NO_COLOR, even on a terminal", () => {
    process.env.NO_COLOR = "1";
    expect(paint("bad", "x", tty())).toBe("x");
  });

  it("no colours when the output is not a terminal", () => {
    delete process.env.NO_COLOR;
    delete process.env.FORCE_COLOR;
    const pipe = new Writable({ write: (_c, _e, cb) => cb() }) as unknown as NodeJS.WriteStream;
    expect(paint("ok", "x", pipe)).toBe("x");
  });
});

describe("events", () => {
  const e = (over: Partial<CoreV1Event>): CoreV1Event =>
    ({
      metadata: { uid: "e1", namespace: "shop" },
      involvedObject: { kind: "Pod", namespace: "shop", name: "api-1" },
      reason: "CoreDumpCaptured",
      type: "Warning",
      reportingComponent: "coredog-watcher",
      reportingInstance: "node-1",
      message: "core.app.1 (SIGSEGV)\nin app",
      count: 2,
      lastTimestamp: new Date(Date.now() - 90_000),
      ...over,
    }) as CoreV1Event;

  it("keeps only the watchers' core events", () => {
    expect(isWatcherEvent(e({}))).toBe(true);
    expect(isWatcherEvent(e({ reason: "Killing" }))).toBe(false);
    expect(isWatcherEvent(e({ reportingComponent: "kubelet" }))).toBe(false);
    expect(
      isWatcherEvent(e({ reportingComponent: "", source: { component: "coredog-watcher" } })),
    ).toBe(true);
  });

  it("prints one line an event, messages on one line", () => {
    const out = formatTable([eventRow(e({}))], eventColumns(Date.now(), false));
    const [header, line] = out.split("\n");
    expect(header).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+POD\s+NODE\s+COUNT\s+MESSAGE$/);
    expect(line).toMatch(
      /^90s\s+Warning\s+CoreDumpCaptured\s+shop\/api-1\s+node-1\s+2\s+core\.app\.1 \(SIGSEGV\) in app$/,
    );
  });

  it("reads the crash report's short form and fingerprint from the message, and filters by fingerprint", () => {
    const message =
      "Core dump core.app.1 uploaded to crashes/k (signal SIGSEGV, size 1.0 MiB); SIGSEGV at 0x0 in app+0x1139 [fp 1a2b3c4d5e6f, seen once before]";
    const row = eventRow(e({ reason: "CoreDumpUploaded", message }));
    expect([row.crash, row.fingerprint]).toEqual([
      "SIGSEGV at 0x0 in app+0x1139 [fp 1a2b3c4d5e6f, seen once before]",
      "1a2b3c4d5e6f",
    ]);
    expect(hasFingerprint(e({ message }), "1A2B3C")).toBe(true);
    expect(hasFingerprint(e({ message }), "1a2b3d")).toBe(false);
    // a message without a report (an unreadable core, or a watcher before crash reports)
    expect(eventRow(e({})).fingerprint).toBeUndefined();
    expect(hasFingerprint(e({}), "1a")).toBe(false);
    const out = formatTable([row], eventColumns(Date.now(), false));
    expect(out.split("\n")[1]).toMatch(/\[fp 1a2b3c4d5e6f, seen once before\]$/);
  });
});

describe("status", () => {
  const watcher = (node: string, state?: object, isReady = true): V1Pod => ({
    metadata: {
      name: `coredog-watcher-${node}`,
      annotations: state ? { "coredog.io/node-state": JSON.stringify(state) } : {},
    },
    spec: { nodeName: node, containers: [] },
    status: { conditions: [{ type: "Ready", status: isReady ? "True" : "False" }] },
  });

  it("a row per node with core_pattern, waiting bytes, last upload and error", () => {
    const now = Date.now();
    const status = buildStatus({
      webhookConfig: {
        ok: true,
        value: { webhooks: [{ name: "w", failurePolicy: "Ignore" }] } as never,
      },
      webhookPods: { ok: true, value: [] },
      tlsSecret: { ok: true, value: null },
      configMap: { ok: false, reason: "forbidden" },
      watcher: { ok: true, value: null },
      watcherPods: {
        ok: true,
        value: [
          watcher("node-2"),
          watcher("node-1", {
            node: "node-1",
            corePattern: "/corefile/core.%e.%p.%h.%t",
            filesWaiting: 2,
            bytesWaiting: 3 * 1024 * 1024,
            lastUpload: { at: new Date(now - 120_000).toISOString(), key: "k", bytes: 1 },
            lastError: { at: "2026-11-27T06:00:00Z", message: "upload failed" },
            updatedAt: new Date(now).toISOString(),
            configuredPath: "/corefile",
          }),
        ],
      },
    });
    expect(status.webhook).toMatchObject({ configured: true, failurePolicy: ["Ignore"] });
    expect(status.settings).toEqual({ valid: false, errors: ["forbidden"] });
    const lines = formatTable(status.nodes, nodeColumns(now)).split("\n");
    expect(lines[0]).toMatch(
      /^NODE\s+WATCHER\s+CORE_PATTERN\s+WAITING\s+LAST UPLOAD\s+LAST ERROR$/,
    );
    expect(lines[1]).toMatch(
      /^node-1\s+coredog-watcher-node-1 \(ready\)\s+\/corefile\/core\.%e\.%p\.%h\.%t\s+2 \(3(\.0)? ?MiB\)\s+2m\s+2026-11-27T06:00:00Z upload failed$/,
    );
    expect(lines[2]).toMatch(
      /^node-2\s+coredog-watcher-node-2 \(ready\)\s+<unknown>\s+\?\s+<none>\s+<none>$/,
    );
  });
  it("status shows the limits a watcher says are acting, and why", () => {
    const state = {
      node: "node-1",
      corePattern: "/corefile/core.%e.%p.%h.%t",
      filesWaiting: 0,
      bytesWaiting: 0,
      updatedAt: "2026-12-04T10:00:00Z",
      configuredPath: "/corefile",
      limits: {
        dirBytes: 5 * 1024 ** 3,
        maxUseBytes: 10 * 1024 ** 3,
        active: [
          {
            limit: "rate",
            since: "2026-12-04T09:59:00Z",
            why: "crash 0123456789ab over 5 per 1h (7 skipped until 2026-12-04T10:58:00.000Z)",
          },
        ],
      },
    };
    const status = buildStatus({
      webhookConfig: { ok: true, value: null },
      webhookPods: { ok: true, value: [] },
      tlsSecret: { ok: true, value: null },
      configMap: { ok: false, reason: "forbidden" },
      watcher: { ok: true, value: null },
      watcherPods: { ok: true, value: [watcher("node-1", state)] },
    } as never);
    expect(status.nodes[0]).toMatchObject({
      dirBytes: 5 * 1024 ** 3,
      maxUseBytes: 10 * 1024 ** 3,
      limits: [
        "rate: crash 0123456789ab over 5 per 1h (7 skipped until 2026-12-04T10:58:00.000Z) (since 2026-12-04T09:59:00Z)",
      ],
    });
    const quiet = buildStatus({
      webhookConfig: { ok: true, value: null },
      webhookPods: { ok: true, value: [] },
      tlsSecret: { ok: true, value: null },
      configMap: { ok: false, reason: "forbidden" },
      watcher: { ok: true, value: null },
      watcherPods: {
        ok: true,
        value: [watcher("node-1", { ...state, limits: { ...state.limits, active: [] } })],
      },
    } as never);
    expect(quiet.nodes[0]!.limits).toEqual([]);
  });
});

describe("errors for people", () => {
  it("oclif's parse errors become one line", () => {
    expect(usageSentence("Nonexistent flag: --bogus\nSee more help with --help")).toBe(
      "Nonexistent flag: --bogus",
    );
    expect(
      usageSentence(
        "Missing 1 required arg:\ntarget  (watcher|webhook) what to restart\nSee more help with --help",
      ),
    ).toBe("Missing 1 required arg: target (watcher|webhook) what to restart");
  });

  it("explains network failures, credentials, RBAC and not found", () => {
    const refused = Object.assign(new Error("fetch failed"), {
      cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
    });
    expect(explainKubeError(refused, "https://127.0.0.1:1")?.message).toBe(
      "cannot reach the Kubernetes API server at https://127.0.0.1:1 (ECONNREFUSED)",
    );
    const forbidden = {
      code: 403,
      body: JSON.stringify({
        kind: "Status",
        message: 'pods is forbidden: User "alice" cannot list resource "pods"',
      }),
    };
    expect(explainKubeError(forbidden)?.message).toBe(
      'pods is forbidden: User "alice" cannot list resource "pods"',
    );
    expect(explainKubeError({ code: 401, body: "" })?.message).toMatch(
      /did not accept your credentials/,
    );
    expect(explainKubeError({ code: 404, body: { message: 'pods "x" not found' } })?.message).toBe(
      'pods "x" not found',
    );
    expect(explainKubeError(new Error("something else"))).toBeUndefined();
    const mine = new UserError("mine");
    expect(explainKubeError(mine)).toBe(mine);
  });
});
