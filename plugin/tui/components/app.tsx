// The console: one screen, modes for the moments that take over the list (help, namespace picker,
// emergency menu, confirmation). All cluster access goes through the `source` prop.
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { Box, Text, useApp, useInput, useWindowSize } from "ink";
import type { Tone } from "../../lib/output.js";
import { errorText } from "../error-text.js";
import {
  initialUi,
  namespaceChoices,
  reduceKey,
  splitKeys,
  type Effect,
  type Mode,
  type Target,
  type UiState,
  type View,
} from "../keys.js";
import { purgeHints, type PurgeRunning } from "../purge-flow.js";
import { coresLastHour, fit, visibleRows, windowStart } from "../view.js";
import type { ActionRequest, PodItem, PreparedAction, PurgeRequest, TuiSource } from "../types.js";
import { ConfirmView, EmergencyMenu, HelpView, NamespacePicker } from "./dialogs.js";
import {
  DetailsPane,
  EventsPane,
  Footer,
  StatusBar,
  watcherText,
  webhookText,
  type DoctorState,
} from "./panes.js";
import { PodTable } from "./pod-table.js";
import { PurgeView } from "./purge-view.js";
import {
  CrashesView,
  crashDetailsLines,
  type CrashReportState,
  type CrashesState,
} from "./crashes-view.js";
import { groupCrashes, selectCrashes } from "../../lib/crashes.js";
import { makeTheme, ThemeContext } from "./theme.js";

