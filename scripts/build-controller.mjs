// Bundles coredog-controller (controller/main.ts and the watcher) into dist/controller/bundle/ with esbuild, for
// memory: tree-shaken, and @kubernetes/client-node only through controller/watcher/k8s.ts, in a chunk that loads
// only with a kubeconfig (measured: idle RSS ~155 MiB from the tsc output -> see the watcher's report). The webhook
// stays the tsc output (dist/controller/webhook/, loaded with node_modules): its log worker is a file next to it.
import path from "node:path";
import { bundle, kb, outdirFor, root } from "./bundle.mjs";

const outdir = outdirFor("controller", "bundle");

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

const out = await bundle(outdir, {
  entryPoints: [{ in: path.join(root, "controller", "main.ts"), out: "main" }],
  plugins: [webhookExternal],
  chunkNames: "[name]-[hash]",
});
process.stdout.write(
  `bundled coredog-controller into dist/controller/bundle/: ${out.map(([f, o]) => `${path.basename(f)} ${kb(o.bytes)}`).join(", ")}\n`,
);
