import { Args, Flags } from "@oclif/core";
import { resolve } from "node:path";
import { BaseCommand, namespaceFlag } from "../lib/base.js";
import { progressBar } from "../lib/core-download.js";
import { pullCore } from "../lib/pull.js";

export default class Pull extends BaseCommand {
  static override summary = "Download a crash's core, verified, ready for gdb";
  static override description =
    "Asks CoreDog for a short-lived download link (a CoreDumpPull in the record's namespace: anyone who may view the namespace may pull its cores; the storage Secret stays in coredog-system), downloads the core with a progress bar, decompresses it, checks its size and sha256 against the record, and prints the gdb command line. Nothing is left behind when anything fails.";
  static override examples = [
    "<%= config.bin %> pull api-7d9f-3c1a2b4d5e -n shop",
    "<%= config.bin %> pull api-7d9f-3c1a2b4d5e -n shop -o /tmp/api.core",
  ];
  static override args = {
    name: Args.string({ description: "the CoreDump's name", required: true }),
  };
  static override flags = {
    namespace: namespaceFlag,
    output: Flags.string({
      char: "o",
      description: "where to write the core (default: ./<name>.core)",
    }),
    force: Flags.boolean({ description: "overwrite the output file if it exists", default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Pull);
    const cluster = await this.connect(flags);
    const namespace = await this.namespaceOf(flags);
    const tty = Boolean(process.stderr.isTTY);
    let last = 0;
    const pulled = await pullCore(
      cluster,
      namespace,
      args.name,
      resolve(flags.output ?? `${args.name}.core`),
      {
        force: flags.force,
        progress: (received, total) => {
          if (!tty || Date.now() - last < 100) return;
          last = Date.now();
          process.stderr.write(`\r${progressBar(received, total)}`);
        },
      },
    );
    if (tty) process.stderr.write("\n");
    this.logToStderr(`wrote ${pulled.out} (${pulled.bytes} bytes, size and sha256 verified)`);
    this.log(pulled.gdb);
    if (pulled.record.spec.image)
      this.logToStderr(
        `the executable and its libraries are in image ${pulled.record.spec.image}: run gdb where they match it (for example in a container of that image)`,
      );
  }
}
