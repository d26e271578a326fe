// Reading `config.yaml`: the value, syntax errors with their line and column, and where any key path stands in
// the file, so that an error about a key can say which line to look at.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import type { Origins } from "./keys.js";
import { errorText } from "../error-text.js";

export interface YamlRead {
  value?: unknown;
  errors: string[];
  warnings: string[];
  /** `line L, column C` of the key (or list item) at a raw path, else of its nearest ancestor in the file. */
  where(rawPath: (string | number)[]): string | undefined;
}

type Pos = { line: number; col: number };

function describe(e: { message: string; linePos?: [Pos, ...unknown[]] }): string {
  const first = (e.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
  return e.linePos ? `at line ${e.linePos[0].line}, column ${e.linePos[0].col}: ${first}` : first;
}

export function readYaml(yamlText: string): YamlRead {
  const lines = new LineCounter();
  const doc = parseDocument(yamlText, { uniqueKeys: true, prettyErrors: true, lineCounter: lines });
  const at = (offset: number): string => {
    const p = lines.linePos(offset);
    return `line ${p.line}, column ${p.col}`;
  };
  const where = (rawPath: (string | number)[]): string | undefined => {
    let node: unknown = doc.contents;
    let found: number | undefined;
    for (const step of rawPath) {
      if (typeof step === "number" && isSeq(node)) {
        const item = node.items[step] as Node | undefined;
        if (!item?.range) break;
        found = item.range[0];
        node = item;
      } else if (typeof step === "string" && isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === step);
        const key = pair?.key as Node | undefined;
        if (!pair || !key?.range) break;
        found = key.range[0];
        node = pair.value;
      } else break;
    }
    return found === undefined ? undefined : at(found);
  };
  if (doc.errors.length > 0) {
    return {
      errors: doc.errors.map((e) => `config.yaml: YAML syntax error ${describe(e)}`),
      warnings: [],
      where,
    };
  }
  try {
    return {
      value: doc.toJS({ maxAliasCount: 100 }),
      errors: [],
      warnings: doc.warnings.map((w) => `config.yaml: YAML warning ${describe(w)}`),
      where,
    };
  } catch (e) {
    return { errors: [`config.yaml: ${errorText(e)}`], warnings: [], where };
  }
}

/**
 * Adds the file position to messages that start with a key path (`StorageConfig.S3Bucket: …`): the key's own line,
 * or, for a key that is missing, the line of the nearest key above it that is there.
 */
export function withPositions(messages: string[], origins: Origins, read: YamlRead): string[] {
  return messages.map((m) => {
    const path = /^([A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\])*): /.exec(m)?.[1];
    if (path === undefined) return m;
    for (let p: string | undefined = path; p; p = parent(p)) {
      const raw = origins.get(p);
      const pos = raw && read.where(raw);
      if (pos) return `${m} (${pos})`;
    }
    return m;
  });
}

function parent(path: string): string | undefined {
  const cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
  return cut > 0 ? path.slice(0, cut) : undefined;
}
