// Bundles the kubectl-coredog CLI into dist/cli/ with esbuild, for start-up time: one module for the
// commands (oclif's explicit discovery reads its COMMANDS export), heavy libraries (client-node, ink)
// in chunks that load only when a command imports them. @oclif/core stays in node_modules: it is the
// one copy that bin/kubectl-coredog and @oclif/plugin-help share.
import { readdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
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

// Built beside and swapped in, so a CLI already running elsewhere never sees a half-written bundle.
// `node scripts/build-cli.mjs [DIST]`: DIST is where dist/ is being built (npm run build builds beside it).
const outdir = path.join(path.resolve(root, process.argv[2] ?? "dist"), "cli");
const next = `${outdir}.next`;
rmSync(next, { recursive: true, force: true });
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
const result = await build({
  entryPoints: Object.keys(entries).map((name) => ({ in: `cli-entry:${name}`, out: name })),
  plugins: [virtual],
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node24",
  outdir: next,
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  // typescript: oclif loads it only to find TypeScript sources in development, which the bundle turns off.
  external: ["@oclif/plugin-help", "bufferutil", "utf-8-validate", "typescript", "ts-node", "tsx"],
  define: { "process.env.NODE_ENV": '"production"', "process.env.DEV": "false" },
  alias: { "react-devtools-core": path.join(root, "scripts", "build-cli-stub.mjs") },
  banner: {
    js: 'import { createRequire as __coredogCreateRequire } from "node:module"; const require = __coredogCreateRequire(import.meta.url);',
  },
  logLevel: "warning",
  legalComments: "none",
  minify: true,
  keepNames: true,
  metafile: true,
});
rmSync(outdir, { recursive: true, force: true });
renameSync(next, outdir);
const out = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith(".js"));
const kb = (n) => `${Math.round(n / 1024)} KiB`;
const main = out.find(([f]) => f.endsWith("/index.js"));
process.stdout.write(
  `bundled ${files.length} commands into dist/cli/index.js (${kb(main?.[1].bytes ?? 0)}), oclif into dist/cli/run.js, ${out.length - 2} chunk(s) (${kb(out.reduce((s, [, o]) => s + o.bytes, 0) - (main?.[1].bytes ?? 0))} in all)\n`,
);
