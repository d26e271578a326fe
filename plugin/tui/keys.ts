// What a key does in each mode of the console: pure `(state, key, view) → { state, effects }` functions, one per
// mode, as purge-flow.ts does for purge. App keeps the state, feeds keys in order and runs the effects (cluster
// reads and writes, leaving the program).
import type { Tone } from "../lib/output.js";
import { EMERGENCY_ACTIONS } from "./emergency-menu.js";
import { purgeKey, startPurge, type PurgeState } from "./purge-flow.js";
import type { ActionRequest, PreparedAction, PurgeRequest } from "./types.js";
import { SORTS, type SortKey } from "./view.js";

export type Mode =
  | { type: "list" }
  | { type: "filter" }
  | { type: "details"; key: string }
  | { type: "help" }
  | { type: "namespace"; index: number; query: string }
  | { type: "emergency"; index: number }
  | { type: "busy"; text: string }
  | { type: "confirm"; action: PreparedAction }
  | { type: "purge"; state: PurgeState }
  /**
   * The crashes view: CoreDump records grouped by fingerprint; `details` shows the selected group's newest with its
   * crash report, from line `scroll` on.
   */
  | { type: "crashes"; index: number; details: boolean; scroll: number };

export interface Flash {
  text: string;
  tone: Tone;
}

export interface UiState {
  mode: Mode;
  filter: string;
  showAll: boolean;
  sort: SortKey;
  reverse: boolean;
  showEvents: boolean;
  flash?: Flash;
}

export function initialUi(showAll = false): UiState {
  return {
    mode: { type: "list" },
    filter: "",
    showAll,
    sort: "name",
    reverse: false,
    showEvents: true,
  };
}

/** A key as ink reports it, reduced to what the console uses. */
export interface KeyPress {
  input: string;
  ctrl?: boolean;
  meta?: boolean;
  escape?: boolean;
  return?: boolean;
  tab?: boolean;
  backspace?: boolean;
  delete?: boolean;
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
}

/** What the keys see of the screen: the rows shown and the selection. */
export interface View {
  selected: number;
  rowCount: number;
  /** Rows a page key moves. */
  page: number;
  /** The selected pod, if any. */
  current?: Target;
  /** A pod by its key (namespace/name), if it is still there. */
  find(key: string): Target | undefined;
  namespaces: string[];
  /** In the crashes view: how many groups, and the newest record of the selected one. */
  crashGroups?: number;
  currentCrash?: { namespace: string; name: string };
  /** In the crashes view's details: how far they scroll (lines beyond one screen). */
  detailsScrollMax?: number;
}

export interface Target {
  key: string;
  namespace: string;
  pod: string;
  node?: string;
}

export type Effect =
  | { type: "exit" }
  | { type: "select"; index: number }
  | { type: "prepare"; request: ActionRequest; busy: string }
  | { type: "apply"; action: PreparedAction }
  | { type: "doctor"; key: string; namespace: string; pod: string }
  | { type: "namespace"; namespace: string | undefined }
  | { type: "purge-nodes" }
  | { type: "purge-run"; request: PurgeRequest }
  | { type: "crashes-load" }
  | { type: "crash-pull"; namespace: string; name: string }
  | { type: "crash-report"; namespace: string; name: string };

export interface Step {
  state: UiState;
  effects: Effect[];
}

export const ALL_NAMESPACES = "(all namespaces)";

export function namespaceChoices(namespaces: string[], query: string): string[] {
  const q = query.toLowerCase();
  return [ALL_NAMESPACES, ...namespaces.filter((n) => n.includes(q))];
}

const to = (state: UiState, ...effects: Effect[]): Step => ({ state, effects });
const withMode = (s: UiState, mode: Mode): UiState => ({ ...s, mode });

/** Up, down, page and home/end keys; `letters` allows j/k/g/G (not while typing a filter). */
function moveKey(k: KeyPress, v: View, letters: boolean): Effect | undefined {
  const at = (index: number): Effect => ({ type: "select", index });
  if (k.upArrow || (letters && k.input === "k")) return at(v.selected - 1);
  if (k.downArrow || (letters && k.input === "j")) return at(v.selected + 1);
  if (k.pageUp) return at(v.selected - v.page);
  if (k.pageDown) return at(v.selected + v.page);
  if (k.home || (letters && k.input === "g")) return at(0);
  if (k.end || (letters && k.input === "G")) return at(v.rowCount - 1);
  return undefined;
}

/** enable, disable or restart the pod `target`: the cluster is read first, then a confirmation is asked. */
function podAction(
  s: UiState,
  kind: "enable" | "disable" | "restart",
  target: Target | undefined,
): Step {
  if (!target) return to({ ...s, flash: { text: "no pod selected", tone: "warn" } });
  const { namespace, pod, key } = target;
  return to(
    { ...s, mode: { type: "busy", text: `${kind}: checking ${key}…` }, flash: undefined },
    {
      type: "prepare",
      request: { kind, namespace, pod },
      busy: `${kind}: checking ${key}…`,
    },
  );
}

