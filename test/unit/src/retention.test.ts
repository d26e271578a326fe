import { describe, expect, it } from "vitest";
import { expiredRecords } from "../../../src/retention.js";

const r = (name: string, day: number, fingerprint = "f1", namespace = "shop") => ({
  namespace,
  name,
  fingerprint,
  crashedAt: new Date(Date.UTC(2026, 11, day)).toISOString(),
});
const NOW = Date.UTC(2026, 11, 31);

describe("retention", () => {
  it("keeps everything without limits", () => {
    expect(expiredRecords([r("a", 1), r("b", 2)], {}, NOW)).toEqual([]);
  });

  it("deletes records older than maxAge, and only those", () => {
    const out = expiredRecords([r("old", 1), r("new", 30)], { maxAgeMs: 10 * 86_400_000 }, NOW);
    expect(out.map((e) => e.record.name)).toEqual(["old"]);
    expect(out[0]!.reason).toBe("older than 240h");
  });

  it("keeps the newest maxPerFingerprint of each fingerprint, across namespaces", () => {
    const recs = [r("a1", 1), r("a3", 3), r("a2", 2, "f1", "other"), r("b1", 1, "f2")];
    const out = expiredRecords(recs, { maxPerFingerprint: 2 }, NOW);
    expect(out.map((e) => e.record.name)).toEqual(["a1"]);
    expect(out[0]!.reason).toBe("more than 2 cores of fingerprint f1");
  });

  it("names a record once when both limits apply", () => {
    const out = expiredRecords(
      [r("a", 1), r("b", 2), r("c", 30)],
      { maxAgeMs: 86_400_000, maxPerFingerprint: 1 },
      NOW,
    );
    expect(out.map((e) => e.record.name).sort()).toEqual(["a", "b"]);
  });
});
