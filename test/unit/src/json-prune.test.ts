// parsePruned against JSON.parse: what it accepts JSON.parse accepts, and the members it keeps are
// exactly JSON.parse's; what JSON.parse refuses it refuses.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parsePruned, type PruneShape } from "../../../src/json-prune.js";
import { damaged, jsonText, seeded } from "../json-text.js";

/** The reference: JSON.parse's value with only the shape's members. */
function prune(value: unknown, shape: PruneShape | true): unknown {
  if (shape === true || typeof value !== "object" || value === null || Array.isArray(value))
    return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const want = Object.hasOwn(shape, k) ? shape[k] : shape["*"];
    if (want !== undefined) out[k] = prune(v, want);
  }
  return out;
}

const shapes: PruneShape[] = [
  {},
  { "*": true },
  { a: true, b: { c: true, "*": { d: true } } },
  { b: { "*": true, c: undefined }, e: true },
];
const key = fc.constantFrom("a", "b", "c", "d", "e", "a/b", "é", "\u0001", "constructor");
const tree = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.jsonValue({ maxDepth: 1 }),
    fc.dictionary(key, tie("value"), { maxKeys: 4 }),
    fc.array(tie("value"), { maxLength: 3 }),
  ),
})).value;
const doc = fc.dictionary(key, tree, { maxKeys: 5 });

describe("parsePruned", () => {
  it("keeps exactly JSON.parse's members of whatever way the text is written", () => {
    fc.assert(
      fc.property(doc, fc.integer(), fc.constantFrom(...shapes), (value, seed, shape) => {
        const text = jsonText(value, seeded(seed));
        expect(parsePruned(text, shape)).toEqual(prune(JSON.parse(text), shape));
      }),
      { numRuns: 400 },
    );
  });

  it("refuses every text JSON.parse refuses, and agrees on the rest", () => {
    let refused = 0;
    fc.assert(
      fc.property(doc, fc.integer(), fc.constantFrom(...shapes), (value, seed, shape) => {
        const r = seeded(seed);
        const text = damaged(jsonText(value, r), r);
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          refused++;
          expect(parsePruned(text, shape)).toBeUndefined();
          return;
        }
        const got = parsePruned(text, shape);
        // Not an object at the top: the caller parses it whole.
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
          expect(got).toBeUndefined();
        else expect(got).toEqual(prune(parsed, shape));
      }),
      { numRuns: 600 },
    );
    expect(refused).toBeGreaterThan(200);
  });

  it("reads escapes in keys and values as JSON.parse does", () => {
    const text =
      '{"a\\/b":"\\u0063oredog.io\\/inject","\\u0061":{"x":1},"b":{"c":"\\ud83d\\ude00"}}';
    expect(parsePruned(text, { "*": true })).toEqual(JSON.parse(text));
    expect(parsePruned(text, { a: true })).toEqual({ a: { x: 1 } });
  });

  it("leaves a __proto__ member to JSON.parse, and skips one it does not keep", () => {
    expect(parsePruned('{"__proto__":{"x":1}}', { "*": true })).toBeUndefined();
    expect(parsePruned('{"__proto__":{"x":1},"a":2}', { a: true })).toEqual({ a: 2 });
  });

  it("refuses what JSON.parse refuses in skipped parts too", () => {
    for (const bad of [
      '{"a":1,"s":[1,2,}',
      '{"a":1,"s":"\u0001"}',
      '{"a":1,"s":"\\x"}',
      '{"a":1,"s":01}',
      '{"a":1,"s":1.}',
      '{"a":1,"s":tru}',
      '{"a":1,"s":{"k" 1}}',
      '{"a":1,"s":[1 2]}',
      '{"a":1,"s":"\\u12"}',
      '{"a":1} x',
      '\uFEFF{"a":1}',
      '{"a":1,"s":{"k":1]}',
    ]) {
      expect(() => JSON.parse(bad)).toThrow();
      expect(parsePruned(bad, { a: true }), bad).toBeUndefined();
    }
  });

  it("steps over deep nesting without building or overflowing", () => {
    const deep = `{"a":1,"s":${"[".repeat(3000)}${"]".repeat(3000)}}`;
    expect(parsePruned(deep, { a: true })).toEqual({ a: 1 });
  });
});
