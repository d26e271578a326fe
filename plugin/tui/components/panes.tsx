// The smaller parts of the screen: status bar, events pane, details, footer, flash line.
import { memo } from "react";
import { Box, Text } from "ink";
import { CONFIGMAP, NAMESPACE } from "../../../src/names.js";
import { toneOf } from "../../lib/events.js";
import { age, type Tone } from "../../lib/output.js";
import { fit } from "../view.js";
import type { DoctorCheck, EventRow, PodDetails, TuiSnapshot } from "../types.js";
import { useTheme } from "./theme.js";

export function webhookText(s: TuiSnapshot["webhook"]): { text: string; tone: Tone } {
  switch (s.state) {
    case "loading":
      return { text: "webhook: …", tone: "dim" };
    case "absent":
      return { text: "webhook: removed", tone: "bad" };
    case "unknown":
      return { text: "webhook: unknown", tone: "bad" };
    case "present": {
      const p = s.policies.length ? s.policies.join("/") : "none";
      return {
        text: `webhook failurePolicy: ${p}`,
        tone: s.policies.includes("Ignore") ? "warn" : "ok",
      };
    }
  }
}

export function watcherText(s: TuiSnapshot["watcher"]): { text: string; tone: Tone } {
  const counts = s.desired !== undefined ? ` ${s.ready ?? 0}/${s.desired}` : "";
  switch (s.state) {
    case "loading":
      return { text: "watcher: …", tone: "dim" };
    case "running":
      return { text: `watcher: running${counts}`, tone: "ok" };
    case "paused":
      return { text: "watcher: paused", tone: "warn" };
    case "absent":
      return { text: "watcher: not installed", tone: "bad" };
    case "unknown":
      return { text: "watcher: unknown", tone: "bad" };
  }
}

export interface StatusBarProps {
  snapshot: TuiSnapshot;
  shown: number;
  optedIn: number;
  coresLastHour: number;
  width: number;
}

export const StatusBar = memo(function StatusBar(p: StatusBarProps) {
  const theme = useTheme();
  const s = p.snapshot;
  const wh = webhookText(s.webhook);
  const wa = watcherText(s.watcher);
  const link =
    s.link === "live" ? "live" : s.link === "connecting" ? "connecting…" : "reconnecting…";
  const parts: { text: string; style: object }[] = [
    { text: "CoreDog", style: theme.title },
    { text: `ns: ${s.namespacePending ? "…" : (s.namespace ?? "all")}`, style: {} },
    { text: wh.text, style: theme.tone(wh.tone) },
    { text: wa.text, style: theme.tone(wa.tone) },
    { text: `pods: ${p.shown} shown, ${p.optedIn} opted in`, style: {} },
    { text: `cores/1h: ${p.coresLastHour}`, style: p.coresLastHour ? theme.tone("warn") : {} },
    { text: link, style: theme.tone(s.link === "live" ? "ok" : "bad") },
  ];
  let left = p.width;
  const shown: typeof parts = [];
  for (const part of parts) {
    const need = part.text.length + (shown.length ? 3 : 0);
    if (need > left) break;
    shown.push(part);
    left -= need;
  }
  return (
    <Box>
      {shown.map((part, i) => (
        <Text key={i}>
          {i > 0 ? " │ " : ""}
          <Text {...part.style}>{part.text}</Text>
        </Text>
      ))}
    </Box>
  );
});

export interface EventsPaneProps {
  events: EventRow[];
  height: number;
  width: number;
  now: number;
  coresLastHour: number;
}

export const EventsPane = memo(function EventsPane(p: EventsPaneProps) {
  const theme = useTheme();
  const body = p.events.slice(0, Math.max(0, p.height - 1));
  return (
    <Box flexDirection="column" height={p.height}>
      <Text {...theme.title}>
        {fit(
          `Events (newest first, ${p.events.length}) · cores in the last hour: ${p.coresLastHour}`,
          p.width,
        )}
      </Text>
      {body.length === 0 ? (
        <Text {...theme.tone("dim")}>{fit("  no CoreDog events", p.width)}</Text>
      ) : (
        body.map((e, i) => (
          <Text key={`${e.uid ?? i}-${e.count}`} {...theme.tone(toneOf(e.reason))} wrap="truncate">
            {fit(
              `  ${(e.time ? age(e.time, p.now) : "?").padEnd(5)} ${e.reason.padEnd(17)} ${`${e.namespace}/${e.pod}`} ${e.node ? `on ${e.node} ` : ""}${e.count > 1 ? `x${e.count} ` : ""}${e.message.replace(/\s*\n\s*/g, " ")}`,
              p.width,
            )}
          </Text>
        ))
      )}
    </Box>
  );
});

export type DoctorState =
  | { state: "running" }
  | { state: "done"; checks: DoctorCheck[] }
  | { state: "error"; message: string };

const MARK: Record<DoctorCheck["status"], string> = { pass: "✓", fail: "✗", warn: "!", info: "·" };
const CHECK_TONE: Record<DoctorCheck["status"], Tone> = {
  pass: "ok",
  fail: "bad",
  warn: "warn",
  info: "dim",
};

