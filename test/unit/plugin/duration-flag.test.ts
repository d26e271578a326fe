import { describe, expect, it } from "vitest";
import { durationFlagMs } from "../../../plugin/lib/base.js";
import { UserError } from "../../../plugin/lib/errors.js";

describe("durationFlagMs", () => {
  it("reads a duration flag in milliseconds, undefined when absent", () => {
    expect(durationFlagMs("since", "90m")).toBe(90 * 60_000);
    expect(durationFlagMs("older-than", "2d")).toBe(2 * 86_400_000);
    expect(durationFlagMs("since", undefined)).toBeUndefined();
  });

  it("refuses what is not a duration with the flag's name and an example", () => {
    let err: unknown;
    try {
      durationFlagMs("older-than", "soon");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe('--older-than "soon" is not a duration');
    expect((err as UserError).hint).toBe("write e.g. 30m, 24h or 7d");
  });
});
