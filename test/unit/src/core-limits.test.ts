import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  closeWindows,
  crashKey,
  decide,
  deletionOrder,
  diskPressure,
  emptyRateState,
  fallbackCrashKey,
  planDeletions,
  type LocalCore,
} from "../../../src/core-limits.js";

const rule = { max: 2, windowMs: 10_000 };

describe("crash keys", () => {
  it("uses the fingerprint when there is one, else workload + executable + signal", () => {
    const parts = {
      namespace: "shop",
      owner: { kind: "ReplicaSet", name: "api-6f7" },
      pod: "api-6f7-x1",
      executable: "api",
      signal: 11,
    };
    expect(crashKey("ab12", parts)).toBe("fp:ab12");
    expect(crashKey(undefined, parts)).toBe("workload:shop/ReplicaSet/api-6f7|exe:api|sig:11");
    // two pods of one ReplicaSet are one crash; a bare pod is its own workload
    expect(fallbackCrashKey({ ...parts, pod: "api-6f7-x2" })).toBe(fallbackCrashKey(parts));
    expect(fallbackCrashKey({ namespace: "shop", pod: "solo", executable: "a", signal: 6 })).toBe(
      "workload:shop/Pod/solo|exe:a|sig:6",
    );
    expect(fallbackCrashKey({ ...parts, signal: 6 })).not.toBe(fallbackCrashKey(parts));
  });
});

describe("rate limit per crash", () => {
  it("stores N per window, skips and counts the rest, announces the window once it ends", () => {
    const s = emptyRateState();
    const d = (t: number) => decide(s, "k", t, rule, "crash k", { namespace: "ns", pod: "p" });
    expect(d(0).store).toBe(true);
    expect(d(1000).store).toBe(true);
    const third = d(2000);
    expect(third).toMatchObject({ store: false, firstSkip: true });
    expect(d(3000)).toMatchObject({ store: false, firstSkip: false, window: { skipped: 2 } });
    expect(closeWindows(s, 9999, rule)).toEqual([]);
    const next = d(10_000); // a new window: stored again, the old one is handed back to announce
    expect(next.store).toBe(true);
    expect(next.closed).toMatchObject({ key: "k", skipped: 2, stored: 2, end: 10_000 });
    d(11_000);
    d(12_000);
    expect(closeWindows(s, 20_000, rule)).toMatchObject([{ key: "k", skipped: 1 }]);
    expect(s.windows).toEqual({});
  });

  it("property: never more than N stored per window and key; every core stored or skipped; every skip announced once", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("a", "b", "c"), fc.integer({ min: 0, max: 4000 })), {
          maxLength: 200,
        }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1000, max: 20_000 }),
        (steps, max, windowMs) => {
          const r = { max, windowMs };
          const s = emptyRateState();
          let t = 0;
          let stored = 0;
          let skipped = 0;
          let announced = 0;
          const storedAt: Record<string, { start: number; n: number }> = {};
          for (const [key, dt] of steps) {
            t += dt;
            if (dt % 7 === 0) for (const c of closeWindows(s, t, r)) announced += c.skipped;
            const d = decide(s, key, t, r, key);
            if (d.closed) announced += d.closed.skipped;
            if (d.store) {
              stored++;
              const w = storedAt[key];
              if (!w || t - w.start >= windowMs) storedAt[key] = { start: d.window.start, n: 1 };
              else w.n++;
              expect(storedAt[key]!.n).toBeLessThanOrEqual(max);
            } else skipped++;
            expect(d.window.stored).toBeLessThanOrEqual(max);
          }
          for (const c of closeWindows(s, t + windowMs, r)) announced += c.skipped;
          expect(stored + skipped).toBe(steps.length);
          expect(announced).toBe(skipped);
        },
      ),
    );
  });
});

