// `node scripts/runtime-modules.mjs OUT PACKAGE...`: copies PACKAGE and everything it depends on (as
// package-lock.json resolves it) from node_modules/ into OUT/node_modules/. The bundles in dist/ carry
// all other libraries; what they leave to node_modules at run time is oclif's help plugin, which oclif
// loads by package name. The image ships this closure instead of all production dependencies.
import { cpSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { root } from "./bundle.mjs";

const [out, ...roots] = process.argv.slice(2);
if (!out || roots.length === 0) {
  process.stderr.write("usage: node scripts/runtime-modules.mjs OUT PACKAGE...\n");
  process.exit(2);
}
const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8"));
const packages = lock.packages ?? {};

/** Where node would find `name` from the package at `from` (a lock key): its own node_modules, then up. */
function resolve(name, from) {
  for (let dir = from; ;) {
    const key = `${dir ? `${dir}/` : ""}node_modules/${name}`;
    if (packages[key]) return key;
    if (!dir) return undefined;
    const up = dir.lastIndexOf("/node_modules/");
    dir = up === -1 ? "" : dir.slice(0, up);
  }
}

const keep = new Set();
const todo = roots.map((name) => {
  const key = resolve(name, "");
  if (!key) throw new Error(`${name} is not in package-lock.json`);
  return key;
});
while (todo.length) {
  const key = todo.pop();
  if (keep.has(key)) continue;
  keep.add(key);
  const p = packages[key];
  for (const [name, optional] of [
    ...Object.keys(p.dependencies ?? {}).map((n) => [n, false]),
    ...Object.keys(p.optionalDependencies ?? {}).map((n) => [n, true]),
    ...Object.keys(p.peerDependencies ?? {}).map((n) => [n, true]),
  ]) {
    const dep = resolve(name, key);
    if (dep) todo.push(dep);
    else if (!optional) throw new Error(`${key} needs ${name}, which package-lock.json lacks`);
  }
}
const SKIP_DIRS = new Set(["node_modules", "test", "tests", "__tests__"]);
let copied = 0;
for (const key of [...keep].sort()) {
  const src = path.join(root, key);
  if (!existsSync(src)) {
    if (packages[key].optional) continue;
    throw new Error(`${key} is missing: run npm ci first`);
  }
  const dest = path.join(out, key);
  mkdirSync(path.dirname(dest), { recursive: true });
  // A package's own node_modules holds nested packages, which are copied only when needed; its tests,
  // source maps and type declarations are not needed to run.
  cpSync(src, dest, {
    recursive: true,
    filter: (f) =>
      !SKIP_DIRS.has(path.relative(src, f).split(path.sep)[0]) && !/\.(map|d\.[cm]?ts)$/.test(f),
  });
  copied++;
}
process.stdout.write(`copied ${copied} package(s) into ${path.join(out, "node_modules")}\n`);
