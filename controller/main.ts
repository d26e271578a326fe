// `coredog-controller webhook|watcher [flags]`: one image, two programs.
import { PRODUCT_VERSION } from "../src/names.js";

const USAGE = `Usage: coredog-controller <webhook|watcher|notify-test|version> [flags]

  webhook  --listen :8443 --tls-cert FILE --tls-key FILE --config FILE [--kubeconfig FILE]
  watcher  --dir /corefile --node-name NODE --config FILE --listen :9090 [--kubeconfig FILE]
  notify-test [--config FILE] [--channel N] [--json]   send a test notice through the channels

Run a program with --help for all of its flags.
`;

export async function main(argv: string[]): Promise<number> {
  const [program, ...rest] = argv;
  switch (program) {
    case "webhook": {
      const { runWebhook } = await import("./webhook/main.js");
      return runWebhook(rest);
    }
    case "watcher": {
      const { runWatcher } = await import("./watcher/main.js");
      return runWatcher(rest);
    }
    case "notify-test": {
      const { runNotifyTest } = await import("./notify/notify-test.js");
      return runNotifyTest(rest);
    }
    case "version":
    case "--version":
      process.stdout.write(`coredog-controller ${PRODUCT_VERSION}\n`);
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return program === undefined ? 2 : 0;
    default:
      process.stderr.write(`coredog-controller: unknown program "${program}"\n\n${USAGE}`);
      return 2;
  }
}