describe("node limits", () => {
  const limits = {
    perFingerprint: rule,
    maxUseBytes: 1000,
    keepFree: { percent: 10 },
  };
  it("says how much to free and why", () => {
    expect(diskPressure({ bytes: 900, fsSize: 100_000, fsFree: 50_000 }, limits)).toEqual({
      need: 0,
      reasons: [],
    });
    const over = diskPressure({ bytes: 1300, fsSize: 100_000, fsFree: 50_000 }, limits);
    expect(over.need).toBe(300);
    expect(over.reasons[0]).toMatch(/^MaxUse: 1300 bytes/);
    // KeepFree asks for 10000 free but only what is under the directory can be freed
    const full = diskPressure({ bytes: 800, fsSize: 100_000, fsFree: 2_000 }, limits);
    expect(full).toMatchObject({ need: 800 });
    expect(full.reasons[0]).toMatch(/^KeepFree: 2000 bytes free on the filesystem, limit 10000/);
    expect(
      diskPressure(
        { bytes: 800, fsSize: 100_000, fsFree: 2_000 },
        { perFingerprint: rule, keepFree: { bytes: 2_500 } },
      ).need,
    ).toBe(500);
  });

  const core = (id: string, key: string, at: number, stored = false, size = 10): LocalCore => ({
    id,
    key,
    at,
    stored,
    size,
  });

  it("deletes copies in storage, then duplicates of stored crashes, then later cores of a crash; keeps a crash's first", () => {
    const cores = [
      core("a1", "A", 1), // first of A (A not stored): kept
      core("a2", "A", 5),
      core("b1", "B", 2), // B stored before: duplicate
      core("b2", "B", 6),
      core("c1", "C", 3, true), // itself in storage
      core("d1", "D", 4), // the only core of D: kept
    ];
    const order = deletionOrder(cores, new Set(["B"])).map((c) => `${c.tier}:${c.core.id}`);
    expect(order).toEqual(["0:c1", "1:b1", "1:b2", "2:a2"]);
    expect(planDeletions(cores, new Set(["B"]), 15).map((c) => c.core.id)).toEqual(["c1", "b1"]);
    expect(planDeletions(cores, new Set(["B"]), 1e9).map((c) => c.core.id)).not.toContain("a1");
  });

  it("property: never the first core of a crash with nothing stored; tiers in order, oldest first; stops once enough is freed", () => {
    const arb = fc.uniqueArray(
      fc.record({
        id: fc.string({ minLength: 1, maxLength: 4 }),
        key: fc.constantFrom("A", "B", "C", "D"),
        at: fc.integer({ min: 0, max: 100 }),
        stored: fc.boolean(),
        size: fc.integer({ min: 1, max: 100 }),
      }),
      { selector: (c) => c.id, maxLength: 30 },
    );
    fc.assert(
      fc.property(
        arb,
        fc.subarray(["A", "B", "C", "D"]),
        fc.integer({ min: 0, max: 2000 }),
        (cores, storedList, need) => {
          const storedKeys = new Set(storedList);
          const plan = planDeletions(cores, storedKeys, need);
          const ids = new Set(plan.map((c) => c.core.id));
          for (const key of ["A", "B", "C", "D"]) {
            const mine = cores.filter((c) => c.key === key);
            if (storedKeys.has(key) || mine.some((c) => c.stored) || mine.length === 0) continue;
            const first = [...mine].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1))[0]!;
            expect(ids.has(first.id)).toBe(false);
          }
          for (let i = 1; i < plan.length; i++) {
            const [p, c] = [plan[i - 1]!, plan[i]!];
            expect(p.tier <= c.tier).toBe(true);
            if (p.tier === c.tier) expect(p.core.at <= c.core.at).toBe(true);
          }
          const freed = plan.reduce((n, c) => n + c.core.size, 0);
          const all = deletionOrder(cores, storedKeys);
          if (plan.length < all.length) expect(freed).toBeGreaterThanOrEqual(need);
          if (plan.length > 0) expect(freed - plan.at(-1)!.core.size).toBeLessThan(need);
        },
      ),
    );
  });
});
