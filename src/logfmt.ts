/* eslint-disable no-control-regex -- logfmt must escape control characters */
// One log record as a logfmt line: `time=... level=info msg="..." key=value`.

const LEADING_KEYS = ["time", "level", "msg"] as const;

function quote(value: string): string {
  if (value !== "" && /^[^\s"=\\\u0000-\u001f\u007f]+$/.test(value)) return value;
  const escaped = value
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t")
    .replace(
      /[\u0000-\u001f\u007f]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
  return `"${escaped}"`;
}

function render(value: unknown): string {
  if (value === null || value === undefined) return quote("");
  if (typeof value === "string") return quote(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return String(value);
  }
  return quote(JSON.stringify(value));
}

function safeKey(key: string): string {
  const cleaned = key.replace(/[\s"=]/g, "_");
  return cleaned === "" ? "_" : cleaned;
}

export function formatLogfmt(record: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const key of LEADING_KEYS) {
    if (key in record) parts.push(`${key}=${render(record[key])}`);
  }
  for (const [key, value] of Object.entries(record)) {
    if ((LEADING_KEYS as readonly string[]).includes(key) || value === undefined) continue;
    parts.push(`${safeKey(key)}=${render(value)}`);
  }
  return parts.join(" ");
}
