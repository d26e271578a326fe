import { Flags } from "@oclif/core";
import { BaseCommand, durationFlagMs, dryRunFlag, outputFlag, yesFlag } from "../../lib/base.js";
import { confirm } from "../../lib/confirm.js";
import { formatList, formatTable } from "../../lib/output.js";
import { purgeNodes, resolveNodes, type PurgedFile } from "../../lib/purge.js";
import { formatBytes } from "../../../src/template.js";

export default class Purge extends BaseCommand {
  static override summary = "Delete core files from the node directory of chosen nodes (disk full)";
  static override description =
    "Lists the files first, with their sizes, and asks before deleting. The files are gone for good: upload what matters first (or pause the watcher with `emergency watcher pause` and resume it afterwards). The watcher's journal is left alone. Runs a short-lived pod on each node, so no ssh is needed.";
  static override examples = [
    "<%= config.bin %> emergency purge --node node-1 --dry-run",
    "<%= config.bin %> emergency purge --all-nodes --older-than 24h --yes",
  ];
  static override flags = {
    node: Flags.string({
      description: "a node to purge (repeatable)",
      multiple: true,
      default: [],
    }),
    "all-nodes": Flags.boolean({ description: "every node" }),
    "older-than": Flags.string({ description: "only files older than this, e.g. 30m, 6h, 2d" }),
    output: outputFlag(["table", "json", "yaml"]),
    yes: yesFlag,
    "dry-run": dryRunFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Purge);
    const olderMs = durationFlagMs("older-than", flags["older-than"]);
    const olderThanMinutes = olderMs === undefined ? undefined : olderMs / 60_000;
    const cluster = await this.connect(flags);
    const nodes = await resolveNodes(cluster, flags.node, flags["all-nodes"]);
    const listedAt = new Date();
    const listed = await purgeNodes(cluster, { nodes, olderThanMinutes, delete: false });
    this.show(listed, flags.output);
    if (listed.length === 0 || flags["dry-run"]) {
      if (flags["dry-run"]) this.log("(dry run: nothing was deleted)");
      return;
    }
    await confirm(`Delete these ${listed.length} file(s) for good?`, flags.yes);
    const deleted = await purgeNodes(cluster, {
      nodes,
      olderThanMinutes,
      delete: true,
      notNewerThan: listedAt,
    });
    const total = deleted.reduce((sum, f) => sum + f.bytes, 0);
    this.log(
      `deleted ${deleted.length} file(s), ${formatBytes(total)}, on ${nodes.join(", ")}. This cannot be undone.`,
    );
  }

  private show(files: PurgedFile[], output: string) {
    if (output === "json" || output === "yaml") {
      this.log(formatList(files, output));
      return;
    }
    if (files.length === 0) {
      this.log("no files to purge");
      return;
    }
    this.log(
      formatTable(files, [
        { header: "NODE", value: (f) => f.node },
        { header: "SIZE", value: (f) => formatBytes(f.bytes) },
        { header: "MODIFIED", value: (f) => f.modified },
        { header: "PATH", value: (f) => f.path },
      ]),
    );
    const total = files.reduce((sum, f) => sum + f.bytes, 0);
    this.log(`${files.length} file(s), ${formatBytes(total)}`);
  }
}
