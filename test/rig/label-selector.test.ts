import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { labelSelectorMatches } from "../../src/label-selector.js";
import {
  formatSelector,
  matches,
  matchesSelectorObject,
  matchesWorkloadSelector,
  parseSelector,
  requirementsOf,
  SelectorSyntaxError,
  type LabelSelectorObject,
} from "./label-selector.js";

const sel = (s: string, labels: Record<string, string>) => matches(parseSelector(s), labels);

describe("rig label selectors: strings", () => {
  const labels = { app: "web", tier: "front", empty: "" };

  it("equality and inequality", () => {
    expect(sel("app=web", labels)).toBe(true);
    expect(sel("app==web", labels)).toBe(true);
    expect(sel("app=db", labels)).toBe(false);
    expect(sel("app!=db", labels)).toBe(true);
    expect(sel("app!=web", labels)).toBe(false);
    // != holds for a missing key, = does not.
    expect(sel("zone!=a", labels)).toBe(true);
    expect(sel("zone=a", labels)).toBe(false);
    expect(sel("empty=", labels)).toBe(true);
  });

  it("set-based in and notin", () => {
    expect(sel("app in (db,web)", labels)).toBe(true);
    expect(sel("app in (db)", labels)).toBe(false);
    expect(sel("zone in (a,b)", labels)).toBe(false);
    expect(sel("app notin (db)", labels)).toBe(true);
    expect(sel("app notin (db, web)", labels)).toBe(false);
    expect(sel("zone notin (a)", labels)).toBe(true);
  });

  it("exists and !exists", () => {
    expect(sel("app", labels)).toBe(true);
    expect(sel("zone", labels)).toBe(false);
    expect(sel("!zone", labels)).toBe(true);
    expect(sel("!app", labels)).toBe(false);
  });

  it("requirements are ANDed; commas inside parentheses do not split", () => {
    expect(sel("app in (db,web),tier=front,!zone", labels)).toBe(true);
    expect(sel("app in (db,web),tier=back", labels)).toBe(false);
    expect(parseSelector("a in (x,y),b")).toEqual([
      { key: "a", op: "in", values: ["x", "y"] },
      { key: "b", op: "exists" },
    ]);
  });

  it("empty selects everything, also unlabelled objects", () => {
    expect(sel("", labels)).toBe(true);
    expect(matches(parseSelector(null), undefined)).toBe(true);
    expect(matches(parseSelector("app"), undefined)).toBe(false);
  });

  it("refuses what it cannot read with kube-apiserver's message", () => {
    expect(() => parseSelector("a b")).toThrow(SelectorSyntaxError);
    expect(() => parseSelector("a in x")).toThrow(
      "unable to parse requirement: found 'a in x', expected: identifier",
    );
  });
});

describe("rig label selectors: LabelSelector objects", () => {
  const labels = { app: "web", tier: "front" };

  it("matchLabels and every operator of matchExpressions", () => {
    expect(matchesSelectorObject({ matchLabels: { app: "web" } }, labels)).toBe(true);
    expect(matchesSelectorObject({ matchLabels: { app: "web", tier: "back" } }, labels)).toBe(
      false,
    );
    const expr = (operator: string, values?: string[]) =>
      matchesSelectorObject({ matchExpressions: [{ key: "app", operator, values }] }, labels);
    expect(expr("In", ["web", "db"])).toBe(true);
    expect(expr("In", ["db"])).toBe(false);
    expect(expr("NotIn", ["db"])).toBe(true);
    expect(expr("NotIn", ["web"])).toBe(false);
    expect(expr("Exists")).toBe(true);
    expect(expr("DoesNotExist")).toBe(false);
    expect(
      matchesSelectorObject(
        { matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] },
        labels,
      ),
    ).toBe(true);
  });

  it("an unknown operator selects nothing", () => {
    const s = { matchExpressions: [{ key: "app", operator: "Matches", values: ["web"] }] };
    expect(requirementsOf(s)).toBeUndefined();
    expect(matchesSelectorObject(s, labels)).toBe(false);
    expect(matchesWorkloadSelector(s, labels)).toBe(false);
  });

  it("absent: a webhook selector selects everything, a workload selector nothing", () => {
    expect(matchesSelectorObject(undefined, labels)).toBe(true);
    expect(matchesSelectorObject({}, labels)).toBe(true);
    expect(matchesWorkloadSelector(undefined, labels)).toBe(false);
    expect(matchesWorkloadSelector({}, labels)).toBe(false);
    expect(matchesWorkloadSelector({ matchLabels: { app: "web" } }, labels)).toBe(true);
  });
});

// Few keys and values, so that generated selectors and labels often meet.
const key = fc.constantFrom("app", "tier", "example.com/zone", "k");
const value = fc.constantFrom("", "a", "b", "web", "x-1");
const labelsArb = fc.dictionary(key, value, { maxKeys: 4 });
const expression = fc.oneof(
  fc.record({
    key,
    operator: fc.constantFrom("In", "NotIn"),
    values: fc.uniqueArray(value, { maxLength: 3 }),
  }),
  fc.record({ key, operator: fc.constantFrom("Exists", "DoesNotExist") }),
);
const selectorArb: fc.Arbitrary<LabelSelectorObject> = fc.record(
  {
    matchLabels: fc.dictionary(key, value, { maxKeys: 3 }),
    matchExpressions: fc.array(expression, { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

describe("rig and product label selectors agree", () => {
  it("on LabelSelector objects", () => {
    let matched = 0;
    fc.assert(
      fc.property(selectorArb, labelsArb, (s, l) => {
        const product = labelSelectorMatches(s, l);
        if (product) matched++;
        expect(matchesSelectorObject(s, l)).toBe(product);
      }),
      { numRuns: 2000 },
    );
    // Both outcomes were exercised, not only the easy one.
    expect(matched).toBeGreaterThan(100);
    expect(matched).toBeLessThan(1900);
  });

  it("on the string form of the same selectors", () => {
    // kube-apiserver refuses an empty value set in the string form; the object form allows it.
    const nonEmptySets = selectorArb.filter((s) =>
      (s.matchExpressions ?? []).every((e) => !("values" in e) || (e.values ?? []).length > 0),
    );
    fc.assert(
      fc.property(nonEmptySets, labelsArb, (s, l) => {
        const text = formatSelector(requirementsOf(s)!);
        expect(matches(parseSelector(text), l)).toBe(labelSelectorMatches(s, l));
      }),
      { numRuns: 2000 },
    );
  });

  it("on an unknown operator", () => {
    const s = { matchExpressions: [{ key: "app", operator: "Gt", values: ["1"] }] };
    expect(matchesSelectorObject(s, { app: "2" })).toBe(labelSelectorMatches(s, { app: "2" }));
  });
});
