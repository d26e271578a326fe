import { Flags } from "@oclif/core";
import {
  BaseCommand,
  durationFlagMs,
  namespaceFlags,
  outputFlag,
  selectorFlag,
} from "../lib/base.js";
import {
  crashColumns,
  groupColumns,
  groupCrashes,
  listCoreDumps,
  selectCrashes,
} from "../lib/crashes.js";
import { formatList, formatTable } from "../lib/output.js";

export default class Crashes extends BaseCommand {
  static override summary =
    "The crashes CoreDog stored: one CoreDump record per core, newest first";
  static override description =
    "Lists the CoreDump records (coredumps.coredog.io) the watchers wrote, in the crashed pods' namespaces. --group folds them by fingerprint: the same bug in the same build. `crashes show NAME` prints one; `pull NAME` downloads its core.";
  static override examples = [
    "<%= config.bin %> crashes -n shop",
    "<%= config.bin %> crashes -A --since 24h",
    "<%= config.bin %> crashes -A --group",
    "<%= config.bin %> crashes -n shop -l coredog.io/workload=api -o wide",
  ];
  static override flags = {
    ...namespaceFlags,
    since: Flags.string({ description: "only crashes newer than this, e.g. 30m, 24h, 7d" }),
    selector: selectorFlag,
    group: Flags.boolean({
      description: "fold by fingerprint: count, first and last seen, workloads",
    }),
    output: outputFlag(["table", "wide", "json", "yaml"]),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Crashes);
    const sinceMs = durationFlagMs("since", flags.since);
    const since = sinceMs === undefined ? undefined : Date.now() - sinceMs;
    const cluster = await this.connect(flags);
    const all = flags["all-namespaces"];
    const namespace = all ? undefined : await this.namespaceOf(flags);
    const records = selectCrashes(await listCoreDumps(cluster, namespace, flags.selector), since);
    const structured = flags.output === "json" || flags.output === "yaml";
    const wide = flags.output === "wide";
    if (flags.group) {
      const groups = groupCrashes(records);
      if (structured) this.log(formatList(groups, flags.output as "json" | "yaml"));
      else if (!groups.length) this.logToStderr(noneText(namespace));
      else this.log(formatTable(groups, groupColumns(), wide));
      return;
    }
    if (structured) this.log(formatList(records, flags.output as "json" | "yaml"));
    else if (!records.length) this.logToStderr(noneText(namespace));
    else this.log(formatTable(records, crashColumns(all), wide));
  }
}

function noneText(namespace: string | undefined): string {
  return namespace === undefined
    ? "No crashes found."
    : `No crashes found in ${namespace} namespace.`;
}
