// The console: one screen, modes for the moments that take over the list (help, namespace picker,
// emergency menu, confirmation). All cluster access goes through the `source` prop.
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { Box, Text, useApp, useInput, useWindowSize, type Key } from "ink";
import type { Tone } from "../../lib/output.js";
import { EMERGENCY_ACTIONS } from "../emergency-menu.js";
import { errorText } from "../error-text.js";
import {
  purgeHints,
  purgeKey,
  startPurge,
  type PurgeRunning,
  type PurgeState,
} from "../purge-flow.js";
import { coresLastHour, fit, SORTS, visibleRows, windowStart, type SortKey } from "../view.js";
import type { ActionRequest, PreparedAction, PurgeRequest, TuiSource } from "../types.js";
import { ConfirmView, EmergencyMenu, HelpView, NamespacePicker } from "./Dialogs.js";
import {
  DetailsPane,
  EventsPane,
  Footer,
  StatusBar,
  watcherText,
  webhookText,
  type DoctorState,
} from "./Panes.js";
import { PodTable } from "./PodTable.js";
import { PurgeView } from "./PurgeView.js";
import { makeTheme } from "./theme.js";

export interface AppProps {
  source: TuiSource;
  color: boolean;
  /** A fixed size (tests); otherwise the terminal's, following resizes. */
  size?: { columns: number; rows: number };
  now?: () => number;
  /** Start with all pods instead of opted-in ones. */
  showAll?: boolean;
}

type Mode =
  | { type: "list" }
  | { type: "filter" }
  | { type: "details"; key: string }
  | { type: "help" }
  | { type: "namespace"; index: number; query: string }
  | { type: "emergency"; index: number }
  | { type: "busy"; text: string }
  | { type: "confirm"; action: PreparedAction }
  | { type: "purge"; state: PurgeState };

const ALL = "(all namespaces)";

function useSize(fixed?: { columns: number; rows: number }) {
  const terminal = useWindowSize();
  return fixed ?? terminal;
}