const POD_KEYS: Record<string, "enable" | "disable" | "restart"> = {
  e: "enable",
  d: "disable",
  r: "restart",
};

function listKey(s: UiState, k: KeyPress, v: View): Step {
  const move = moveKey(k, v, true);
  if (move) return to(s, move);
  const { input } = k;
  if (input === "q") return to(s, { type: "exit" });
  if (input === "?") return to(withMode(s, { type: "help" }));
  if (input === "/") return to(withMode(s, { type: "filter" }));
  if (k.escape) return to({ ...s, filter: "", flash: undefined });
  if (input === "a") return to({ ...s, showAll: !s.showAll });
  if (input === "n") return to(withMode(s, { type: "namespace", index: 0, query: "" }));
  if (input === "s") return to({ ...s, sort: SORTS[(SORTS.indexOf(s.sort) + 1) % SORTS.length]! });
  if (input === "S") return to({ ...s, reverse: !s.reverse });
  if (k.tab) return to({ ...s, showEvents: !s.showEvents });
  if (input === "!") return to(withMode(s, { type: "emergency", index: 0 }));
  if (input === "c")
    return to(withMode(s, { type: "crashes", index: 0, details: false, scroll: 0 }), {
      type: "crashes-load",
    });
  if (k.return && v.current) {
    const { key, namespace, pod } = v.current;
    return to(withMode(s, { type: "details", key }), { type: "doctor", key, namespace, pod });
  }
  const kind = POD_KEYS[input];
  if (kind) return podAction(s, kind, v.current);
  return to(s);
}

function filterKey(s: UiState, k: KeyPress, v: View): Step {
  if (k.escape) return to(withMode({ ...s, filter: "" }, { type: "list" }));
  if (k.return) return to(withMode(s, { type: "list" }));
  const move = moveKey(k, v, false);
  if (move) return to(s, move);
  if (k.backspace || k.delete) return to({ ...s, filter: s.filter.slice(0, -1) });
  if (k.input && !k.ctrl && !k.meta && !k.tab) return to({ ...s, filter: s.filter + k.input });
  return to(s);
}

function detailsKey(s: UiState, k: KeyPress, v: View, podKey: string): Step {
  if (k.escape || k.return) return to(withMode(s, { type: "list" }));
  if (k.input === "q") return to(s, { type: "exit" });
  const kind = POD_KEYS[k.input];
  if (!kind) return to(s);
  // The pod whose details are shown, wherever the list's selection is.
  return podAction(s, kind, v.find(podKey));
}

function helpKey(s: UiState, k: KeyPress): Step {
  if (k.input === "q") return to(s, { type: "exit" });
  if (k.escape || k.input === "?" || k.return) return to(withMode(s, { type: "list" }));
  return to(s);
}

function confirmKey(s: UiState, k: KeyPress, action: PreparedAction): Step {
  const final = action.refused !== undefined || action.noop !== undefined;
  if (!final && k.input === "y") {
    return to(withMode(s, { type: "busy", text: `${action.title}…` }), { type: "apply", action });
  }
  if (k.escape || k.input === "n" || (final && (k.return || k.input === "q"))) {
    const flash: Flash | undefined = final
      ? s.flash
      : { text: "cancelled: nothing was changed", tone: "dim" };
    return to({ ...s, mode: { type: "list" }, flash });
  }
  return to(s);
}

function emergencyKey(s: UiState, k: KeyPress, v: View, index: number): Step {
  const n = EMERGENCY_ACTIONS.length;
  if (k.escape || k.input === "q" || k.input === "n") {
    return to({
      ...s,
      mode: { type: "list" },
      flash: { text: "emergency menu closed: nothing was changed", tone: "dim" },
    });
  }
  if (k.upArrow || k.input === "k")
    return to(withMode(s, { type: "emergency", index: (index + n - 1) % n }));
  if (k.downArrow || k.input === "j")
    return to(withMode(s, { type: "emergency", index: (index + 1) % n }));
  if (!k.return && !/^[1-9]$/.test(k.input)) return to(s);
  const entry = EMERGENCY_ACTIONS[k.return ? index : Number(k.input) - 1];
  if (!entry) return to(s);
  if (entry.action === "purge") {
    const podNode = v.current?.node ? { pod: v.current.key, node: v.current.node } : undefined;
    return to(withMode(s, { type: "purge", state: startPurge(podNode) }), { type: "purge-nodes" });
  }
  const busy = `reading the cluster for ${entry.action}…`;
  return to(
    { ...s, mode: { type: "busy", text: busy }, flash: undefined },
    {
      type: "prepare",
      request: { kind: "emergency", action: entry.action },
      busy,
    },
  );
}

