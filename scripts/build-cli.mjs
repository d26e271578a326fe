// Bundles the kubectl-coredog CLI into dist/cli/ with esbuild, for start-up time: one module for the
// commands (oclif's explicit discovery reads its COMMANDS export), heavy libraries (client-node, ink)
// in chunks that load only when a command imports them. @oclif/core stays in node_modules: it is the
// one copy that bin/kubectl-coredog and @oclif/plugin-help share.
import { readdirSync } from "node:fs";
import path from "node:path";
import { bundle, kb, outdirFor, root } from "./bundle.mjs";

const commandsDir = path.join(root, "plugin", "commands");

function commandFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return commandFiles(full);
      return /\.tsx?$/.test(e.name) && !/\.d\.ts$/.test(e.name) ? [full] : [];
    })
    .sort();
}

/** `plugin/commands/emergency/webhook/ignore.ts` -> `emergency:webhook:ignore`. */
function commandId(file) {
  return path
    .relative(commandsDir, file)
    .replace(/\.tsx?$/, "")
    .split(path.sep)
    .join(":");
}

const files = commandFiles(commandsDir);
const entry = [
  ...files.map((f, i) => `import C${i} from ${JSON.stringify(f)};`),
  "export const COMMANDS = {",
  ...files.map((f, i) => `  ${JSON.stringify(commandId(f))}: C${i},`),
  "};",
].join("\n");

const outdir = outdirFor("cli");
// Two entries: index.js (the commands, for oclif's explicit discovery) and run.js (oclif itself, what
// bin/kubectl-coredog starts). They share one @oclif/core chunk, and `--help` loads no command at all.
const entries = {
  index: entry,
  run: 'export { flush, run, settings } from "@oclif/core";',
};
const virtual = {
  name: "cli-entries",
  setup(b) {
    b.onResolve({ filter: /^cli-entry:/ }, (a) => ({
      path: a.path.slice(10),
      namespace: "cli-entry",
    }));
    b.onLoad({ filter: /.*/, namespace: "cli-entry" }, (a) => ({
      contents: entries[a.path],
      resolveDir: root,
      loader: "ts",
    }));
  },
};
const out = await bundle(outdir, {
  entryPoints: Object.keys(entries).map((name) => ({ in: `cli-entry:${name}`, out: name })),
  plugins: [virtual],
  chunkNames: "chunks/[name]-[hash]",
  // typescript: oclif loads it only to find TypeScript sources in development, which the bundle turns off.
  external: ["@oclif/plugin-help", "typescript", "ts-node", "tsx"],
  define: { "process.env.DEV": "false" },
  alias: { "react-devtools-core": path.join(root, "scripts", "build-cli-stub.mjs") },
});
const main = out.find(([f]) => f.endsWith("/index.js"));
process.stdout.write(
  `bundled ${files.length} commands into dist/cli/index.js (${kb(main?.[1].bytes ?? 0)}), oclif into dist/cli/run.js, ${out.length - 2} chunk(s) (${kb(out.reduce((s, [, o]) => s + o.bytes, 0) - (main?.[1].bytes ?? 0))} in all)\n`,
);
