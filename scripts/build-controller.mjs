// Bundles coredog-controller (controller/main.ts and the watcher) into dist/controller/bundle/ with esbuild, for
// memory: tree-shaken, and @kubernetes/client-node only through controller/watcher/k8s.ts, in a chunk that loads
// only with a kubeconfig (measured: idle RSS ~155 MiB from the tsc output -> see the watcher's report). The webhook
// stays the tsc output (dist/controller/webhook/, loaded with node_modules): its log worker is a file next to it.
// `node scripts/build-controller.mjs [DIST]`: DIST is where dist/ is being built (npm run build builds beside it).
import { renameSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outdir = path.join(path.resolve(root, process.argv[2] ?? "dist"), "controller", "bundle");
const next = `${outdir}.next`;
rmSync(next, { recursive: true, force: true });

// controller/main.ts imports ./webhook/main.js lazily: kept external, as ../webhook/main.js from the bundle's
// directory, which is the webhook's tsc output. Chunks sit beside main.js so the relative path holds everywhere.
const webhookExternal = {
  name: "webhook-external",
  setup(b) {
    b.onResolve({ filter: /^\.\/webhook\/main\.js$/ }, (a) =>
      a.importer === path.join(root, "controller", "main.ts")
        ? { path: "../webhook/main.js", external: true }
        : undefined,
    );
  },
};

const result = await build({
  entryPoints: [{ in: path.join(root, "controller", "main.ts"), out: "main" }],
  plugins: [webhookExternal],
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node24",
  outdir: next,
  entryNames: "[name]",
  chunkNames: "[name]-[hash]",
  // Optional native add-ons of ws (through client-node): it works without them.
  external: ["bufferutil", "utf-8-validate"],
  define: { "process.env.NODE_ENV": '"production"' },
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
process.stdout.write(
  `bundled coredog-controller into dist/controller/bundle/: ${out.map(([f, o]) => `${path.basename(f)} ${kb(o.bytes)}`).join(", ")}\n`,
);
