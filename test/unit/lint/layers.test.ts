// The import rules that keep the layering: they must fail the lint (and so `npm test`) when broken.
import { ESLint } from "eslint";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const eslint = new ESLint({ cwd: root });

async function restricted(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

describe("layer boundaries", () => {
  it.each([
    ['import { readFileSync } from "node:fs";'],
    ['import { join } from "path";'],
    ['import type { Logger } from "../controller/log.js";'],
    ['import { x } from "../plugin/lib/kube.js";'],
  ])("src/ may not: %s", async (code) => {
    expect(await restricted("src/probe.ts", `${code}\nexport const y = 1;\n`)).toEqual([
      expect.stringContaining("src/ is free of I/O"),
    ]);
  });

  it("a module in a folder of src/ may import the rest of src/, and nothing outside it", async () => {
    const probe = (code: string) =>
      restricted("src/settings/probe.ts", `${code}\nexport const y = x;\n`);
    expect(await probe('import { errorText as x } from "../error-text.js";')).toEqual([]);
    expect(await probe('import { createLogger as x } from "../../controller/log.js";')).toEqual([
      expect.stringContaining("src/ is free of I/O"),
    ]);
    expect(await probe('import { readFileSync as x } from "node:fs";')).toEqual([
      expect.stringContaining("src/ is free of I/O"),
    ]);
  });

  it("src/ may import src/ and libraries", async () => {
    expect(
      await restricted(
        "src/probe.ts",
        'import { z } from "zod";\nimport { PATHS } from "./names.js";\nexport const y = [z, PATHS];\n',
      ),
    ).toEqual([]);
  });

  it("controller/ and plugin/ do not import each other; both may import src/", async () => {
    expect(
      await restricted(
        "controller/watcher/probe.ts",
        'import { x } from "../../plugin/lib/kube.js";\nexport const y = x;\n',
      ),
    ).toEqual([expect.stringContaining("the controller does not import the plugin")]);
    expect(
      await restricted(
        "plugin/lib/probe.ts",
        'import { x } from "../../controller/log.js";\nexport const y = x;\n',
      ),
    ).toEqual([expect.stringContaining("the plugin does not import the controller")]);
    expect(
      await restricted(
        "plugin/lib/probe.ts",
        'import { x } from "../../src/names.js";\nexport const y = x;\n',
      ),
    ).toEqual([]);
  });
});