function doctorLines(d: DoctorState | undefined): { text: string; tone?: Tone }[] {
  if (!d) return [];
  if (d.state === "running")
    return [
      { text: "Doctor", tone: "bold" },
      { text: "  running the checks…", tone: "dim" },
    ];
  if (d.state === "error")
    return [
      { text: "Doctor", tone: "bold" },
      { text: `  ${d.message}`, tone: "bad" },
    ];
  // Problems first: a short pane must still show what is wrong.
  const order = { fail: 0, warn: 1, info: 2, pass: 3 } as const;
  const checks = [...d.checks].sort((a, b) => order[a.status] - order[b.status]);
  const failing = d.checks.filter((c) => c.status === "fail").length;
  return [
    { text: `Doctor (${failing ? `${failing} problem(s)` : "no problems"})`, tone: "bold" },
    ...checks.flatMap((c) => [
      {
        text: `  ${MARK[c.status]} ${c.title}${c.detail ? `: ${c.detail}` : ""}`,
        tone: CHECK_TONE[c.status],
      },
      ...(c.fix && c.status !== "pass" ? [{ text: `      fix: ${c.fix}` }] : []),
    ]),
  ];
}

/** How to get the newest uploaded core and see more, as commands to copy. */
function fetchHints(d: PodDetails): { text: string; tone?: Tone }[] {
  const newest = d.cores.find((c) => c.object)?.object;
  return [
    ...(newest
      ? [
          {
            text: `  fetch the newest: aws s3 cp s3://${newest} .  (storage endpoint: kubectl get cm ${CONFIGMAP} -n ${NAMESPACE} -o yaml)`,
            tone: "dim" as Tone,
          },
        ]
      : []),
    {
      text: `  more: kubectl coredog events -n ${d.namespace} --since 24h · kubectl coredog doctor ${d.name} -n ${d.namespace}`,
      tone: "dim" as Tone,
    },
  ];
}

export interface DetailsProps {
  details: PodDetails | undefined;
  doctor?: DoctorState;
  height: number;
  width: number;
  now: number;
}

export const DetailsPane = memo(function DetailsPane(p: DetailsProps) {
  const theme = useTheme();
  const d = p.details;
  if (!d) {
    return (
      <Box height={p.height}>
        <Text>{fit("  the pod is gone", p.width)}</Text>
      </Box>
    );
  }
  const lines: { text: string; tone?: Tone }[] = [
    { text: `Pod ${d.key}`, tone: "bold" },
    {
      text: `  node ${d.node || "<none>"} · ${d.phase || "<unknown>"} · owner ${d.owner ?? "<none>"} · age ${age(d.created, p.now)}`,
    },
    { text: "Annotations", tone: "bold" },
    ...(d.coredogAnnotations.length
      ? d.coredogAnnotations.map(([k, v]) => ({ text: `  ${k}: ${v}` }))
      : [{ text: "  no coredog.io annotations", tone: "dim" as Tone }]),
    ...(d.otherAnnotations
      ? [{ text: `  (+${d.otherAnnotations} other annotations)`, tone: "dim" as Tone }]
      : []),
    { text: "Injection", tone: "bold" },
    {
      text: `  opted in: ${d.optedIn ? "yes" : "no"} · injected: ${d.injected ? `yes (${d.path} in ${d.containers.join(", ")})` : "no"}`,
      tone: d.optedIn && !d.injected ? "warn" : undefined,
    },
    { text: `  webhook decision: ${d.decision.text}`, tone: d.decision.inject ? "ok" : "warn" },
    ...(d.optedIn && !d.injected && d.decision.inject
      ? [
          {
            text: "  the pod was created before it was enabled (or the webhook was down): restart its workload (r)",
            tone: "warn" as Tone,
          },
        ]
      : []),
    { text: `Recent cores (${d.cores.length})`, tone: "bold" },
    ...(d.cores.length
      ? d.cores.map((c) => ({
          text: `  ${c.time ? age(c.time, p.now) : "?"} ${c.reason}${c.count > 1 ? ` x${c.count}` : ""}${c.container ? ` [${c.container}]` : ""}: ${c.message}`,
          tone: toneOf(c.reason),
        }))
      : [{ text: "  none recorded", tone: "dim" as Tone }]),
    ...fetchHints(d),
    ...doctorLines(p.doctor),
  ];
  return (
    <Box flexDirection="column" height={p.height}>
      {lines.slice(0, p.height).map((l, i) => (
        <Text key={i} {...(l.tone ? theme.tone(l.tone) : {})} wrap="truncate">
          {fit(l.text, p.width)}
        </Text>
      ))}
    </Box>
  );
});

export function Footer(p: { hints: [string, string][]; width: number }) {
  const theme = useTheme();
  let left = p.width;
  const shown: [string, string][] = [];
  for (const h of p.hints) {
    const need = h[0].length + h[1].length + 3;
    if (need > left) break;
    shown.push(h);
    left -= need;
  }
  return (
    <Box>
      {shown.map(([k, what], i) => (
        <Text key={k}>
          {i > 0 ? "  " : ""}
          <Text {...theme.key}>{k}</Text> {what}
        </Text>
      ))}
    </Box>
  );
}