export interface AppProps {
  source: TuiSource;
  color: boolean;
  /** A fixed size (tests); otherwise the terminal's, following resizes. */
  size?: { columns: number; rows: number };
  now?: () => number;
  /** Start with all pods instead of opted-in ones. */
  showAll?: boolean;
}

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

  // Keys typed or pasted in one chunk are handled one by one, each seeing the state the previous left: the state
  // lives in a ref, and a render is asked for after each change.
  const ui = useRef<UiState>(initialUi(props.showAll));
  const [, rerender] = useState(0);
  const update = useCallback((next: UiState | ((s: UiState) => UiState)) => {
    ui.current = typeof next === "function" ? next(ui.current) : next;
    rerender((n) => n + 1);
  }, []);
  const { mode, filter, showAll, sort, reverse, showEvents, flash } = ui.current;
  const setMode = useCallback((m: Mode) => update((s) => ({ ...s, mode: m })), [update]);
  const [selectedKey, setSelectedKey] = useState<string | undefined>();
  const [doctor, setDoctor] = useState<{ key: string; result: DoctorState } | undefined>();
  const lastIndex = useRef(0);
  const lastStart = useRef(0);
  const [crashes, setCrashes] = useState<CrashesState>({ state: "loading" });
  // Crash reports by record (namespace/name), fetched when a record's details first open.
  const [reports, setReports] = useState<ReadonlyMap<string, CrashReportState>>(new Map());
  const setReport = (key: string, r: CrashReportState) => setReports((m) => new Map(m).set(key, r));

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

  const prepare = (request: ActionRequest) => {
    source.prepare(request).then(
      (action) => setMode({ type: "confirm", action }),
      (err: unknown) =>
        update((s) => ({
          ...s,
          mode: { type: "list" },
          flash: { text: `error: ${errorText(err)}`, tone: "bad" },
        })),
    );
  };

  const apply = (action: PreparedAction) => {
    const done = (text: string, tone: Tone) =>
      update((s) => ({ ...s, mode: { type: "list" }, flash: { text, tone } }));
    action.apply().then(
      () => {
        const undo = action.undo ? ` · undo with: ${action.undo}` : "";
        done(`done: ${action.done ?? action.title}${undo}`, "ok");
      },
      (err: unknown) => done(`error: ${action.title}: ${errorText(err)}`, "bad"),
    );
  };

  // Purge: the node list loads while the operator chooses; each run (listing, deleting) has a number
  // so that the answer of an abandoned one changes nothing.
  const purgeRun = useRef(0);
  const loadPurgeNodes = () => {
    const patch = (p: { nodes?: string[]; nodesError?: string }) => {
      const m = ui.current.mode;
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
      const m = ui.current.mode;
      return m.type === "purge" && m.state.step === step && m.state.run === run
        ? m.state
        : undefined;
    };
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
          update((s) => ({
            ...s,
            mode: { type: "list" },
            flash: { text: `error: purge: ${errorText(err)}`, tone: "bad" },
          }));
        },
      );
  };

  const nsChoices =
    mode.type === "namespace" ? namespaceChoices(snapshot.namespaces, mode.query) : [];
  const targetOf = (p: PodItem | undefined): Target | undefined =>
    p && { key: p.key, namespace: p.namespace, pod: p.pod, node: p.node };

  const run = (effect: Effect) => {
    switch (effect.type) {
      case "exit":
        return exit();
      case "select":
        return select(effect.index);
      case "prepare":
        return prepare(effect.request);
      case "apply":
        return apply(effect.action);
      case "doctor": {
        // The doctor's checks for this pod (several reads): shown when they arrive.
        const { key, namespace, pod } = effect;
        setDoctor({ key, result: { state: "running" } });
        source.doctor(namespace, pod).then(
          (checks) => setDoctor({ key, result: { state: "done", checks } }),
          (err: unknown) => setDoctor({ key, result: { state: "error", message: errorText(err) } }),
        );
        return;
      }
      case "namespace":
        source.setNamespace(effect.namespace);
        setSelectedKey(undefined);
        lastIndex.current = 0;
        return;
      case "purge-nodes":
        return loadPurgeNodes();
      case "purge-run":
        return runPurge(effect.request);
      case "crashes-load": {
        setCrashes({ state: "loading" });
        setReports(new Map());
        if (!source.crashes) return setCrashes({ state: "error", message: "not available" });
        source.crashes().then(
          (items) => {
            const sorted = selectCrashes(items);
            const records = new Map(
              sorted.map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, r]),
            );
            setCrashes({ state: "done", groups: groupCrashes(sorted), records });
          },
          (err: unknown) => setCrashes({ state: "error", message: errorText(err) }),
        );
        return;
      }
      case "crash-report": {
        const key = `${effect.namespace}/${effect.name}`;
        if (reports.get(key)?.state === "done") return;
        if (!source.crashReport)
          return setReport(key, { state: "error", message: "not available" });
        setReport(key, { state: "loading" });
        source.crashReport(effect.namespace, effect.name).then(
          (lines) => setReport(key, { state: "done", lines }),
          (err: unknown) => setReport(key, { state: "error", message: errorText(err) }),
        );
        return;
      }
      case "crash-pull": {
        if (!source.pullCrash) return;
        source.pullCrash(effect.namespace, effect.name).then(
          (p) =>
            update((s) => ({
              ...s,
              flash: { text: `pulled ${p.out} (verified) · ${p.gdb}`, tone: "ok" },
            })),
          (err: unknown) =>
            update((s) => ({
              ...s,
              flash: { text: `error: pull: ${errorText(err)}`, tone: "bad" },
            })),
        );
        return;
      }
    }
  };

  useInput((input, key) => {
    for (const k of splitKeys(input, key)) {
      const view: View = {
        selected: lastIndex.current,
        rowCount: rows.length,
        page: Math.max(1, mainHeight - 2),
        current: targetOf(rows[lastIndex.current]),
        find: (podKey) => targetOf(snapshot.pods.find((p) => p.key === podKey)),
        namespaces: snapshot.namespaces,
        ...(crashes.state === "done"
          ? {
              crashGroups: crashes.groups.length,
              ...(() => {
                const m = ui.current.mode;
                const g = m.type === "crashes" ? crashes.groups[m.index] : undefined;
                if (!g) return {};
                const [namespace, name] = g.latest.split("/") as [string, string];
                const details = crashDetailsLines(
                  crashes,
                  m.type === "crashes" ? m.index : 0,
                  reports.get(g.latest),
                );
                return {
                  currentCrash: { namespace, name },
                  detailsScrollMax: Math.max(0, details.length - mainHeight),
                };
              })(),
            }
          : {}),
      };
      const step = reduceKey(ui.current, k, view);
      if (step.state !== ui.current) update(step.state);
      for (const e of step.effects) run(e);
    }
  });

  let main;
  switch (mode.type) {
    case "help":
      main = <HelpView height={mainHeight} width={width} />;
      break;
    case "namespace":
      main = (
        <NamespacePicker
          choices={nsChoices}
          index={mode.index}
          query={mode.query}
          height={mainHeight}
          width={width}
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
        />
      );
      break;
    case "purge":
      main = <PurgeView state={mode.state} height={mainHeight} width={width} />;
      break;
    case "crashes":
      main = (
        <CrashesView
          crashes={crashes}
          index={mode.index}
          details={mode.details}
          scroll={mode.scroll}
          report={(() => {
            const g = crashes.state === "done" ? crashes.groups[mode.index] : undefined;
            return g && reports.get(g.latest);
          })()}
          height={mainHeight}
          width={width}
          now={now}
        />
      );
      break;
    case "confirm":
      main = <ConfirmView action={mode.action} height={mainHeight} width={width} />;
      break;
    case "details":
      main = (
        <DetailsPane
          details={source.details(mode.key)}
          doctor={doctor?.key === mode.key ? doctor.result : undefined}
          height={mainHeight}
          width={width}
          now={now}
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
            : mode.type === "crashes"
              ? [
                  ["↑↓", mode.details ? "scroll" : "move"],
                  ["Enter", mode.details ? "groups" : "details"],
                  ["p", "pull"],
                  ["r", "reload"],
                  ["Esc", "back"],
                  ["q", "quit"],
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
                    ["c", "crashes"],
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
    <ThemeContext.Provider value={theme}>
      <Box flexDirection="column" width={width}>
        <StatusBar
          snapshot={snapshot}
          shown={rows.length}
          optedIn={optedIn}
          coresLastHour={lastHour}
          width={width}
        />
        {main}
        {showEvents ? (
          <EventsPane
            events={snapshot.events}
            height={eventsHeight}
            width={width}
            now={now}
            coresLastHour={lastHour}
          />
        ) : null}
        <Text {...theme.tone(line.tone)} wrap="truncate">
          {fit(line.text, width)}
        </Text>
        <Footer hints={hints} width={width} />
      </Box>
    </ThemeContext.Provider>
  );
}
