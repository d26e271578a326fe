// The console's keys as plain functions: state and key in, state and effects out.
import { describe, expect, it } from "vitest";
import { EMERGENCY_ACTIONS } from "../../../plugin/tui/emergency-menu.js";
import {
  ALL_NAMESPACES,
  initialUi,
  reduceKey,
  splitKeys,
  type KeyPress,
  type Target,
  type UiState,
  type View,
} from "../../../plugin/tui/keys.js";
import type { PreparedAction } from "../../../plugin/tui/types.js";

const api: Target = { key: "shop/api-1", namespace: "shop", pod: "api-1", node: "node-2" };
const view = (over: Partial<View> = {}): View => ({
  selected: 3,
  rowCount: 10,
  page: 5,
  current: api,
  find: (key) => (key === api.key ? api : undefined),
  namespaces: ["data", "shop"],
  ...over,
});
const key = (input: string, extra: Omit<KeyPress, "input"> = {}): KeyPress => ({ input, ...extra });
const press = (s: UiState, k: KeyPress, v: View = view()) => reduceKey(s, k, v);
const inMode = (mode: UiState["mode"]): UiState => ({ ...initialUi(), mode });
const action = (over: Partial<PreparedAction> = {}): PreparedAction => ({
  title: "enable deployments/api in shop",
  changes: ['+ coredog.io/inject: "true"'],
  apply: async () => {},
  ...over,
});

describe("list keys", () => {
  it("move the selection with arrows, j/k, pages and g/G", () => {
    const s = initialUi();
    expect(press(s, key("", { downArrow: true })).effects).toEqual([{ type: "select", index: 4 }]);
    expect(press(s, key("k")).effects).toEqual([{ type: "select", index: 2 }]);
    expect(press(s, key("", { pageDown: true })).effects).toEqual([{ type: "select", index: 8 }]);
    expect(press(s, key("G")).effects).toEqual([{ type: "select", index: 9 }]);
    expect(press(s, key("g")).effects).toEqual([{ type: "select", index: 0 }]);
  });

  it("toggle what is shown and how it is sorted, without effects", () => {
    let s = initialUi();
    s = press(s, key("a")).state;
    expect(s.showAll).toBe(true);
    s = press(s, key("s")).state;
    expect(s.sort).not.toBe("name");
    s = press(s, key("S")).state;
    expect(s.reverse).toBe(true);
    const step = press(s, key("", { tab: true }));
    expect(step.state.showEvents).toBe(false);
    expect(step.effects).toEqual([]);
  });

  it("e, d and r ask the cluster first and show what is being checked; with no pod they only warn", () => {
    const step = press({ ...initialUi(), flash: { text: "old", tone: "ok" } }, key("e"));
    expect(step.state.mode).toEqual({ type: "busy", text: "enable: checking shop/api-1…" });
    expect(step.state.flash).toBeUndefined();
    expect(step.effects).toEqual([
      {
        type: "prepare",
        request: { kind: "enable", namespace: "shop", pod: "api-1" },
        busy: "enable: checking shop/api-1…",
      },
    ]);
    const none = press(initialUi(), key("d"), view({ current: undefined }));
    expect(none.effects).toEqual([]);
    expect(none.state.flash).toEqual({ text: "no pod selected", tone: "warn" });
  });

  it("Enter opens the details and runs the doctor for that pod; q leaves", () => {
    const step = press(initialUi(), key("", { return: true }));
    expect(step.state.mode).toEqual({ type: "details", key: "shop/api-1" });
    expect(step.effects).toEqual([
      { type: "doctor", key: "shop/api-1", namespace: "shop", pod: "api-1" },
    ]);
    expect(press(initialUi(), key("q")).effects).toEqual([{ type: "exit" }]);
  });
});

describe("filter keys", () => {
  it("type, erase, keep with Enter, clear with Esc; j and k are letters here", () => {
    let s = press(initialUi(), key("/")).state;
    expect(s.mode.type).toBe("filter");
    for (const ch of "jak") s = press(s, key(ch)).state;
    expect(s.filter).toBe("jak");
    s = press(s, key("", { backspace: true })).state;
    expect(s.filter).toBe("ja");
    expect(press(s, key("", { return: true })).state).toMatchObject({
      mode: { type: "list" },
      filter: "ja",
    });
    expect(press(s, key("", { escape: true })).state).toMatchObject({
      mode: { type: "list" },
      filter: "",
    });
    expect(press(s, key("", { upArrow: true })).effects).toEqual([{ type: "select", index: 2 }]);
  });
});

