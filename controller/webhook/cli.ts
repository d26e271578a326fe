// `tsx controller/webhook/cli.ts [flags]` = `coredog-controller webhook [flags]` without a build
// (tests and the benchmark spawn it as its own process).
import { main } from "../main.js";

process.exitCode = await main(["webhook", ...process.argv.slice(2)]);
