// One file-naming style across the code: lower-case words joined by hyphens (kebab-case), React components too.
import { execFileSync } from "node:child_process";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z]+)*$/;
/** Names others choose: kubectl finds plugin completion as kubectl_complete-<plugin>. */
const PRESCRIBED = new Set(["kubectl_complete-coredog"]);

it("every source file and folder of the code is named in kebab-case", () => {
  const files = execFileSync(
    "git",
    ["ls-files", "--", "src", "controller", "plugin", "test", "scripts", "bin"],
    { cwd: root, encoding: "utf8" },
  )
    .split("\n")
    .filter((f) => f !== "" && !f.startsWith("test/fixtures/") && basename(f) !== "README.md");
  expect(files.length).toBeGreaterThan(100);
  const parts = new Set(files.flatMap((f) => f.split("/")));
  expect([...parts].filter((p) => !KEBAB.test(p) && !PRESCRIBED.has(p))).toEqual([]);
});
