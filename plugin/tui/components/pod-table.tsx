// The pods list, windowed: only the rows that fit are formatted and rendered, so 5,000 pods cost
// as much as a screenful.
import { memo } from "react";
import { Box, Text } from "ink";
import { lsColumns } from "../../lib/listing.js";
import { fit } from "../view.js";
import type { PodItem } from "../types.js";
import { useTheme } from "./theme.js";

export interface PodTableProps {
  rows: PodItem[];
  start: number;
  height: number;
  selected: number;
  width: number;
  allNamespaces: boolean;
  now: number;
  emptyText: string;
}

const GAP = "  ";

export const PodTable = memo(function PodTable(p: PodTableProps) {
  const theme = useTheme();
  const bodyHeight = Math.max(0, p.height - 1);
  const slice = p.rows.slice(p.start, p.start + bodyHeight);
  const columns = lsColumns(p.now).filter((c) => p.allNamespaces || c.header !== "NAMESPACE");
  const cells = slice.map((r) => columns.map((c) => c.value(r)));
  const widths = columns.map((c, i) =>
    Math.max(c.header.length, ...cells.map((row) => row[i]!.length)),
  );
  const line = (values: string[]) =>
    fit("  " + values.map((v, i) => v.padEnd(widths[i]!)).join(GAP), p.width);
  const lines = cells.map((values, i) => {
    const index = p.start + i;
    const text = line(values);
    return index === p.selected ? `>${text.slice(1)}` : text;
  });
  return (
    <Box flexDirection="column" height={p.height}>
      <Text {...theme.title}>{line(columns.map((c) => c.header))}</Text>
      {slice.length === 0 ? (
        <Text {...theme.tone("dim")}>{fit(`  ${p.emptyText}`, p.width)}</Text>
      ) : (
        lines.map((text, i) => {
          const row = slice[i]!;
          const isSelected = p.start + i === p.selected;
          const style = isSelected
            ? theme.selected
            : !row.optedIn
              ? theme.tone("dim")
              : row.injected
                ? {}
                : theme.tone("warn");
          return (
            <Text key={row.key} {...style} wrap="truncate">
              {text}
            </Text>
          );
        })
      )}
    </Box>
  );
});
