import { Args } from "@oclif/core";
import { BaseCommand, namespaceFlag, outputFlag } from "../../lib/base.js";
import { describeCrash, fetchCrashReport, getCoreDump } from "../../lib/crashes.js";
import { reportSectionLines } from "../../lib/crash-report-text.js";
import { paint } from "../../lib/output.js";
import { stringify } from "yaml";

export default class CrashesShow extends BaseCommand {
  static override summary =
    "One crash: where, how it died, its whole crash report (registers, backtrace, threads, modules), where the core is";
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
    const namespace = await this.namespaceOf(flags);
    const record = await getCoreDump(cluster, namespace, args.name);
    // The whole report lives beside the core in storage: fetched through the same short-lived link as a pull.
    const sidecar = await fetchCrashReport(cluster, namespace, args.name);
    if (flags.output === "json" || flags.output === "yaml") {
      const both = { record, report: "error" in sidecar ? { error: sidecar.error } : sidecar.doc };
      this.log(flags.output === "json" ? JSON.stringify(both, null, 2) : stringify(both).trimEnd());
      return;
    }
    this.log(describeCrash(record));
    for (const l of reportSectionLines(sidecar)) this.log(l.tone ? paint(l.tone, l.text) : l.text);
  }
}
