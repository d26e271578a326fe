import { describe, expect, it } from "vitest";
import { fitMessage, trimBrokenMarkup, utf8Bytes } from "../../../src/message-fit.js";

describe("fitMessage", () => {
  it("leaves a message that fits alone", () => {
    expect(fitMessage("short", 100)).toBe("short");
  });

  it("keeps the download link whole and in place, cuts the long line, drops later plain lines", () => {
    const text = [
      "[shop/api] core: core.1",
      "x".repeat(500),
      "download: https://s3.example/b/k?X-Amz-Signature=0123456789abcdef",
      "y".repeat(500),
      "size: 1",
    ].join("\n");
    const out = fitMessage(text, 300);
    expect(utf8Bytes(out)).toBeLessThanOrEqual(300);
    expect(out.split("\n")[0]).toBe("[shop/api] core: core.1");
    expect(out).toContain("download: https://s3.example/b/k?X-Amz-Signature=0123456789abcdef");
    expect(out).toContain("…(truncated)");
    expect(out).not.toContain("size: 1");
  });

  it("never splits a multi-byte character", () => {
    const out = fitMessage("崩溃".repeat(100), 50);
    expect(utf8Bytes(out)).toBeLessThanOrEqual(50);
    expect(out).not.toContain("\ufffd");
    expect(out.startsWith("崩溃")).toBe(true);
  });

  it("closes a code fence that the cut leaves open", () => {
    const text = [
      "```",
      ...Array.from({ length: 50 }, (_, i) => `frame #${i} in foo()`),
      "```",
    ].join("\n");
    const out = fitMessage(text, 200);
    expect(utf8Bytes(out)).toBeLessThanOrEqual(200);
    expect(out.split("\n").filter((l) => l.startsWith("```"))).toHaveLength(2);
    expect(out.endsWith("```")).toBe(true);
  });

  it("measures as the provider does (JSON-encoded for a body limit)", () => {
    const text = '"quoted"\n'.repeat(40);
    const json = (s: string) => utf8Bytes(JSON.stringify(s));
    expect(json(fitMessage(text, 200, json))).toBeLessThanOrEqual(200);
  });
});

describe("trimBrokenMarkup", () => {
  it("takes off a half link, half inline code, half bold, a lone escape, a half Slack link", () => {
    expect(trimBrokenMarkup("see [the core](https://s3.exa")).toBe("see");
    expect(trimBrokenMarkup("see [the co")).toBe("see");
    expect(trimBrokenMarkup("run `gdb /usr/b")).toBe("run");
    expect(trimBrokenMarkup("a **bold wor")).toBe("a");
    expect(trimBrokenMarkup("a\\")).toBe("a");
    expect(trimBrokenMarkup("x <https://a.b|down")).toBe("x");
    expect(trimBrokenMarkup("plain https://s3.example/b/k?X-Amz")).toBe("plain");
    expect(trimBrokenMarkup("whole [a](b) and `c`")).toBe("whole [a](b) and `c`");
  });
});
