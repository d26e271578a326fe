// JSON.parse of only the parts of a document a caller reads. The rest is checked to be valid JSON
// and stepped over without building anything; such members are left out of the result. What is
// built is what JSON.parse would build (the same values, duplicate keys: the last wins), so code
// that reads only kept members cannot tell the two apart.

/**
 * Which members of an object to build: `true` builds the member whole, a nested shape builds
 * only that member's kept members (when it is an object; an array or scalar is built whole).
 * `"*"` applies to every member not named.
 */
export interface PruneShape {
  [key: string]: PruneShape | true | undefined;
}

class Unsure extends Error {}

/**
 * `JSON.parse(text)` keeping only the members `shape` names; undefined when the text is not a
 * JSON object or not one this reader is sure about (a `__proto__` key in a built object, nesting
 * too deep): the caller then parses it whole.
 */
export function parsePruned(text: string, shape: PruneShape): Record<string, unknown> | undefined {
  const r = new Reader(text);
  startDocument(text);
  try {
    r.space();
    if (text.charCodeAt(r.pos) !== 0x7b) return undefined;
    const value = r.object(shape, 0);
    r.space();
    if (r.pos !== text.length) return undefined;
    return value;
  } catch (err) {
    if (err instanceof Unsure || err instanceof RangeError) return undefined;
    throw err;
  }
}

const MAX_DEPTH = 512;

let sawEscape = false;
// Set per document: whether it holds no control character (then a string ends at the next quote
// unless a backslash comes first), and where the next backslash is (-1: none left).
let controlFree = false;
let backslashAt = -1;
// eslint-disable-next-line no-control-regex -- JSON forbids these raw in strings
const CONTROL = /[\u0000-\u001f]/;

function startDocument(t: string): void {
  controlFree = !CONTROL.test(t);
  backslashAt = t.indexOf("\\");
}

/** The index after the string whose quote is at `p`, or -1 when it is not valid JSON; sets sawEscape. */
function stringEnd(t: string, p: number): number {
  sawEscape = false;
  if (controlFree) {
    // Compact JSON as the API server writes it: the common string has no escape, and a native
    // search finds its end.
    const q = t.indexOf('"', p + 1);
    if (q < 0) return -1;
    if (backslashAt !== -1 && backslashAt <= p) backslashAt = t.indexOf("\\", p + 1);
    if (backslashAt === -1 || backslashAt > q) return q + 1;
  }
  for (;;) {
    const c = t.charCodeAt(++p);
    if (c === 0x22) return p + 1;
    if (c >= 0x20 && c !== 0x5c) continue;
    if (c !== 0x5c) return -1; // raw control character, or the text ended inside the string (NaN)
    sawEscape = true;
    const e = t.charCodeAt(p + 1);
    if (e === 0x75) {
      for (let i = p + 2; i < p + 6; i++) if (!isHex(t.charCodeAt(i))) return -1;
      p += 5;
    } else if (
      e === 0x22 ||
      e === 0x5c ||
      e === 0x2f ||
      e === 0x62 ||
      e === 0x66 ||
      e === 0x6e ||
      e === 0x72 ||
      e === 0x74
    ) {
      p += 1;
    } else return -1;
  }
}

/** The index after the number at `p`, or -1. */
function numberEnd(t: string, p: number): number {
  if (t.charCodeAt(p) === 0x2d) p++;
  const first = t.charCodeAt(p);
  if (first === 0x30) p++;
  else if (first >= 0x31 && first <= 0x39) while (isDigit(t.charCodeAt(++p)));
  else return -1;
  if (t.charCodeAt(p) === 0x2e) {
    if (!isDigit(t.charCodeAt(++p))) return -1;
    while (isDigit(t.charCodeAt(++p)));
  }
  const e = t.charCodeAt(p);
  if (e === 0x65 || e === 0x45) {
    const s = t.charCodeAt(++p);
    if (s === 0x2b || s === 0x2d) p++;
    if (!isDigit(t.charCodeAt(p))) return -1;
    while (isDigit(t.charCodeAt(++p)));
  }
  return p;
}

/** The index after JSON whitespace (space, tab, LF, CR: not all that JavaScript calls space) at `p`. */
function spaceEnd(t: string, p: number): number {
  for (;;) {
    const c = t.charCodeAt(p);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
    else return p;
  }
}

/** The index after the scalar (string, number, literal) at `p`, or -1. */
function scalarEnd(t: string, p: number, c: number): number {
  if (c === 0x22) return stringEnd(t, p);
  if (c === 0x74) return t.startsWith("true", p) ? p + 4 : -1;
  if (c === 0x66) return t.startsWith("false", p) ? p + 5 : -1;
  if (c === 0x6e) return t.startsWith("null", p) ? p + 4 : -1;
  return numberEnd(t, p);
}