describe("details keys", () => {
  it("act on the pod shown, and warn when it has gone", () => {
    const s = inMode({ type: "details", key: "shop/api-1" });
    const other: Target = { key: "data/db-0", namespace: "data", pod: "db-0" };
    expect(press(s, key("r"), view({ current: other })).effects[0]).toMatchObject({
      type: "prepare",
      request: { kind: "restart", namespace: "shop", pod: "api-1" },
    });
    const gone = press(inMode({ type: "details", key: "shop/gone" }), key("d"));
    expect(gone.effects).toEqual([]);
    expect(gone.state.flash?.text).toBe("no pod selected");
    expect(press(s, key("", { escape: true })).state.mode).toEqual({ type: "list" });
  });
});

describe("confirm keys", () => {
  it("y applies; n and Esc cancel and say that nothing changed", () => {
    const a = action();
    const s = inMode({ type: "confirm", action: a });
    expect(press(s, key("y")).effects).toEqual([{ type: "apply", action: a }]);
    expect(press(s, key("y")).state.mode).toEqual({ type: "busy", text: `${a.title}…` });
    for (const k of [key("n"), key("", { escape: true })]) {
      const step = press(s, k);
      expect(step.state.mode).toEqual({ type: "list" });
      expect(step.state.flash).toEqual({ text: "cancelled: nothing was changed", tone: "dim" });
      expect(step.effects).toEqual([]);
    }
    expect(press(s, key("", { return: true })).state).toBe(s);
  });

  it("a refusal or a no-op cannot be confirmed; Enter or q closes it without a cancel note", () => {
    for (const a of [
      action({ refused: "path=/etc is not allowed" }),
      action({ noop: "already enabled" }),
    ]) {
      const s = inMode({ type: "confirm", action: a });
      expect(press(s, key("y")).effects).toEqual([]);
      const closed = press(s, key("", { return: true }));
      expect(closed.state.mode).toEqual({ type: "list" });
      expect(closed.state.flash).toBeUndefined();
    }
  });
});

describe("emergency keys", () => {
  it("wrap around, pick by number or Enter, and open purge with the selected pod's node", () => {
    const n = EMERGENCY_ACTIONS.length;
    const s = inMode({ type: "emergency", index: 0 });
    expect(press(s, key("k")).state.mode).toEqual({ type: "emergency", index: n - 1 });
    expect(press(s, key("", { return: true })).effects).toEqual([
      {
        type: "prepare",
        request: { kind: "emergency", action: EMERGENCY_ACTIONS[0]!.action },
        busy: `reading the cluster for ${EMERGENCY_ACTIONS[0]!.action}…`,
      },
    ]);
    const purgeIndex = EMERGENCY_ACTIONS.findIndex((e) => e.action === "purge");
    const purge = press(s, key(String(purgeIndex + 1)));
    expect(purge.effects).toEqual([{ type: "purge-nodes" }]);
    expect(purge.state.mode).toMatchObject({
      type: "purge",
      state: { step: "choose", podNode: { pod: "shop/api-1", node: "node-2" } },
    });
    const closed = press(s, key("", { escape: true }));
    expect(closed.state.flash?.text).toBe("emergency menu closed: nothing was changed");
  });
});

describe("namespace keys", () => {
  it("typing narrows and selects the first match; Enter switches, all namespaces included", () => {
    let s = press(initialUi(), key("n")).state;
    s = press(s, key("d")).state;
    expect(s.mode).toEqual({ type: "namespace", index: 1, query: "d" });
    expect(press(s, key("", { return: true })).effects).toEqual([
      { type: "namespace", namespace: "data" },
    ]);
    s = press(s, key("", { upArrow: true })).state;
    expect(press(s, key("", { return: true })).effects).toEqual([
      { type: "namespace", namespace: undefined },
    ]);
    expect(ALL_NAMESPACES).toBe("(all namespaces)");
  });
});

describe("everywhere", () => {
  it("Ctrl-C leaves from any mode; a busy console ignores every other key", () => {
    for (const mode of [
      { type: "busy", text: "…" },
      { type: "help" },
      { type: "filter" },
    ] as const) {
      expect(press(inMode(mode), key("c", { ctrl: true })).effects).toEqual([{ type: "exit" }]);
    }
    const busy = inMode({ type: "busy", text: "…" });
    expect(press(busy, key("q"))).toEqual({ state: busy, effects: [] });
  });

  it("a pasted chunk becomes keys, Enter, Tab and Backspace included; escape sequences stay whole", () => {
    expect(
      splitKeys("ab\r\t\u007f", {}).map((k) => [k.input, !!k.return, !!k.tab, !!k.backspace]),
    ).toEqual([
      ["a", false, false, false],
      ["b", false, false, false],
      ["", true, false, false],
      ["", false, true, false],
      ["", false, false, true],
    ]);
    expect(splitKeys("\u001b[A", {})).toEqual([{ input: "\u001b[A" }]);
  });
});
