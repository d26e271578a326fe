// No Docker engine runs here: parse the Dockerfile and check that its stages add up.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./render.js";

interface Instruction {
  op: string;
  args: string;
}

function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\r?\n/g, " ");
  return joined
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const [op = "", ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

function stages(ins: Instruction[]): { from: string; name?: string; body: Instruction[] }[] {
  const out: { from: string; name?: string; body: Instruction[] }[] = [];
  for (const i of ins) {
    if (i.op === "FROM") {
      const [from = "", as, name] = i.args.split(/\s+/);
      out.push({ from, name: as?.toUpperCase() === "AS" ? name : undefined, body: [] });
    } else out.at(-1)?.body.push(i);
  }
  return out;
}

const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8"));
const instructions = parseDockerfile(readFileSync(path.join(repoRoot, "Dockerfile"), "utf8"));
const all = stages(instructions);
const final = all.at(-1)!;

describe("Dockerfile", () => {
  it("uses the same Node release as the tests, on glibc (not Alpine)", () => {
    const arg = instructions.find((i) => i.op === "ARG" && i.args.startsWith("NODE_IMAGE="));
    expect(arg?.args).toBe(`NODE_IMAGE=node:${pkg.devDependencies.node}-bookworm-slim`);
    for (const s of all) expect(s.from).toBe("${NODE_IMAGE}");
  });

  it("is multi-stage: builds with dev dependencies, ships the bundles and oclif's help plugin only", () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    const build = all.find((s) => s.name === "build")!;
    const buildRun = build.body.filter((i) => i.op === "RUN").map((i) => i.args);
    expect(buildRun.some((r) => /npm ci --ignore-scripts/.test(r))).toBe(true);
    expect(
      buildRun.some((r) =>
        r.includes("node scripts/runtime-modules.mjs /runtime @oclif/plugin-help"),
      ),
    ).toBe(true);
    // The final stage takes no npm install of its own: node_modules is the help plugin's closure.
    expect(final.body.some((i) => i.op === "RUN" && /npm (ci|install)/.test(i.args))).toBe(false);
  });

  it("takes the npm registry and CA only when given, in the build stage, never into the image", () => {
    const build = all.find((s) => s.name === "build")!;
    expect(build.body.map((i) => `${i.op} ${i.args}`)).toContain("ARG NPM_REGISTRY=");
    const npmCi = build.body.find((i) => i.op === "RUN" && i.args.includes("npm ci"))!.args;
    expect(npmCi).toContain("--mount=type=secret,id=ca,target=/run/secrets/ca.crt");
    expect(npmCi).toContain('if [ -n "$NPM_REGISTRY" ]');
    expect(npmCi).toContain("if [ -s /run/secrets/ca.crt ]");
    // Build arguments of the final stage end up in its history: it declares none.
    expect(final.body.some((i) => i.op === "ARG")).toBe(false);
  });

  it("copies everything the entrypoints need into the final stage", () => {
    const copies = final.body.filter((i) => i.op === "COPY").map((i) => i.args);
    expect(copies).toContain("--from=build /runtime/node_modules ./node_modules");
    expect(copies).toContain("--from=build /src/dist/cli ./dist/cli");
    expect(copies).toContain("--from=build /src/dist/controller/bundle ./dist/controller/bundle");
    expect(copies).toContain("bin ./bin");
    expect(copies.some((c) => c.startsWith("package.json"))).toBe(true);
    // bin/coredog-controller imports the bundle ../dist/controller/bundle/main.js, which the build stage
    // emits with scripts/build-controller.mjs (the webhook and the watcher); bin/kubectl-coredog the CLI's.
    const bin = readFileSync(path.join(repoRoot, "bin", "coredog-controller"), "utf8");
    expect(bin).toContain("../dist/controller/bundle/main.js");
    const build = all.find((s) => s.name === "build")!;
    const buildRun = build.body.filter((i) => i.op === "RUN").map((i) => i.args);
    expect(buildRun.some((r) => r.includes("node scripts/build-controller.mjs dist"))).toBe(true);
    expect(buildRun.some((r) => r.includes("node scripts/build-cli.mjs dist"))).toBe(true);
    expect(build.body.map((i) => `${i.op} ${i.args}`)).toContain("COPY scripts ./scripts");
    const tsconfig = JSON.parse(readFileSync(path.join(repoRoot, "tsconfig.build.json"), "utf8"));
    expect(tsconfig.include).toEqual(expect.arrayContaining(["src", "controller", "plugin"]));
    const buildCopies = all.find((s) => s.name === "build")!.body.filter((i) => i.op === "COPY");
    for (const dir of tsconfig.include) {
      expect(buildCopies.map((i) => i.args)).toContain(`${dir} ./${dir}`);
    }
  });

  it("puts coredog-controller on PATH, checks bash is there, and runs as non-root by default", () => {
    const env = final.body.find((i) => i.op === "ENV")!.args;
    expect(env).toContain("PATH=/app/bin:$PATH");
    expect(final.body.some((i) => i.op === "RUN" && i.args.includes("bash --version"))).toBe(true);
    const user = final.body.find((i) => i.op === "USER")!.args;
    expect(user).not.toMatch(/^(0|root)\b/);
    expect(final.body.find((i) => i.op === "ENTRYPOINT")!.args).toBe('["coredog-controller"]');
  });

  it("keeps the build context small", () => {
    const ignore = readFileSync(path.join(repoRoot, ".dockerignore"), "utf8").split("\n");
    expect(ignore).toEqual(expect.arrayContaining(["node_modules", "dist", ".git", "test"]));
  });
});
