// The shipped coredog-controller is the esbuild bundle (scripts/build-controller.mjs): it must start the watcher,
// and load @kubernetes/client-node only through a lazily imported chunk (the watcher without a kubeconfig never
// loads it: ~60 MiB of RSS).
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "./harness.js";

const run = promisify(execFile);
let dist: string;
let bundle: string;

beforeAll(async () => {
  dist = await mkdtemp(join(tmpdir(), "coredog-bundle-test-"));
  await run(process.execPath, [join(REPO, "scripts/build-controller.mjs"), dist]);
  bundle = join(dist, "controller", "bundle");
}, 60_000);
afterAll(async () => {
  await rm(dist, { recursive: true, force: true });
});

/** The chunks a module loads before it runs: its static imports, transitively. */
async function staticClosure(file: string, seen = new Set<string>()): Promise<Set<string>> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = await readFile(join(bundle, file), "utf8");
  for (const m of text.matchAll(/(?:from|import)\s*"\.\/([^"]+\.js)"/g))
    await staticClosure(m[1]!, seen);
  return seen;
}

describe("the controller bundle", () => {
  it("keeps client-node out of everything the watcher loads at start", async () => {
    const files = (await readdir(bundle)).filter((f) => f.endsWith(".js"));
    const withClient: string[] = [];
    // a name of client-node's own (the watcher's code never mentions it)
    for (const f of files)
      if ((await readFile(join(bundle, f), "utf8")).includes("applySecurityAuthentication"))
        withClient.push(f);
    expect(withClient.length).toBeGreaterThan(0);
    const main = await readFile(join(bundle, "main.js"), "utf8");
    // main.js imports each program's chunk lazily: the watcher's is the one that defines runWatcher.
    const programs = [...main.matchAll(/import\("\.\/(main-[^"]+\.js)"\)/g)].map((m) => m[1]!);
    expect(programs).toHaveLength(2);
    let watcherMain: string | undefined;
    for (const f of programs)
      if ((await readFile(join(bundle, f), "utf8")).includes("Usage: coredog-controller watcher"))
        watcherMain = f;
    expect(watcherMain).toBeDefined();
    const atStart = await staticClosure(watcherMain!);
    for (const f of withClient) expect(atStart.has(f), `${f} is loaded at start`).toBe(false);
    // the webhook is in the bundle too: nothing is left to node_modules or the tsc output
    expect(main).not.toContain("../webhook/main.js");
    for (const f of (await readdir(bundle)).filter((n) => n.endsWith(".js")))
      expect(await readFile(join(bundle, f), "utf8")).not.toMatch(
        /from\s*"(@kubernetes|pino|zod|yaml|prom-client|@aws-sdk)/,
      );
  });

  it("runs: `coredog-controller version` and the watcher's --help through the bundle", async () => {
    const runner = join(dist, "run.mjs");
    await writeFile(
      runner,
      'const { main } = await import("./controller/bundle/main.js");\n' +
        "process.exitCode = await main(process.argv.slice(2));\n",
    );
    const v = await run(process.execPath, [runner, "version"]);
    expect(v.stdout).toMatch(/^coredog-controller \d+\.\d+\.\d+/);
    const help = await run(process.execPath, [runner, "watcher", "--help"]);
    expect(help.stdout).toContain("Usage: coredog-controller watcher");
    const webhookHelp = await run(process.execPath, [runner, "webhook", "--help"]);
    expect(webhookHelp.stdout).toContain("coredog-controller webhook");
  });
});
