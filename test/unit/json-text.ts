// JSON texts of a value written the many ways JSON allows: escapes anywhere in strings (`\/`,
// `\u0063`), whitespace between tokens, numbers with exponents, and duplicate keys whose last
// occurrence wins. JSON.parse of any of them gives the value back.

/** A small seeded generator (mulberry32), so that fast-check can replay a text from its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function space(r: () => number): string {
  return r() < 0.75 ? "" : [" ", "\n", "\t", "\r\n", "  "][Math.floor(r() * 5)]!;
}

/** A string literal, each character written plainly or escaped at random. */
export function stringLiteral(s: string, r: () => number): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const roll = r();
    if (roll < 0.12) {
      const hex = ch.charCodeAt(0).toString(16).padStart(4, "0");
      out += `\\u${r() < 0.5 ? hex : hex.toUpperCase()}`;
    } else if (ch === "/" && roll < 0.6) out += "\\/";
    else out += JSON.stringify(ch).slice(1, -1);
  }
  return `${out}"`;
}

function numberLiteral(n: number, r: () => number): string {
  const s = JSON.stringify(n);
  if (Number.isInteger(n) && Math.abs(n) < 1e15 && r() < 0.2) return `${s}.0E+0`;
  return s;
}

/** `value` as a JSON text written at random (by `r`) among the ways JSON allows. */
export function jsonText(value: unknown, r: () => number): string {
  if (value === undefined || value === null) return "null";
  if (typeof value === "string") return stringLiteral(value, r);
  if (typeof value === "number") return numberLiteral(value, r);
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    const items = value.map((v) => space(r) + jsonText(v, r) + space(r));
    return `[${items.join(",")}${items.length === 0 ? space(r) : ""}]`;
  }
  const members: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    // A decoy first: JSON.parse keeps the last of duplicate keys.
    if (r() < 0.05) members.push(`${stringLiteral(k, r)}:${jsonText({ decoy: [1] }, r)}`);
    members.push(`${space(r)}${stringLiteral(k, r)}${space(r)}:${space(r)}${jsonText(v, r)}`);
  }
  return `{${members.join(",")}${space(r)}}`;
}

/** A text that is usually not JSON any more: cut short, or a character changed or inserted. */
export function damaged(text: string, r: () => number): string {
  const at = Math.floor(r() * (text.length + 1));
  const roll = r();
  if (roll < 0.4) return text.slice(0, at);
  const junk = ['"', "\\", "\u0001", "}", "]", ",", ":", "x", "1", "\n", "\uFEFF"][
    Math.floor(r() * 11)
  ]!;
  if (roll < 0.7) return text.slice(0, at) + junk + text.slice(at + 1);
  return text.slice(0, at) + junk + text.slice(at);
}
