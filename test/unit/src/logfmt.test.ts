import { describe, expect, it } from "vitest";
import { formatLogfmt } from "../../../src/logfmt.js";

describe("formatLogfmt", () => {
  it("puts time, level and msg first and quotes values with spaces", () => {
    expect(
      formatLogfmt({
        pod: "shop/api-1",
        msg: "received fsnotify event: /corefile/core.x, op: CREATE",
        level: "info",
        time: "2026-01-01T00:00:00.000Z",
      }),
    ).toBe(
      'time=2026-01-01T00:00:00.000Z level=info msg="received fsnotify event: /corefile/core.x, op: CREATE" pod=shop/api-1',
    );
  });

  it("escapes quotes, newlines and control characters so one record stays one line", () => {
    const line = formatLogfmt({ level: "warn", msg: 'a "b"\nc\u0007' });
    expect(line).toBe('level=warn msg="a \\"b\\"\\nc\\u0007"');
    expect(line).not.toContain("\n");
  });

  it("renders numbers, booleans, objects and empty strings", () => {
    expect(formatLogfmt({ n: 3, ok: true, o: { a: 1 }, e: "", u: undefined })).toBe(
      'n=3 ok=true o="{\\"a\\":1}" e=""',
    );
  });

  it("keeps keys free of spaces and equals signs", () => {
    expect(formatLogfmt({ "a b=c": 1 })).toBe("a_b_c=1");
  });
});
