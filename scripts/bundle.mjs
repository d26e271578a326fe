// What the CLI and the controller bundles share: esbuild's settings for a Node 24 ESM program with
// lazily loaded chunks, built beside its target and swapped in, so a program already running from the
// old bundle never sees a half-written one.
import { renameSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** `node scripts/build-X.mjs [DIST]`: DIST is where dist/ is being built (npm run build builds beside it). */
export function outdirFor(...parts) {
  return path.join(path.resolve(root, process.argv[2] ?? "dist"), ...parts);
}

export async function bundle(outdir, options) {
  const next = `${outdir}.next`;
  rmSync(next, { recursive: true, force: true });
  const result = await build({
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node24",
    outdir: next,
    entryNames: "[name]",
    banner: {
      js: 'import { createRequire as __coredogCreateRequire } from "node:module"; const require = __coredogCreateRequire(import.meta.url);',
    },
    logLevel: "warning",
    legalComments: "none",
    minify: true,
    keepNames: true,
    metafile: true,
    ...options,
    // Optional native add-ons of ws (through client-node): it works without them.
    external: ["bufferutil", "utf-8-validate", ...(options.external ?? [])],
    define: { "process.env.NODE_ENV": '"production"', ...(options.define ?? {}) },
  });
  rmSync(outdir, { recursive: true, force: true });
  renameSync(next, outdir);
  return Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith(".js"));
}

export const kb = (n) => `${Math.round(n / 1024)} KiB`;
