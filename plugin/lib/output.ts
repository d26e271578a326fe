// kubectl-style output: aligned columns without borders, or JSON / YAML; colour only on a TTY without NO_COLOR.
import { stripVTControlCharacters, styleText } from "node:util";
import { stringify } from "yaml";

export type Column<T> = { header: string; value: (row: T) => string; wide?: boolean };

/** Columns padded like kubectl's: three spaces between, no borders. */
export function formatTable<T>(
  rows: T[],
  columns: Column<T>[],
  wide = false,
  /** At least these widths: keeps the lines of a stream (`-f`) under the header printed first. */
  minWidths: number[] = [],
): string {
  const shown = columns.filter((c) => wide || !c.wide);
  const cells = rows.map((row) => shown.map((c) => c.value(row)));
  const widths = shown.map((c, i) =>
    Math.max(minWidths[i] ?? 0, visibleLength(c.header), ...cells.map((r) => visibleLength(r[i]!))),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v + " ".repeat(widths[i]! - visibleLength(v))))
      .join("   ")
      .trimEnd();
  return [line(shown.map((c) => c.header)), ...cells.map(line)].join("\n");
}

/** The widths formatTable gives the columns for these rows. */
export function columnWidths<T>(rows: T[], columns: Column<T>[], wide = false): number[] {
  return columns
    .filter((c) => wide || !c.wide)
    .map((c) => Math.max(visibleLength(c.header), ...rows.map((r) => visibleLength(c.value(r)))));
}

/** Length on screen: colour escapes take no room. */
function visibleLength(s: string): number {
  return stripVTControlCharacters(s).length;
}

export function formatList(items: unknown[], format: "json" | "yaml"): string {
  const list = { apiVersion: "v1", kind: "List", items };
  return format === "json" ? JSON.stringify(list, null, 2) : stringify(list).trimEnd();
}

export type Tone = "ok" | "bad" | "warn" | "dim" | "bold";
const styles: Record<Tone, Parameters<typeof styleText>[0]> = {
  ok: "green",
  bad: "red",
  warn: "yellow",
  dim: "gray",
  bold: "bold",
};

export function paint(
  tone: Tone,
  text: string,
  stream: NodeJS.WriteStream = process.stdout,
): string {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "") return text;
  return styleText(styles[tone], text, { stream, validateStream: true });
}

/** "3m", "2h", "5d" like kubectl's AGE column. */
export function age(from: Date | string | undefined, now = Date.now()): string {
  if (!from) return "<unknown>";
  const seconds = Math.max(0, Math.floor((now - new Date(from).getTime()) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}
