// `kubectl coredog` without a cluster: help with examples for every command, usage lines as people type
// them, no colours when not on a terminal, and shell completion through kubectl's plugin completion
// (`kubectl_complete-coredog` on PATH, kubectl 1.26+).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const exec = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${path.join(root, "bin")}:${path.join(root, "node_modules/.bin")}:${process.env.PATH}`,
  KUBECONFIG: path.join(root, "does-not-exist.kubeconfig"),
};
delete env.NO_COLOR;
delete env.FORCE_COLOR;

const kubectl = (args: string[]) =>
  exec("kubectl", args, { env, encoding: "utf8" }).then(
    (r) => ({ ...r, code: 0 }),
    (e: { stdout: string; stderr: string; code: number }) => e,
  );

const manifest = JSON.parse(readFileSync(path.join(root, "oclif.manifest.json"), "utf8")) as {
  commands: Record<string, { id: string; hidden?: boolean; examples?: unknown[] }>;
};
const ids = Object.values(manifest.commands)
  .filter((c) => !c.hidden)
  .map((c) => c.id);

describe("help", () => {
  it("the top-level help reads `kubectl coredog` and lists the commands", async () => {
    const r = await kubectl(["coredog", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^USAGE\n {2}\$ kubectl coredog \[COMMAND\]$/m);
    for (const c of [
      "enable",
      "disable",
      "ls",
      "events",
      "logs",
      "doctor",
      "status",
      "emergency",
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^ {2}${c} `, "m"));
    }
    expect(r.stdout).not.toMatch(/kubectl-coredog \[COMMAND\]/);
    // Not a terminal here: no escape sequences.
    expect(r.stdout).not.toContain("\u001b[");
  });

  it.each(ids)("`%s --help` has a usage line and examples", async (id) => {
    const words = id.split(":");
    expect(manifest.commands[id]!.examples?.length ?? 0).toBeGreaterThan(0);
    const r = await kubectl(["coredog", ...words, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`$ kubectl coredog ${words.join(" ")}`);
    expect(r.stdout).toMatch(/^EXAMPLES$/m);
    expect(r.stdout).not.toContain("\u001b[");
  });

  it("ignores NODE_ENV=test (no warnings about TypeScript sources)", async () => {
    const r = await exec("kubectl", ["coredog", "ls", "--context", "x"], {
      env: { ...env, NODE_ENV: "test" },
      encoding: "utf8",
    }).catch((e: { stderr: string }) => e);
    expect(r.stderr).not.toMatch(/Warning/);
    expect(r.stderr).toMatch(/^error: /);
  });
});

describe("arguments are checked before connecting (no kubeconfig here)", () => {
  it.each([
    [["enable"], /^error: name the workload to enable$/m],
    [["disable"], /^error: name the workload to disable$/m],
    [["enable", "deploy"], /^error: name a Deployment or select many with -l$/m],
    [["disable", "-l", "app=api"], /^error: -l needs a TYPE to select/m],
    [["enable", "bogus/api"], /^error: .*bogus/m],
  ])("`%s` says what is missing, not that the kubeconfig is", async (args, message) => {
    const r = await kubectl(["coredog", ...args]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/kubeconfig|does-not-exist/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("completion through kubectl", () => {
  const complete = async (...words: string[]) => {
    const r = await kubectl(["__complete", "coredog", ...words]);
    const lines = r.stdout.trim().split("\n");
    return { values: lines.slice(0, -1).map((l) => l.split("\t")[0]), directive: lines.at(-1) };
  };

  it("completes commands, topics and subcommands", async () => {
    const top = await complete("");
    expect(top.values).toEqual(
      expect.arrayContaining(["enable", "ls", "doctor", "emergency", "status"]),
    );
    expect(top.directive).toBe(":4");
    expect((await complete("emergency", "web")).values).toEqual(["webhook"]);
    expect((await complete("emergency", "webhook", "")).values).toEqual([
      "fail",
      "ignore",
      "remove",
      "restore",
    ]);
  });

  it("completes flags and their values", async () => {
    expect((await complete("ls", "--all-")).values).toEqual(["--all-namespaces"]);
    expect((await complete("ls", "-o", "")).values).toEqual(["table", "wide", "json", "yaml"]);
    expect((await complete("emergency", "restart", "w")).values).toEqual(["watcher", "webhook"]);
    expect((await complete("enable", "dep")).values).toEqual(["deployment/"]);
  });
});