export function App(props: AppProps) {
  const { source } = props;
  const { exit } = useApp();
  const size = useSize(props.size);
  const theme = useMemo(() => makeTheme(props.color), [props.color]);
  const snapshot = useSyncExternalStore(source.subscribe, source.getSnapshot);
  // AGE and LAST SEEN move on: a render every few seconds (not in tests, which pass `now`).
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (props.now) return;
    const timer = setInterval(() => setTick((t) => t + 1), 5000);
    return () => clearInterval(timer);
  }, [props.now]);
  const now = useMemo(() => (props.now ?? Date.now)(), [props.now, tick, snapshot]);

  const [mode, setModeState] = useState<Mode>({ type: "list" });
  // Keys typed or pasted in one chunk are handled one by one, each seeing the mode the previous left.
  const modeRef = useRef(mode);
  const setMode = useCallback((m: Mode) => {
    modeRef.current = m;
    setModeState(m);
  }, []);
  const [filter, setFilter] = useState("");
  const [showAll, setShowAll] = useState(props.showAll ?? false);
  const [sort, setSort] = useState<SortKey>("name");
  const [reverse, setReverse] = useState(false);
  const [showEvents, setShowEvents] = useState(true);
  const [selectedKey, setSelectedKey] = useState<string | undefined>();
  const [flash, setFlash] = useState<{ text: string; tone: Tone } | undefined>();
  const [doctor, setDoctor] = useState<{ key: string; result: DoctorState } | undefined>();
  const lastIndex = useRef(0);
  const lastStart = useRef(0);

  const rows = useMemo(
    () => visibleRows(snapshot.pods, { showAll, filter, sort, reverse }),
    [snapshot.pods, showAll, filter, sort, reverse],
  );
  const optedIn = useMemo(
    () => snapshot.pods.reduce((n, p) => n + (p.optedIn ? 1 : 0), 0),
    [snapshot.pods],
  );
  const lastHour = useMemo(() => coresLastHour(snapshot.events, now), [snapshot.events, now]);

  // The selection follows its pod when rows move; if the pod is gone, the same position.
  let selected = selectedKey ? rows.findIndex((r) => r.key === selectedKey) : -1;
  if (selected < 0) selected = Math.min(lastIndex.current, Math.max(0, rows.length - 1));
  lastIndex.current = selected;
  const current = rows[selected];

  // Layout: status, table (or what replaces it), events, flash, footer; one line spare for the cursor.
  const width = Math.max(20, size.columns);
  const total = Math.max(8, size.rows - 1);
  const eventsHeight = showEvents ? Math.min(9, Math.max(3, Math.floor(total / 4))) : 0;
  const mainHeight = total - 3 - eventsHeight;
  const start = windowStart(selected, lastStart.current, mainHeight - 1, rows.length);
  lastStart.current = start;

  const select = useCallback(
    (index: number) => {
      const i = Math.max(0, Math.min(index, rows.length - 1));
      setSelectedKey(rows[i]?.key);
      lastIndex.current = i;
    },
    [rows],
  );

  const run = useCallback(
    (request: ActionRequest, busyText: string) => {
      setMode({ type: "busy", text: busyText });
      setFlash(undefined);
      source.prepare(request).then(
        (action) => setMode({ type: "confirm", action }),
        (err: unknown) => {
          setMode({ type: "list" });
          setFlash({ text: `error: ${errorText(err)}`, tone: "bad" });
        },
      );
    },
    [source],
  );

  const apply = useCallback((action: PreparedAction) => {
    setMode({ type: "busy", text: `${action.title}…` });
    action.apply().then(
      () => {
        setMode({ type: "list" });
        const undo = action.undo ? ` · undo with: ${action.undo}` : "";
        setFlash({ text: `done: ${action.done ?? action.title}${undo}`, tone: "ok" });
      },
      (err: unknown) => {
        setMode({ type: "list" });
        setFlash({ text: `error: ${action.title}: ${errorText(err)}`, tone: "bad" });
      },
    );
  }, []);

  // Purge: the node list loads while the operator chooses; each run (listing, deleting) has a number
  // so that the answer of an abandoned one changes nothing.
  const purgeRun = useRef(0);
  const openPurge = (podNode: { pod: string; node: string } | undefined) => {
    setMode({ type: "purge", state: startPurge(podNode) });
    const patch = (p: { nodes?: string[]; nodesError?: string }) => {
      const m = modeRef.current;
      if (m.type === "purge" && m.state.step === "choose")
        setMode({ type: "purge", state: { ...m.state, ...p } });
    };
    source.nodes().then(
      (nodes) => patch({ nodes }),
      (err: unknown) => patch({ nodesError: errorText(err) }),
    );
  };

  const runPurge = (request: PurgeRequest) => {
    const run = ++purgeRun.current;
    const step = request.delete ? "deleting" : "listing";
    const live = (): PurgeRunning | undefined => {
      const m = modeRef.current;
      return m.type === "purge" && m.state.step === step && m.state.run === run
        ? m.state
        : undefined;
    };
    setFlash(undefined);
    setMode({ type: "purge", state: { step, run, request, finished: [] } });
    source
      .purge(request, (result) => {
        const s = live();
        if (s) setMode({ type: "purge", state: { ...s, finished: [...s.finished, result] } });
      })
      .then(
        (results) => {
          if (!live()) return;
          setMode({
            type: "purge",
            state: request.delete
              ? { step: "done", request, results }
              : { step: "review", request, results, offset: 0 },
          });
        },
        (err: unknown) => {
          if (!live()) return;
          setMode({ type: "list" });
          setFlash({ text: `error: purge: ${errorText(err)}`, tone: "bad" });
        },
      );
  };

  const choicesFor = (query: string) =>
    [ALL, ...snapshot.namespaces].filter((n) => n === ALL || n.includes(query.toLowerCase()));
  const nsChoices = mode.type === "namespace" ? choicesFor(mode.query) : [];

  const podAction = (kind: "enable" | "disable" | "restart", key: string | undefined) => {
    const row = key ? snapshot.pods.find((p) => p.key === key) : undefined;
    if (!row) return setFlash({ text: "no pod selected", tone: "warn" });
    run({ kind, namespace: row.namespace, pod: row.pod }, `${kind}: checking ${row.key}…`);
  };

  const handle = (input: string, key: Key) => {
    const mode = modeRef.current;
    const selected = lastIndex.current;
    if (key.ctrl && input === "c") return exit();
    const page = Math.max(1, mainHeight - 2);
    const move = (): boolean => {
      if (key.upArrow || (mode.type !== "filter" && input === "k")) select(selected - 1);
      else if (key.downArrow || (mode.type !== "filter" && input === "j")) select(selected + 1);
      else if (key.pageUp) select(selected - page);
      else if (key.pageDown) select(selected + page);
      else if (key.home || (mode.type !== "filter" && input === "g")) select(0);
      else if (key.end || (mode.type !== "filter" && input === "G")) select(rows.length - 1);
      else return false;
      return true;
    };
    switch (mode.type) {
      case "busy":
        return;
      case "help":
        if (input === "q") return exit();
        if (key.escape || input === "?" || key.return) setMode({ type: "list" });
        return;
      case "confirm": {
        const a = mode.action;
        if (!a.refused && !a.noop && input === "y") return apply(a);
        if (
          key.escape ||
          input === "n" ||
          ((a.refused || a.noop) && (key.return || input === "q"))
        ) {
          setMode({ type: "list" });
          if (!a.refused && !a.noop)
            setFlash({ text: "cancelled: nothing was changed", tone: "dim" });
        }
        return;
      }
      case "purge": {
        const step = purgeKey(mode.state, {
          input,
          up: key.upArrow,
          down: key.downArrow,
          left: key.leftArrow,
          right: key.rightArrow,
          enter: key.return,
          escape: key.escape,
        });
        if (!step) return;
        if ("state" in step) return setMode({ type: "purge", state: step.state });
        if ("start" in step) return runPurge(step.start);
        setMode({ type: "list" });
        setFlash(step.close);
        return;
      }
      case "emergency": {
        const n = EMERGENCY_ACTIONS.length;
        if (key.escape || input === "q" || input === "n") {
          setMode({ type: "list" });
          setFlash({ text: "emergency menu closed: nothing was changed", tone: "dim" });
        } else if (key.upArrow || input === "k")
          setMode({ type: "emergency", index: (mode.index + n - 1) % n });
        else if (key.downArrow || input === "j")
          setMode({ type: "emergency", index: (mode.index + 1) % n });
        else if (key.return || /^[1-9]$/.test(input)) {
          const index = key.return ? mode.index : Number(input) - 1;
          const entry = EMERGENCY_ACTIONS[index];
          if (entry?.action === "purge")
            openPurge(current?.node ? { pod: current.key, node: current.node } : undefined);
          else if (entry)
            run(
              { kind: "emergency", action: entry.action },
              `reading the cluster for ${entry.action}…`,
            );
        }
        return;
      }
      case "namespace": {
        const nsChoices = choicesFor(mode.query);
        if (key.escape) return setMode({ type: "list" });
        if (key.return) {
          const choice = nsChoices[mode.index];
          if (choice) {
            source.setNamespace(choice === ALL ? undefined : choice);
            setSelectedKey(undefined);
            lastIndex.current = 0;
          }
          return setMode({ type: "list" });
        }
        if (key.upArrow) return setMode({ ...mode, index: Math.max(0, mode.index - 1) });
        if (key.downArrow)
          return setMode({ ...mode, index: Math.min(nsChoices.length - 1, mode.index + 1) });
        if (key.backspace || key.delete)
          return setMode({ ...mode, query: mode.query.slice(0, -1), index: 0 });
        if (input && !key.ctrl && !key.meta)
          setMode({ ...mode, query: mode.query + input, index: input ? 1 : 0 });
        return;
      }
      case "filter":
        if (key.escape) {
          setFilter("");
          return setMode({ type: "list" });
        }
        if (key.return) return setMode({ type: "list" });
        if (move()) return;
        if (key.backspace || key.delete) return setFilter((f) => f.slice(0, -1));
        if (input && !key.ctrl && !key.meta && !key.tab) setFilter((f) => f + input);
        return;
      case "details":
        if (key.escape || key.return) return setMode({ type: "list" });
        if (input === "q") return exit();
        if (input === "e" || input === "d" || input === "r")
          return podAction(
            input === "e" ? "enable" : input === "d" ? "disable" : "restart",
            mode.key,
          );
        return;
      case "list":
        if (move()) return;
        if (input === "q") return exit();
        if (input === "?") return setMode({ type: "help" });
        if (input === "/") return setMode({ type: "filter" });
        if (key.escape) {
          setFilter("");
          setFlash(undefined);
          return;
        }
        if (input === "a") return setShowAll((v) => !v);
        if (input === "n") return setMode({ type: "namespace", index: 0, query: "" });
        if (input === "s") return setSort((s) => SORTS[(SORTS.indexOf(s) + 1) % SORTS.length]!);
        if (input === "S") return setReverse((r) => !r);
        if (key.tab) return setShowEvents((v) => !v);
        if (input === "!") return setMode({ type: "emergency", index: 0 });
        if (key.return && current) {
          const { key: podKey, namespace, pod } = current;
          setMode({ type: "details", key: podKey });
          // The doctor's checks for this pod (several reads): shown when they arrive.
          setDoctor({ key: podKey, result: { state: "running" } });
          source.doctor(namespace, pod).then(
            (checks) => setDoctor({ key: podKey, result: { state: "done", checks } }),
            (err: unknown) =>
              setDoctor({ key: podKey, result: { state: "error", message: errorText(err) } }),
          );
          return;
        }
        if (input === "e") return podAction("enable", current?.key);
        if (input === "d") return podAction("disable", current?.key);
        if (input === "r") return podAction("restart", current?.key);
        return;
    }
  };

  useInput((input, key) => {
    const plain = !key.ctrl && !key.meta && !input.startsWith("\u001B");
    if (!plain || input.length <= 1) return handle(input, key);
    for (const ch of input) {
      if (ch === "\r" || ch === "\n") handle("", { ...key, return: true });
      else if (ch === "\t") handle("", { ...key, tab: true });
      else if (ch === "\u007F" || ch === "\b") handle("", { ...key, backspace: true });
      else handle(ch, key);
    }
  });

  let main;
  switch (mode.type) {
    case "help":
      main = <HelpView height={mainHeight} width={width} theme={theme} />;
      break;
    case "namespace":
      main = (
        <NamespacePicker
          choices={nsChoices}
          index={mode.index}
          query={mode.query}
          height={mainHeight}
          width={width}
          theme={theme}
        />
      );
      break;
    case "emergency":
      main = (
        <EmergencyMenu
          index={mode.index}
          status={`${webhookText(snapshot.webhook).text}, ${watcherText(snapshot.watcher).text}`}
          height={mainHeight}
          width={width}
          theme={theme}
        />
      );
      break;
    case "purge":
      main = <PurgeView state={mode.state} height={mainHeight} width={width} theme={theme} />;
      break;
    case "confirm":
      main = <ConfirmView action={mode.action} height={mainHeight} width={width} theme={theme} />;
      break;
    case "details":
      main = (
        <DetailsPane
          details={source.details(mode.key)}
          doctor={doctor?.key === mode.key ? doctor.result : undefined}
          height={mainHeight}
          width={width}
          now={now}
          theme={theme}
        />
      );
      break;
    default:
      main = (
        <PodTable
          rows={rows}
          start={start}
          height={mainHeight}
          selected={selected}
          width={width}
          allNamespaces={snapshot.namespace === undefined}
          theme={theme}
          now={now}
          emptyText={
            snapshot.link === "connecting"
              ? "loading pods…"
              : snapshot.link === "reconnecting" && snapshot.pods.length === 0
                ? "waiting for the API server…"
                : filter
                  ? `no pod matches "${filter}"`
                  : showAll
                    ? "no pods"
                    : "no opted-in pods (a: show all pods)"
          }
        />
      );
  }

  const hints: [string, string][] =
    mode.type === "filter"
      ? [
          ["type", "filter"],
          ["Enter", "keep"],
          ["Esc", "clear"],
          ["↑↓", "move"],
        ]
      : mode.type === "confirm"
        ? mode.action.refused || mode.action.noop
          ? [["Esc", "close"]]
          : [
              ["y", "confirm"],
              ["n/Esc", "cancel"],
            ]
        : mode.type === "purge"
          ? purgeHints(mode.state)
          : mode.type === "emergency"
            ? [
                ["↑↓", "choose"],
                ["Enter/1-9", "review"],
                ["Esc", "cancel"],
              ]
            : mode.type === "details"
              ? [
                  ["Esc", "back"],
                  ["e", "enable"],
                  ["d", "disable"],
                  ["r", "restart"],
                  ["q", "quit"],
                ]
              : [
                  ["?", "help"],
                  ["q", "quit"],
                  ["/", "filter"],
                  ["a", showAll ? "opted-in" : "all pods"],
                  ["n", "namespace"],
                  ["s", `sort:${sort}${reverse ? "↓" : ""}`],
                  ["Enter", "details"],
                  ["e/d", "enable/disable"],
                  ["r", "restart"],
                  ["!", "emergency"],
                  ["Tab", "events"],
                ];

  const line =
    mode.type === "filter"
      ? { text: `/${filter}▏`, tone: "bold" as Tone }
      : mode.type === "busy"
        ? { text: mode.text, tone: "dim" as Tone }
        : flash
          ? flash
          : filter
            ? { text: `filter: ${filter} (Esc clears)`, tone: "dim" as Tone }
            : snapshot.link !== "live" && snapshot.linkError
              ? { text: `API server: ${snapshot.linkError} (retrying)`, tone: "bad" as Tone }
              : { text: "", tone: "dim" as Tone };

  return (
    <Box flexDirection="column" width={width}>
      <StatusBar
        snapshot={snapshot}
        shown={rows.length}
        optedIn={optedIn}
        coresLastHour={lastHour}
        width={width}
        theme={theme}
      />
      {main}
      {showEvents ? (
        <EventsPane
          events={snapshot.events}
          height={eventsHeight}
          width={width}
          now={now}
          coresLastHour={lastHour}
          theme={theme}
        />
      ) : null}
      <Text {...theme.tone(line.tone)} wrap="truncate">
        {fit(line.text, width)}
      </Text>
      <Footer hints={hints} width={width} theme={theme} />
    </Box>
  );
}
