import { describe, expect, it } from "vitest";
import { createReplyBatch } from "../../../controller/webhook/reply-batch.js";

describe("reply batch", () => {
  it("writes a turn's answers together, in order, after the turn's own work", async () => {
    const errors: unknown[] = [];
    const batch = createReplyBatch((e) => errors.push(e));
    const seen: string[] = [];
    batch(() => seen.push("a"));
    seen.push("review 2");
    batch(() => seen.push("b"));
    seen.push("review 3");
    expect(seen).toEqual(["review 2", "review 3"]);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(["review 2", "review 3", "a", "b"]);
    expect(errors).toEqual([]);
  });

  it("a write that throws is reported and the others still go out", async () => {
    const errors: unknown[] = [];
    const batch = createReplyBatch((e) => errors.push(e));
    const seen: string[] = [];
    batch(() => seen.push("a"));
    batch(() => {
      throw new Error("socket gone");
    });
    batch(() => seen.push("c"));
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(["a", "c"]);
    expect(errors.map((e) => (e as Error).message)).toEqual(["socket gone"]);
    // The next turn starts a new batch.
    batch(() => seen.push("d"));
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(["a", "c", "d"]);
  });
});
