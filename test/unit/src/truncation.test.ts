import { describe, expect, it } from "vitest";
import { describeTruncation, truncationText } from "../../../src/truncation.js";

describe("describeTruncation", () => {
  it("names the core size limit when the process's limit is below the core's length", () => {
    const t = describeTruncation({
      bytes: 118784,
      expected: 565248,
      coreLimit: 102400,
      freeBytes: 1e9,
    });
    expect(t.cause).toBe("core-size-limit");
    expect(truncationText(t)).toBe(
      "118784 of 565248 bytes: the process's core size limit (ulimit -c) was 102400 bytes",
    );
  });

  it("names a full filesystem when less is free than is missing", () => {
    const t = describeTruncation({ bytes: 4096, expected: 565248, freeBytes: 0 });
    expect(t.cause).toBe("disk-full");
    expect(truncationText(t)).toMatch(
      /^4096 of 565248 bytes: .*filesystem .* is full \(0 bytes free\)/,
    );
  });

  it("says it does not know when neither clue fits (a limit above the length, room on the disk)", () => {
    const t = describeTruncation({
      bytes: 4096,
      expected: 565248,
      coreLimit: 10_000_000,
      freeBytes: 10_000_000,
    });
    expect(t.cause).toBe("unknown");
    expect(t.reason).toMatch(/stopped early/);
  });

  it("speaks of a core cut inside its headers without an expected length", () => {
    const t = describeTruncation({ bytes: 40 });
    expect(truncationText(t)).toMatch(/^40 bytes, cut inside its headers: /);
  });
});
