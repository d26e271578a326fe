// Bundles coredog-controller (controller/main.ts: the webhook and the watcher) into dist/controller/bundle/ with
// esbuild: tree-shaken, @kubernetes/client-node only through lazily imported chunks (the watcher without a
// kubeconfig never loads it: ~60 MiB less RSS), and no node_modules at run time, so the image ships the bundle
// alone. The webhook's log writer thread is a second entry, log-worker.js, beside the chunk that starts it.
import path from "node:path";
import { bundle, kb, outdirFor, root } from "./bundle.mjs";

const outdir = outdirFor("controller", "bundle");

const out = await bundle(outdir, {
  entryPoints: [
    { in: path.join(root, "controller", "main.ts"), out: "main" },
    { in: path.join(root, "controller", "webhook", "log-worker.ts"), out: "log-worker" },
  ],
  chunkNames: "[name]-[hash]",
});
process.stdout.write(
  `bundled coredog-controller into dist/controller/bundle/: ${out.map(([f, o]) => `${path.basename(f)} ${kb(o.bytes)}`).join(", ")}\n`,
);
