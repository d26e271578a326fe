// Runs the watcher straight from the sources (`tsx controller/watcher/cli.ts ...`), as tests and benchmarks do.
import { runWatcher } from "./main.js";

process.exitCode = await runWatcher(process.argv.slice(2));
