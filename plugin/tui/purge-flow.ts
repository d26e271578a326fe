// The emergency menu's "purge dumps", as in `kubectl coredog emergency purge`: choose the nodes and an
// age, list the files (a dry run), confirm, delete. Pure state and key handling; App runs the effects.
import { formatBytes } from "../../src/template.js";
import type { NodePurge, PurgeRequest } from "./types.js";

export const AGES: { label: string; minutes?: number }[] = [
  { label: "any age" },
  { label: "older than 1h", minutes: 60 },
  { label: "older than 24h", minutes: 24 * 60 },
  { label: "older than 7d", minutes: 7 * 24 * 60 },
];

export type NodeScope = "all" | "pod" | "pick";

export interface PurgeChoose {
  step: "choose";
  /** undefined while the node list loads. */
  nodes?: string[];
  nodesError?: string;
  /** The pod selected in the list when the menu was opened, and its node. */
  podNode?: { pod: string; node: string };
  scope: NodeScope;
  picked: string[];
  cursor: number;
  age: number;
  problem?: string;
}

export interface PurgeRunning {
  step: "listing" | "deleting";
  /** Tells a late answer of an abandoned run from the current one. */
  run: number;
  request: PurgeRequest;
  finished: NodePurge[];
}

export interface PurgeReview {
  step: "review";
  request: PurgeRequest;
  results: NodePurge[];
  /** First file row shown (the listing scrolls). */
  offset: number;
}

/** After the delete: what went, node by node. */
export interface PurgeDone {
  step: "done";
  request: PurgeRequest;
  results: NodePurge[];
}

export type PurgeState = PurgeChoose | PurgeRunning | PurgeReview | PurgeDone;

export function startPurge(podNode?: { pod: string; node: string }): PurgeChoose {
  return { step: "choose", podNode, scope: "all", picked: [], cursor: 0, age: 0 };
}

export type ChoiceRow =
  { kind: "all" } | { kind: "pod"; node: string } | { kind: "node"; node: string };

export function choiceRows(s: PurgeChoose): ChoiceRow[] {
  return [
    { kind: "all" },
    ...(s.podNode ? [{ kind: "pod" as const, node: s.podNode.node }] : []),
    ...(s.nodes ?? []).map((node) => ({ kind: "node" as const, node })),
  ];
}

export function chosenNodes(s: PurgeChoose): string[] {
  switch (s.scope) {
    case "all":
      return s.nodes ?? [];
    case "pod":
      return s.podNode ? [s.podNode.node] : [];
    case "pick":
      return (s.nodes ?? []).filter((n) => s.picked.includes(n));
  }
}

export function ageText(minutes: number | undefined): string {
  return AGES.find((a) => a.minutes === minutes)?.label ?? `older than ${minutes}m`;
}

export function describeRequest(r: PurgeRequest): string {
  return `${ageText(r.olderThanMinutes)}, on ${r.nodes.join(", ")}`;
}

export function filesOf(results: NodePurge[]) {
  return results.flatMap((r) => r.files ?? []);
}

export function totals(results: NodePurge[]): { files: number; bytes: number; nodes: string[] } {
  const files = filesOf(results);
  return {
    files: files.length,
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    nodes: results.filter((r) => r.files?.length).map((r) => r.node),
  };
}

/**
 * The delete that follows a listing: the same age, on the nodes where files were listed; never on a
 * node whose listing failed (nobody saw what it would delete there).
 */
export function deleteRequest(review: PurgeReview): PurgeRequest | undefined {
  const nodes = totals(review.results).nodes;
  if (nodes.length === 0) return undefined;
  return { ...review.request, nodes, delete: true };
}

export function failures(results: NodePurge[]): string[] {
  return results.filter((r) => r.error).map((r) => `${r.node}: ${r.error}`);
}

/** The flash line after the delete. */
export function resultText(results: NodePurge[]): { text: string; tone: "ok" | "warn" | "bad" } {
  const t = totals(results);
  const failed = failures(results);
  const deleted = `purge deleted ${t.files} file(s), ${formatBytes(t.bytes)}${t.nodes.length ? `, on ${t.nodes.join(", ")}` : ""} (this cannot be undone)`;
  if (failed.length === results.length)
    return { text: `error: purge: ${failed.join("; ")}`, tone: "bad" };
  if (failed.length) return { text: `${deleted}; failed on ${failed.join("; ")}`, tone: "warn" };
  return { text: `done: ${deleted}`, tone: "ok" };
}

