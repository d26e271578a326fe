// The per-request decision lines, formatted straight from their fields. They are the lines pino
// would print (through the logfmt conversion for logfmt), without pino serialising the record to
// JSON and the conversion parsing it back: on the admission hot path that round trip cost more
// than the decision itself.
import { formatLogfmt } from "../../src/logfmt.js";
import type { LogFormat, Logger } from "../log.js";

/* eslint-disable no-control-regex -- the same character classes as src/logfmt.ts */
// A value logfmt prints as is, and one it quotes without escaping anything (src/logfmt.ts's rules).
const PLAIN = /^[^\s"=\\\u0000-\u001f\u007f]+$/;
const NEEDS_ESCAPE = /[\\"\u0000-\u001f\u007f]/;
const PLAIN_KEY = /^[^\s"=]+$/;

/** src/logfmt.ts's rendering of a string, or undefined when it needs escapes. */
function plainQuote(v: string): string | undefined {
  if (v !== "" && PLAIN.test(v)) return v;
  return NEEDS_ESCAPE.test(v) ? undefined : `"${v}"`;
}

/**
 * formatLogfmt({ time, level, msg, ...fields }), built directly in the common case (no escapes,
 * plain keys), else by formatLogfmt itself.
 */
export function logfmtLine(time: string, level: string, msg: string, fields: LineFields): string {
  const t = plainQuote(time);
  const l = plainQuote(level);
  const m = plainQuote(msg);
  if (t !== undefined && l !== undefined && m !== undefined) {
    let out = `time=${t} level=${l} msg=${m}`;
    let ok = true;
    for (const key in fields) {
      if (key === "time" || key === "level" || key === "msg" || !PLAIN_KEY.test(key)) {
        ok = false;
        break;
      }
      const v = fields[key];
      if (v === undefined) continue;
      const r = typeof v === "string" ? plainQuote(v) : String(v);
      if (r === undefined) {
        ok = false;
        break;
      }
      out += ` ${key}=${r}`;
    }
    if (ok) return out;
  }
  return formatLogfmt({ time, level, msg, ...fields });
}

/** pino's JSON line: level, time, the fields in their order (undefined ones left out), msg. */
export function jsonLine(level: string, time: string, msg: string, fields: LineFields): string {
  let out = `{"level":${JSON.stringify(level)},"time":${JSON.stringify(time)}`;
  for (const key in fields) {
    const v = fields[key];
    if (v !== undefined) out += `,${JSON.stringify(key)}:${JSON.stringify(v)}`;
  }
  return `${out},"msg":${JSON.stringify(msg)}}`;
}

export type LineLevel = "debug" | "info" | "warn" | "error";
/** A line's fields; `time`, `level` and `msg` are the line's own (pino's rules for them differ). */
export type LineFields = Record<string, string | number | boolean | undefined>;
/** Logs one line at `level` (if enabled): the record `{ ...fields, msg }`. */
export type LineLog = (level: LineLevel, fields: LineFields, msg: string) => void;

/**
 * Lines written to `write`, the function `log` writes to, in `format` (the format `log` was made
 * with); `log` decides the level, so a level change applies to both.
 */
export function createLineLog(
  log: Logger,
  format: LogFormat,
  write: (line: string) => void,
): LineLog {
  // pino's isoTime, computed once per millisecond.
  let lastMs = -1;
  let lastIso = "";
  const now = (): string => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    return lastIso;
  };
  if (format === "json") {
    return (level, fields, msg) => {
      if (log.isLevelEnabled(level)) write(`${jsonLine(level, now(), msg, fields)}\n`);
    };
  }
  return (level, fields, msg) => {
    if (log.isLevelEnabled(level)) write(`${logfmtLine(now(), level, msg, fields)}\n`);
  };
}

/** The same lines through pino, for callers that only have a logger. */
export function pinoLineLog(log: Logger): LineLog {
  return (level, fields, msg) => log[level](fields, msg);
}