function namespaceKey(s: UiState, k: KeyPress, v: View, index: number, query: string): Step {
  const choices = namespaceChoices(v.namespaces, query);
  if (k.escape) return to(withMode(s, { type: "list" }));
  if (k.return) {
    const choice = choices[index];
    const list = withMode(s, { type: "list" });
    if (!choice) return to(list);
    return to(list, {
      type: "namespace",
      namespace: choice === ALL_NAMESPACES ? undefined : choice,
    });
  }
  const mode = (i: number, q = query): Mode => ({ type: "namespace", index: i, query: q });
  if (k.upArrow) return to(withMode(s, mode(Math.max(0, index - 1))));
  if (k.downArrow) return to(withMode(s, mode(Math.min(choices.length - 1, index + 1))));
  if (k.backspace || k.delete) return to(withMode(s, mode(0, query.slice(0, -1))));
  // Typing selects the first namespace that matches (index 0 is "all namespaces").
  if (k.input && !k.ctrl && !k.meta) return to(withMode(s, mode(1, query + k.input)));
  return to(s);
}

function purgeModeKey(s: UiState, k: KeyPress, state: PurgeState): Step {
  const step = purgeKey(state, {
    input: k.input,
    up: !!k.upArrow,
    down: !!k.downArrow,
    left: !!k.leftArrow,
    right: !!k.rightArrow,
    enter: !!k.return,
    escape: !!k.escape,
  });
  if (!step) return to(s);
  if ("state" in step) return to(withMode(s, { type: "purge", state: step.state }));
  if ("start" in step)
    return to({ ...s, flash: undefined }, { type: "purge-run", request: step.start });
  return to({ ...s, mode: { type: "list" }, flash: step.close });
}

function crashesKey(s: UiState, k: KeyPress, v: View, m: Extract<Mode, { type: "crashes" }>): Step {
  const { index, details, scroll } = m;
  const n = v.crashGroups ?? 0;
  const at = (i: number): Step =>
    to(withMode(s, { ...m, index: Math.max(0, Math.min(i, n - 1)), details: false, scroll: 0 }));
  const scrollTo = (line: number): Step =>
    to(
      withMode(s, {
        ...m,
        details: true,
        scroll: Math.max(0, Math.min(line, v.detailsScrollMax ?? 0)),
      }),
    );
  if (k.input === "q") return to(s, { type: "exit" });
  if (k.escape) return details ? at(index) : to(withMode(s, { type: "list" }));
  if (k.input === "r") return to(s, { type: "crashes-load" });
  if (k.input === "p") {
    const c = v.currentCrash;
    if (!c) return to({ ...s, flash: { text: "no crash selected", tone: "warn" } });
    return to(
      { ...s, flash: { text: `pulling ${c.namespace}/${c.name}…`, tone: "dim" } },
      { type: "crash-pull", namespace: c.namespace, name: c.name },
    );
  }
  if (details) {
    // The details scroll: the crash report is longer than a screen.
    if (k.return) return at(index);
    if (k.upArrow || k.input === "k") return scrollTo(scroll - 1);
    if (k.downArrow || k.input === "j") return scrollTo(scroll + 1);
    if (k.pageUp) return scrollTo(scroll - v.page);
    if (k.pageDown || k.input === " ") return scrollTo(scroll + v.page);
    if (k.home || k.input === "g") return scrollTo(0);
    if (k.end || k.input === "G") return scrollTo(Number.POSITIVE_INFINITY);
    return to(s);
  }
  if (k.upArrow || k.input === "k") return at(index - 1);
  if (k.downArrow || k.input === "j") return at(index + 1);
  if (k.home || k.input === "g") return at(0);
  if (k.end || k.input === "G") return at(n - 1);
  if (k.return) {
    const c = v.currentCrash;
    const open = withMode(s, { ...m, details: true, scroll: 0 });
    return c ? to(open, { type: "crash-report", namespace: c.namespace, name: c.name }) : to(open);
  }
  return to(s);
}

/** One key, in the mode the previous key left. Ctrl-C leaves from anywhere. */
export function reduceKey(s: UiState, k: KeyPress, v: View): Step {
  if (k.ctrl && k.input === "c") return to(s, { type: "exit" });
  const m = s.mode;
  switch (m.type) {
    case "busy":
      return to(s);
    case "help":
      return helpKey(s, k);
    case "confirm":
      return confirmKey(s, k, m.action);
    case "purge":
      return purgeModeKey(s, k, m.state);
    case "emergency":
      return emergencyKey(s, k, v, m.index);
    case "namespace":
      return namespaceKey(s, k, v, m.index, m.query);
    case "filter":
      return filterKey(s, k, v);
    case "details":
      return detailsKey(s, k, v, m.key);
    case "crashes":
      return crashesKey(s, k, v, m);
    case "list":
      return listKey(s, k, v);
  }
}

/**
 * Keys typed or pasted in one chunk, one by one: Enter, Tab and Backspace inside the chunk become those keys.
 * Escape sequences and modified keys stay whole.
 */
export function splitKeys(input: string, key: Omit<KeyPress, "input">): KeyPress[] {
  const plain = !key.ctrl && !key.meta && !input.startsWith("\u001B");
  if (!plain || input.length <= 1) return [{ ...key, input }];
  return [...input].map((ch) => {
    if (ch === "\r" || ch === "\n") return { ...key, input: "", return: true };
    if (ch === "\t") return { ...key, input: "", tab: true };
    if (ch === "\u007F" || ch === "\b") return { ...key, input: "", backspace: true };
    return { ...key, input: ch };
  });
}
