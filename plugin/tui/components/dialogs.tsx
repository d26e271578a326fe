// Views that take the place of the list for a moment: help, namespace picker, emergency menu,
// confirmation of a change.
import { Box, Text } from "ink";
import type { Tone } from "../../lib/output.js";
import { EMERGENCY_ACTIONS } from "../emergency-menu.js";
import { fit } from "../view.js";
import type { PreparedAction } from "../types.js";
import { useTheme } from "./theme.js";

export interface Line {
  text: string;
  tone?: Tone;
  selected?: boolean;
}

export function Lines(p: { lines: Line[]; height: number; width: number }) {
  const theme = useTheme();
  return (
    <Box flexDirection="column" height={p.height}>
      {p.lines.slice(0, p.height).map((l, i) => (
        <Text
          key={i}
          {...(l.selected ? theme.selected : l.tone ? theme.tone(l.tone) : {})}
          wrap="truncate"
        >
          {fit(l.selected ? `> ${l.text}` : `  ${l.text}`, p.width)}
        </Text>
      ))}
    </Box>
  );
}

export const HELP: [string, string][] = [
  ["↑/↓ j/k", "move; PgUp/PgDn, g/G: page, first, last"],
  ["Enter", "details of the selected pod (Esc back)"],
  ["c", "crashes: CoreDump records by fingerprint; Enter details, p pull the newest core"],
  ["/", "filter by namespace/pod, node or owner (Enter keep, Esc clear)"],
  ["a", "toggle: opted-in pods / all pods"],
  ["n", "switch namespace (or all namespaces)"],
  ["s / S", "next sort column (name, cores, last core, age, node) / reverse"],
  ["e", "enable CoreDog on the selected pod's workload (checked, confirmed)"],
  ["d", "disable it on the selected pod's workload (confirmed)"],
  ["r", "restart the selected pod's workload (rollout restart, confirmed)"],
  [
    "!",
    "emergency menu: webhook ignore/fail/remove/restore, watcher pause/resume, restarts, purge dumps",
  ],
  ["Tab", "show / hide the events pane"],
  ["?", "this help (Esc or ? closes)"],
  ["q, Ctrl-C", "quit"],
];

export function HelpView(p: { height: number; width: number }) {
  const lines: Line[] = [
    { text: "Keys", tone: "bold" },
    ...HELP.map(([k, what]) => ({ text: `${k.padEnd(11)} ${what}` })),
  ];
  return <Lines lines={lines} height={p.height} width={p.width} />;
}

export function NamespacePicker(p: {
  choices: string[];
  index: number;
  query: string;
  height: number;
  width: number;
}) {
  const body = Math.max(1, p.height - 2);
  const start = Math.max(0, Math.min(p.index - body + 1, p.choices.length - body));
  const lines: Line[] = [
    { text: `Namespace: ${p.query}▏ (type to narrow, Enter switch, Esc cancel)`, tone: "bold" },
    ...p.choices.slice(Math.max(0, start), Math.max(0, start) + body).map((c, i) => ({
      text: c,
      selected: Math.max(0, start) + i === p.index,
    })),
  ];
  if (p.choices.length === 0) lines.push({ text: "no namespace matches", tone: "dim" });
  return <Lines lines={lines} height={p.height} width={p.width} />;
}

export function EmergencyMenu(p: { index: number; status: string; height: number; width: number }) {
  const lines: Line[] = [
    { text: `Emergency (now: ${p.status})`, tone: "bad" },
    ...EMERGENCY_ACTIONS.map((a, i) => ({
      text: `${i + 1}. ${a.label}${a.undo ? `  [undo: ${a.undo}]` : a.irreversible ? "  [cannot be undone]" : ""}`,
      selected: i === p.index,
    })),
    { text: "" },
    {
      text: `Enter or 1-${EMERGENCY_ACTIONS.length}: review the change (nothing happens before you confirm) · Esc cancel`,
      tone: "dim",
    },
  ];
  return <Lines lines={lines} height={p.height} width={p.width} />;
}

export function ConfirmView(p: { action: PreparedAction; height: number; width: number }) {
  const a = p.action;
  const lines: Line[] = [{ text: a.title, tone: "bold" }];
  if (a.refused) {
    lines.push(
      { text: `refused: ${a.refused}`, tone: "bad" },
      { text: "" },
      { text: "Esc close", tone: "dim" },
    );
  } else if (a.noop) {
    lines.push(
      { text: `nothing to do: ${a.noop}`, tone: "ok" },
      { text: "" },
      { text: "Esc close", tone: "dim" },
    );
  } else {
    lines.push({ text: "This will:" });
    for (const c of a.changes) lines.push({ text: `  - ${c}`, tone: "warn" });
    lines.push({
      text: a.undo ? `undo with: ${a.undo}` : "this cannot be undone by CoreDog",
      tone: "dim",
    });
    lines.push({ text: "" }, { text: "Proceed? y: yes · n or Esc: no", tone: "bold" });
  }
  return <Lines lines={lines} height={p.height} width={p.width} />;
}