export interface PurgeKey {
  input: string;
  up: boolean;
  down: boolean;
  left: boolean;
  right: boolean;
  enter: boolean;
  escape: boolean;
}

export type PurgeStep =
  | { state: PurgeState }
  | { start: PurgeRequest }
  | { close: { text: string; tone: "ok" | "warn" | "bad" | "dim" } };

/** What a key does in the purge flow; undefined: nothing. */
export function purgeKey(s: PurgeState, k: PurgeKey): PurgeStep | undefined {
  const cancel = { close: { text: "purge cancelled: nothing was deleted", tone: "dim" as const } };
  switch (s.step) {
    case "listing":
      return k.escape || k.input === "q" || k.input === "n" ? cancel : undefined;
    case "deleting":
      return undefined;
    case "done":
      return k.escape || k.enter || k.input === "q" ? { close: resultText(s.results) } : undefined;
    case "review": {
      const request = deleteRequest(s);
      if (request && k.input === "y") return { start: request };
      if (k.escape || k.input === "n" || k.input === "q" || (!request && k.enter)) return cancel;
      const count = filesOf(s.results).length;
      if (k.up || k.input === "k") return { state: { ...s, offset: Math.max(0, s.offset - 1) } };
      if (k.down || k.input === "j")
        return { state: { ...s, offset: Math.min(Math.max(0, count - 1), s.offset + 1) } };
      return undefined;
    }
    case "choose": {
      if (k.escape || k.input === "q" || k.input === "n") return cancel;
      const rows = choiceRows(s);
      if (k.up || k.input === "k")
        return {
          state: { ...s, cursor: (s.cursor + rows.length - 1) % rows.length, problem: undefined },
        };
      if (k.down || k.input === "j")
        return { state: { ...s, cursor: (s.cursor + 1) % rows.length, problem: undefined } };
      if (k.input === "t" || k.right)
        return { state: { ...s, age: (s.age + 1) % AGES.length, problem: undefined } };
      if (k.left)
        return {
          state: { ...s, age: (s.age + AGES.length - 1) % AGES.length, problem: undefined },
        };
      if (k.input === " " || k.input === "x") {
        const row = rows[s.cursor];
        if (!row) return undefined;
        if (row.kind === "all") return { state: { ...s, scope: "all", problem: undefined } };
        if (row.kind === "pod") return { state: { ...s, scope: "pod", problem: undefined } };
        const picked = s.picked.includes(row.node)
          ? s.picked.filter((n) => n !== row.node)
          : [...s.picked, row.node];
        return { state: { ...s, scope: "pick", picked, problem: undefined } };
      }
      if (k.enter) {
        if (s.scope !== "pod" && s.nodes === undefined)
          return {
            state: {
              ...s,
              problem: s.nodesError
                ? "without the node list, only the selected pod's node can be chosen"
                : "still loading the nodes…",
            },
          };
        const nodes = chosenNodes(s);
        if (nodes.length === 0)
          return {
            state: {
              ...s,
              problem:
                s.scope === "pick"
                  ? "choose at least one node (Space)"
                  : "the cluster has no nodes",
            },
          };
        return {
          start: {
            nodes,
            olderThanMinutes: AGES[s.age]!.minutes,
            delete: false,
            notNewerThan: new Date(),
          },
        };
      }
      return undefined;
    }
  }
}

export function purgeHints(s: PurgeState): [string, string][] {
  switch (s.step) {
    case "choose":
      return [
        ["↑↓", "move"],
        ["Space", "choose"],
        ["t/←→", "age"],
        ["Enter", "list (dry run)"],
        ["Esc", "cancel"],
      ];
    case "listing":
      return [["Esc", "cancel"]];
    case "deleting":
      return [];
    case "done":
      return [["Enter/Esc", "close"]];
    case "review":
      return deleteRequest(s)
        ? [
            ["y", "delete"],
            ["n/Esc", "cancel"],
            ["↑↓", "scroll"],
          ]
        : [["Esc", "close"]];
  }
}