/**
 * The index after the value at `p`, checked to be valid JSON and built into nothing, or -1.
 * Iterative, so that nesting costs no stack.
 */
function valueEnd(t: string, p: number): number {
  // The closers of the containers open around `p`: 0x7d for an object, 0x5d for an array.
  const open: number[] = [];
  for (;;) {
    p = spaceEnd(t, p);
    const c = t.charCodeAt(p);
    if (c === 0x7b || c === 0x5b) {
      if (open.length > MAX_DEPTH * 8) return -1;
      const close = c + 2; // { → }, [ → ]
      p = spaceEnd(t, p + 1);
      if (t.charCodeAt(p) !== close) {
        open.push(close);
        if (close === 0x7d && (p = memberEnd(t, p)) < 0) return -1;
        continue; // the first value (of an array) or member value (of an object)
      }
      p++;
    } else if ((p = scalarEnd(t, p, c)) < 0) return -1;
    // After a value: a comma continues the innermost container, its closer ends it.
    for (;;) {
      if (open.length === 0) return p;
      p = spaceEnd(t, p);
      const d = t.charCodeAt(p++);
      const close = open[open.length - 1]!;
      if (d === close) {
        open.pop();
        continue;
      }
      if (d !== 0x2c) return -1;
      if (close === 0x7d && (p = memberEnd(t, p)) < 0) return -1;
      break;
    }
  }
}

/** The index after an object member's key and colon at `p` (before its value), or -1. */
function memberEnd(t: string, p: number): number {
  p = spaceEnd(t, p);
  if (t.charCodeAt(p) !== 0x22 || (p = stringEnd(t, p)) < 0) return -1;
  p = spaceEnd(t, p);
  return t.charCodeAt(p) === 0x3a ? p + 1 : -1;
}

/** Builds the kept parts; any doubt throws Unsure. */
class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  fail(): never {
    throw new Unsure();
  }

  space(): void {
    this.pos = spaceEnd(this.text, this.pos);
  }

  string(): string {
    const start = this.pos;
    if (this.text.charCodeAt(start) !== 0x22) this.fail();
    const end = stringEnd(this.text, start);
    if (end < 0) this.fail();
    this.pos = end;
    // Escapes are rare: JSON.parse of the checked literal decodes them exactly as JSON.parse would.
    return sawEscape
      ? (JSON.parse(this.text.slice(start, end)) as string)
      : this.text.slice(start + 1, end - 1);
  }

  /** A value built whole (shape `true`), or pruned by `shape` when it is an object. */
  value(shape: PruneShape | true, depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail();
    const t = this.text;
    const start = this.pos;
    const c = t.charCodeAt(start);
    if (c === 0x7b) return this.object(shape === true ? undefined : shape, depth + 1);
    if (c === 0x5b) {
      this.pos++;
      const out: unknown[] = [];
      this.space();
      if (t.charCodeAt(this.pos) === 0x5d) {
        this.pos++;
        return out;
      }
      for (;;) {
        this.space();
        out.push(this.value(true, depth + 1));
        this.space();
        const d = t.charCodeAt(this.pos++);
        if (d === 0x5d) return out;
        if (d !== 0x2c) this.fail();
      }
    }
    if (c === 0x22) return this.string();
    const end = scalarEnd(t, start, c);
    if (end < 0) this.fail();
    this.pos = end;
    if (c === 0x74) return true;
    if (c === 0x66) return false;
    if (c === 0x6e) return null;
    return Number(t.slice(start, end));
  }

  /** An object at `pos`; with a shape, only its members are built (all of them without one). */
  object(shape: PruneShape | undefined, depth: number): Record<string, unknown> {
    const t = this.text;
    this.pos++; // {
    const out: Record<string, unknown> = {};
    this.space();
    if (t.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.space();
      const key = this.string();
      this.space();
      if (t.charCodeAt(this.pos) !== 0x3a) this.fail();
      this.pos = spaceEnd(t, this.pos + 1);
      const want = shape === undefined ? true : Object.hasOwn(shape, key) ? shape[key] : shape["*"];
      if (want === undefined) {
        if ((this.pos = valueEnd(t, this.pos)) < 0) this.fail();
      } else {
        // JSON.parse makes "__proto__" an own member; assignment would set the prototype.
        if (key === "__proto__") this.fail();
        out[key] = this.value(want, depth);
      }
      this.space();
      const d = t.charCodeAt(this.pos++);
      if (d === 0x7d) return out;
      if (d !== 0x2c) this.fail();
    }
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
