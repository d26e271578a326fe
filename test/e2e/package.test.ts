// The plugin as people install it: `export PATH=$PWD/bin:$PATH` in a checkout after `npm ci`, on a machine
// whose own Node is older than 24 (the bin runs itself with the checkout's Node 24), and `npm pack` installed
// with `npm install -g` into a clean prefix.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHECKOUT } from "../rig/image-build.js";

const run = promisify(execFile);
const CARRIED = join(CHECKOUT, "node_modules", "node", "bin");
let scratch: string;
/** The machine's own node: the first `node` on the system PATH, not the checkout's. */
let oldNode: string;

async function sh(
  line: string,
  path: string,
): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run("bash", ["-c", line], {
      env: { PATH: path, HOME: process.env.HOME ?? "/root", NO_COLOR: "1" },
      cwd: scratch,
      timeout: 120_000,
    });
    return { ...r, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "coredog-package-test-"));
  const found = await sh("command -v node && node --version", "/usr/local/bin:/usr/bin:/bin");
  const [path, version] = found.stdout.trim().split("\n");
  if (found.code !== 0 || !path || Number(version?.slice(1).split(".")[0]) >= 24)
    throw new Error(
      `this test needs the machine's own Node older than 24 on /usr/local/bin:/usr/bin:/bin, found: ${found.stdout.trim() || "none"}`,
    );
  oldNode = path;
  if (!existsSync(join(CHECKOUT, "dist", "cli", "run.js")))
    throw new Error("dist/ is missing: npm run build first");
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe("bin/ on PATH in a checkout", () => {
  it("runs with the checkout's Node 24 when the machine's node is older", async () => {
    const path = `${join(CHECKOUT, "bin")}:${dirname(oldNode)}:/usr/bin:/bin`;
    expect((await sh("node --version", path)).stdout).toMatch(/^v(1\d|2[0-3])\./);
    const help = await sh("kubectl coredog --help", path);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain(
      "Collects the core dumps of crashing processes in Kubernetes pods",
    );
    expect(help.stdout).toMatch(/node-v24\./);
    const v = await sh("coredog-controller version", path);
    expect(v.stdout).toMatch(/^coredog-controller \d+\.\d+\.\d+/);
    // An error still ends as the CLI's one sentence and exit code, through the second Node.
    const bad = await sh("kubectl-coredog no-such-command", path);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^error: command no-such-command not found/);
  });

  it("says what to do where no Node 24 is carried", async () => {
    const copy = join(scratch, "bare");
    cpSync(join(CHECKOUT, "bin"), join(copy, "bin"), { recursive: true });
    const r = await sh(
      `${join(copy, "bin", "kubectl-coredog")} --help`,
      `${dirname(oldNode)}:/usr/bin:/bin`,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^kubectl-coredog needs Node\.js 24 or newer, but .* is v\d+\./);
    expect(r.stderr).toContain("Put a Node.js 24 first on PATH");
    expect(r.stderr).not.toMatch(/at .*\(/); // no stack trace
  });
});

describe("npm pack, installed with npm install -g into a clean prefix", () => {
  it("puts a working kubectl-coredog (and coredog-controller) on PATH", async () => {
    const packed = await run(
      "npm",
      ["pack", "--ignore-scripts", "--json", "--pack-destination", scratch],
      {
        cwd: CHECKOUT,
      },
    );
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const files = info!.files.map((f) => f.path);
    expect(files).toContain("dist/cli/run.js");
    expect(files).toContain("dist/controller/bundle/main.js");
    expect(files).toContain("oclif.manifest.json");
    expect(
      files.filter((f) => /^(test|src|controller|plugin)\//.test(f) || f.endsWith(".map")),
    ).toEqual([]);
    const prefix = join(scratch, "prefix");
    // npm itself runs on the machine's Node; the packages come from the npm cache npm ci filled.
    const install = await sh(
      `npm install -g --prefix ${prefix} --no-audit --no-fund --prefer-offline ${join(scratch, info!.filename)}`,
      `${dirname(oldNode)}:/usr/bin:/bin`,
    );
    expect(install.code, install.stderr).toBe(0);
    const path = `${join(prefix, "bin")}:${CARRIED}:/usr/bin:/bin`;
    expect((await sh("command -v kubectl-coredog", path)).stdout.trim()).toBe(
      join(prefix, "bin", "kubectl-coredog"),
    );
    const help = await sh("kubectl coredog --help", path);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/COMMANDS[\s\S]*doctor/);
    const doctorHelp = await sh("kubectl coredog doctor --help", path);
    expect(doctorHelp.stdout).toContain("USAGE");
    expect((await sh("coredog-controller version", path)).stdout).toMatch(/^coredog-controller /);
    // Without a Node 24 on PATH, the installed plugin says so in one sentence.
    const old = await sh(
      "kubectl coredog --help",
      `${join(prefix, "bin")}:${dirname(oldNode)}:/usr/bin:/bin`,
    );
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/needs Node\.js 24 or newer/);
  }, 240_000);
});
