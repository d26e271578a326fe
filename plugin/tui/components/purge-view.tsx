// The purge flow's screens: choose nodes and age, progress of the listing/deleting pods, the dry-run
// listing with sizes and a total, waiting for y.
import { NODE_DUMP_DIR } from "../../../src/names.js";
import { formatBytes } from "../../../src/template.js";
import {
  AGES,
  ageText,
  choiceRows,
  deleteRequest,
  describeRequest,
  failures,
  filesOf,
  totals,
  type PurgeState,
} from "../purge-flow.js";
import { Lines, type Line } from "./dialogs.js";

function pad(s: string, n: number) {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

export function PurgeView(p: { state: PurgeState; height: number; width: number }) {
  const s = p.state;
  let lines: Line[];
  switch (s.step) {
    case "choose": {
      const rows = choiceRows(s);
      const body = Math.max(1, p.height - 6);
      const start = Math.max(0, Math.min(s.cursor - body + 1, rows.length - body));
      lines = [
        {
          text: `Purge dumps: delete core files under ${NODE_DUMP_DIR} on the chosen nodes`,
          tone: "bad",
        },
        { text: "Nodes (Space chooses):", tone: "bold" },
        ...rows.slice(start, start + body).map((r, i): Line => {
          const text =
            r.kind === "all"
              ? `${s.scope === "all" ? "(•)" : "( )"} all nodes${s.nodes ? ` (${s.nodes.length})` : s.nodesError ? "" : " (loading…)"}`
              : r.kind === "pod"
                ? `${s.scope === "pod" ? "(•)" : "( )"} the node of the selected pod ${s.podNode!.pod}: ${r.node}`
                : `${s.scope === "pick" && s.picked.includes(r.node) ? "[x]" : "[ ]"} ${r.node}`;
          return { text, selected: start + i === s.cursor };
        }),
        ...(s.nodesError
          ? [{ text: `cannot list the nodes: ${s.nodesError}`, tone: "bad" as const }]
          : []),
        {
          text: `Age (t or ←→): ${AGES.map((a, i) => (i === s.age ? `[${a.label}]` : a.label)).join("  ")}`,
        },
        s.problem
          ? { text: s.problem, tone: "warn" }
          : {
              text: "Enter: list the files (a dry run: nothing is deleted yet) · Esc cancel",
              tone: "dim",
            },
      ];
      break;
    }
    case "listing":
    case "deleting": {
      const verb = s.step === "listing" ? "listing" : "deleting";
      lines = [
        {
          text: `Purge dumps: ${verb} files, ${describeRequest(s.request)} (${s.finished.length}/${s.request.nodes.length} nodes done)…`,
          tone: "bold",
        },
        ...s.request.nodes.map((node): Line => {
          const r = s.finished.find((f) => f.node === node);
          if (!r) return { text: `  ${node}: ${verb}… (a pod runs on the node)`, tone: "dim" };
          if (r.error) return { text: `  ${node}: failed: ${r.error}`, tone: "bad" };
          const t = totals([r]);
          return { text: `  ${node}: ${t.files} file(s), ${formatBytes(t.bytes)}` };
        }),
        {
          text:
            s.step === "listing"
              ? "Esc cancel (a dry run: nothing is deleted)"
              : "deleting: this cannot be stopped or undone",
          tone: "dim",
        },
      ];
      break;
    }
    case "done": {
      const t = totals(s.results);
      lines = [
        { text: `Purge dumps: done (${ageText(s.request.olderThanMinutes)})`, tone: "bold" },
        ...s.results.map((r): Line => {
          if (r.error) return { text: `  ${r.node}: failed: ${r.error}`, tone: "bad" };
          const n = totals([r]);
          return { text: `  ${r.node}: deleted ${n.files} file(s), ${formatBytes(n.bytes)}` };
        }),
        {
          text: `Deleted ${t.files} file(s), ${formatBytes(t.bytes)} in total. This cannot be undone.`,
          tone: failures(s.results).length ? "warn" : "ok",
        },
        { text: "Enter or Esc: close", tone: "dim" },
      ];
      break;
    }
    case "review": {
      const files = filesOf(s.results);
      const t = totals(s.results);
      const failed = failures(s.results);
      const del = deleteRequest(s);
      const tail: Line[] = [
        ...failed.map((f): Line => ({ text: `failed: ${f}`, tone: "bad" })),
        { text: `Total: ${t.files} file(s), ${formatBytes(t.bytes)}`, tone: "bold" },
      ];
      if (del) {
        tail.push(
          {
            text: "This cannot be undone: upload what matters first (or pause the watcher: emergency watcher pause)",
            tone: "warn",
          },
          {
            text: `Delete these ${t.files} file(s) on ${del.nodes.join(", ")} for good? y: yes · n or Esc: no`,
            tone: "bold",
          },
        );
      } else {
        tail.push({
          text: failed.length
            ? "nothing to delete where the listing worked · Esc close"
            : "no files to purge · Esc close",
          tone: "dim",
        });
      }
      const nodeWidth = Math.max(4, ...files.map((f) => f.node.length));
      const body = Math.max(1, p.height - 2 - tail.length);
      const offset = Math.min(s.offset, Math.max(0, files.length - body));
      const shown = files.length > body ? Math.max(1, body - 1) : body;
      const rows = files.slice(offset, offset + shown).map((f): Line => ({
        text: `${pad(f.node, nodeWidth)}  ${pad(formatBytes(f.bytes), 10)}  ${pad(f.modified, 16)}  ${f.path}`,
      }));
      const more = files.length - offset - rows.length;
      lines = [
        {
          text: `Purge dumps, dry run (nothing deleted yet): ${describeRequest(s.request)}`,
          tone: "bold",
        },
        ...(files.length
          ? [
              {
                text: `${pad("NODE", nodeWidth)}  ${pad("SIZE", 10)}  ${pad("MODIFIED", 16)}  PATH`,
                tone: "dim" as const,
              },
            ]
          : []),
        ...rows,
        ...(files.length > rows.length
          ? [
              {
                text: `… ${more > 0 ? `${more} more` : `${offset} above`} (↑↓ scroll)`,
                tone: "dim" as const,
              },
            ]
          : []),
        ...tail,
      ];
      // The prompt must stay on screen: the file rows give way first.
      if (lines.length > p.height)
        lines = [...lines.slice(0, Math.max(0, p.height - tail.length)), ...tail];
      break;
    }
  }
  return <Lines lines={lines} height={p.height} width={p.width} />;
}
