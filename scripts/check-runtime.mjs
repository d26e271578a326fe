// Fails fast when the project's own Node (the pinned `node` devDependency) is not the one running.
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const want = `v${pkg.devDependencies.node}`;
if (process.version !== want) {
  console.error(
    `coredog: running on Node ${process.version}, but this project pins ${want}.\n` +
      "Run through npm (npm test, npm run ...), which puts node_modules/.bin first on PATH; " +
      "if node_modules/.bin/node is missing, reinstall without --ignore-scripts (npm ci).",
  );
  process.exit(1);
}
