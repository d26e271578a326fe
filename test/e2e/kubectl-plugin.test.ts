import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const env = {
  ...process.env,
  PATH: `${path.join(root, "bin")}:${path.join(root, "node_modules/.bin")}:${process.env.PATH}`,
};

describe("kubectl plugin discovery", () => {
  it("real kubectl finds kubectl-coredog on PATH", () => {
    const out = execFileSync("kubectl", ["plugin", "list"], { env, encoding: "utf8" });
    expect(out).toContain(path.join(root, "bin", "kubectl-coredog"));
  });

  it("`kubectl coredog --help` lists the commands", () => {
    const out = execFileSync("kubectl", ["coredog", "--help"], { env, encoding: "utf8" });
    expect(out).toMatch(/USAGE/);
    expect(out).toMatch(/version/);
  });

  it("`kubectl coredog version` prints the version", () => {
    const out = execFileSync("kubectl", ["coredog", "version"], { env, encoding: "utf8" });
    expect(out).toMatch(/^kubectl-coredog \d+\.\d+\.\d+/);
  });

  it("under an old Node, runs with the Node the checkout carries (node_modules/node)", () => {
    const out = execFileSync(
      "/usr/bin/node",
      [path.join(root, "bin", "kubectl-coredog"), "version"],
      {
        encoding: "utf8",
        stdio: "pipe",
      },
    );
    expect(out).toMatch(/^kubectl-coredog \d+\.\d+\.\d+/);
  });

  it("refuses an old Node with a clear message where no Node 24 is carried", () => {
    const bare = mkdtempSync(path.join(tmpdir(), "coredog-bare-bin-"));
    let stderr = "";
    try {
      cpSync(path.join(root, "bin"), path.join(bare, "bin"), { recursive: true });
      execFileSync("/usr/bin/node", [path.join(bare, "bin", "kubectl-coredog"), "--help"], {
        encoding: "utf8",
        stdio: "pipe",
      });
    } catch (err) {
      stderr = String((err as { stderr: string }).stderr);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
    expect(stderr).toMatch(/needs Node\.js 24 or newer/);
  });
});
