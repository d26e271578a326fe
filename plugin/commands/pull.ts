import { Args, Flags } from "@oclif/core";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { BaseCommand, namespaceFlag } from "../lib/base.js";
import { downloadCore, progressBar } from "../lib/core-download.js";
import { getCoreDump } from "../lib/crashes.js";
import { UserError } from "../lib/errors.js";
import { requestDownloadLink } from "../lib/pull-request.js";

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
    const record = await getCoreDump(cluster, namespace, args.name);
    const out = resolve(flags.output ?? `${args.name}.core`);
    if (existsSync(out) && !flags.force)
      throw new UserError(`${out} already exists`, "choose another file with -o, or pass --force");
    const link = await requestDownloadLink(cluster, namespace, args.name);
    const tty = Boolean(process.stderr.isTTY);
    let last = 0;
    const s = record.spec;
    const { bytes } = await downloadCore({
      url: link.url,
      out,
      size: s.storage.size,
      sha256: s.storage.sha256,
      compression: s.storage.compression,
      what: `CoreDump ${namespace}/${args.name}`,
      progress: (received, total) => {
        if (!tty || Date.now() - last < 100) return;
        last = Date.now();
        process.stderr.write(`\r${progressBar(received, total)}`);
      },
    });
    if (tty) process.stderr.write("\n");
    this.logToStderr(`wrote ${out} (${bytes} bytes, size and sha256 verified)`);
    const exe = s.executable ?? "<the crashed executable>";
    this.log(`gdb ${exe} ${out}`);
    if (s.image)
      this.logToStderr(
        `the executable and its libraries are in image ${s.image}: run gdb where they match it (for example in a container of that image)`,
      );
  }
}
