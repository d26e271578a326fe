import { describe, expect, it } from "vitest";
import { errorText } from "../../../src/error-text.js";

describe("errorText", () => {
  it("an API error: its code and the API server's message", () => {
    const err = Object.assign(new Error("HTTP-Code: 404"), {
      code: 404,
      body: JSON.stringify({ kind: "Status", message: 'pods "api-1" not found' }),
    });
    expect(errorText(err)).toBe('HTTP 404: pods "api-1" not found');
    expect(errorText({ code: 503, body: "upstream connect error" })).toBe(
      "HTTP 503: upstream connect error",
    );
    expect(errorText({ code: 500, body: "x".repeat(500) })).toHaveLength("HTTP 500: ".length + 200);
  });
  it("an Error: its message; anything else: as text", () => {
    expect(errorText(new Error("ENOENT: no such file"))).toBe("ENOENT: no such file");
    expect(errorText("plain")).toBe("plain");
    expect(errorText(undefined)).toBe("undefined");
    // A Node system error has a string code, not an HTTP one.
    expect(errorText(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }))).toBe(
      "refused",
    );
  });
});
