import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createLogger } from "../../../controller/log.js";
import { createLineLog, logfmtLine, type LineFields } from "../../../controller/webhook/lines.js";
import { formatLogfmt } from "../../../src/logfmt.js";
import { logCollector } from "./helpers.js";

// Strings with the characters logfmt treats specially, so both paths of logfmtLine are taken.
const tricky = fc.string({
  unit: fc.constantFrom(
    "a",
    "Z",
    "0",
    "/",
    "-",
    " ",
    '"',
    "=",
    "\\",
    "\n",
    "\t",
    "\u0001",
    "é",
    "\u00a0",
    "*",
  ),
  maxLength: 12,
});
const value = fc.oneof(tricky, fc.integer(), fc.boolean(), fc.constant(undefined));
const key = fc.oneof(tricky, fc.constantFrom("pod", "path", "ops", "dryRun", "msg", "time"));
const fields = fc.dictionary(key, value, { maxKeys: 6 }) as fc.Arbitrary<LineFields>;
/**
 * What the program passes: never the line's own keys (pino has its own rules for them), and keys
 * without control characters (field names are words; pino's escaping of such keys varies from
 * one call to the next: a key "\t" came out as "\\" after some earlier records).
 */
const ownKeys = new Set(["time", "level", "msg"]);
const lineFields = fields.filter((f) =>
  Object.keys(f).every((k) => !ownKeys.has(k) && ![...k].some((c) => c < " ")),
);

/** The same line with its time field replaced, to compare lines written a millisecond apart. */
const timeless = (line: string) =>
  line.replace(/time=\S+/, "time=T").replace(/"time":"[^"]+"/, '"time":"T"');

describe("logfmtLine", () => {
  it("equals formatLogfmt of { time, level, msg, ...fields } for any fields", () => {
    fc.assert(
      fc.property(tricky, tricky, fields, (level, msg, f) => {
        const t = "2026-11-27T07:12:35.123Z";
        expect(logfmtLine(t, level, msg, f)).toBe(formatLogfmt({ time: t, level, msg, ...f }));
      }),
      { numRuns: 2000 },
    );
  });

  it("prints the usual decision line without quotes where none are needed", () => {
    expect(
      logfmtLine(
        "2026-11-27T07:12:35.123Z",
        "info",
        "inject core dump directory at /corefile into shop/api-*",
        {
          pod: "shop/api-*",
          path: "/corefile",
          initContainers: undefined,
          ops: 5,
        },
      ),
    ).toBe(
      'time=2026-11-27T07:12:35.123Z level=info msg="inject core dump directory at /corefile into shop/api-*" pod=shop/api-* path=/corefile ops=5',
    );
  });
});

describe("createLineLog", () => {
  for (const format of ["logfmt", "json"] as const) {
    it(`writes the line pino writes (${format})`, () => {
      fc.assert(
        fc.property(tricky, lineFields, (msg, f) => {
          const viaPino = logCollector();
          const direct = logCollector();
          const pinoLog = createLogger({ format, write: viaPino.write });
          const log = createLogger({ format, write: direct.write });
          pinoLog.info(f, msg);
          createLineLog(log, format, direct.write)("info", f, msg);
          expect(direct.lines.map(timeless)).toEqual(viaPino.lines.map(timeless));
        }),
        { numRuns: 300 },
      );
    });
  }

  it("follows the logger's level, also when it changes", () => {
    const out = logCollector();
    const log = createLogger({ level: "warn", write: out.write });
    const line = createLineLog(log, "logfmt", out.write);
    line("info", { pod: "a/b" }, "skip injection: no annotations");
    line("debug", { uid: "u" }, "admission request allowed unchanged");
    expect(out.lines).toEqual([]);
    log.level = "debug";
    line("info", { pod: "a/b" }, "skip injection: no annotations");
    line("debug", { uid: "u" }, "admission request allowed unchanged");
    expect(out.lines.map(timeless)).toEqual([
      'time=T level=info msg="skip injection: no annotations" pod=a/b',
      'time=T level=debug msg="admission request allowed unchanged" uid=u',
    ]);
  });
});
