import { Args } from "@oclif/core";
import { BaseCommand, namespaceFlag, outputFlag } from "../../lib/base.js";
import { describeCrash, getCoreDump } from "../../lib/crashes.js";
import { stringify } from "yaml";

export default class CrashesShow extends BaseCommand {
  static override summary = "One crash: where, how it died, its backtrace, where the core is";
  static override examples = ["<%= config.bin %> crashes show api-7d9f-3c1a2b4d5e -n shop"];
  static override args = {
    name: Args.string({ description: "the CoreDump's name", required: true }),
  };
  static override flags = {
    namespace: namespaceFlag,
    output: outputFlag(["text", "json", "yaml"]),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(CrashesShow);
    const cluster = await this.connect(flags);
    const record = await getCoreDump(cluster, await this.namespaceOf(flags), args.name);
    if (flags.output === "json") this.log(JSON.stringify(record, null, 2));
    else if (flags.output === "yaml") this.log(stringify(record).trimEnd());
    else this.log(describeCrash(record));
  }
}
