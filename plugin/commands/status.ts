import { BaseCommand, outputFlag } from "../lib/base.js";
import { gatherCluster } from "../lib/diagnose.js";
import { formatTable, paint } from "../lib/output.js";
import { describePullFailures, pullFix } from "../lib/image-pull.js";
import { buildStatus, nodeColumns } from "../lib/status.js";
import { stringify } from "yaml";
import { formatBytes } from "../../src/template.js";

export default class Status extends BaseCommand {
  static override summary = "Health of the webhook and of the watcher on each node";
  static override description =
    "The webhook's pods and failurePolicy, whether the watchers are paused, the settings' validity, and per node: the watcher, kernel.core_pattern, files and bytes waiting, the last upload and the last error (as each watcher publishes them on its pod), the bytes under the node directory and the limits acting on it (Limits: which and why), and the store's own words when it refuses uploads.";
  static override examples = ["<%= config.bin %> status", "<%= config.bin %> status -o json"];
  static override flags = { output: outputFlag(["table", "json", "yaml"]) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Status);
    const cluster = await this.connect(flags);
    const status = buildStatus(await gatherCluster(cluster));
    if (flags.output === "json") return this.log(JSON.stringify(status, null, 2));
    if (flags.output === "yaml") return this.log(stringify(status).trimEnd());
    const w = status.webhook;
    const webhook = !w.configured
      ? paint("bad", "not configured (MutatingWebhookConfiguration coredog missing)")
      : `${w.ready}/${w.pods} pods ready, failurePolicy ${[...new Set(w.failurePolicy)].join(",")}`;
    this.log(
      `webhook:  ${w.readError ? paint("warn", `cannot be read: ${w.readError}`) : webhook}`,
    );
    const watcher = status.watcher;
    this.log(
      `watcher:  ${watcher.readError ? paint("warn", `cannot be read: ${watcher.readError}`) : !watcher.installed ? paint("bad", "not installed") : watcher.paused ? paint("warn", "paused (kubectl coredog emergency watcher resume)") : `running on ${status.nodes.length} node(s)`}`,
    );
    this.log(
      `settings: ${status.settings.valid ? "valid" : paint("bad", status.settings.errors.join("; "))}`,
    );
    if (status.imagePull.length > 0) {
      this.log(`image:    ${paint("bad", describePullFailures(status.imagePull))}`);
      this.log(`          fix: ${pullFix(status.imagePull)}`);
    }
    if (status.nodes.length > 0) {
      this.log("");
      this.log(formatTable(status.nodes, nodeColumns()));
      const refused = status.nodes.filter((n) => n.storageError);
      if (refused.length > 0) this.log("");
      for (const n of refused) {
        this.log(`${paint("bad", `storage on ${n.node}:`)} ${n.storageError}`);
      }
      const limited = status.nodes.filter((n) => n.limits && n.limits.length > 0);
      if (limited.length > 0) this.log("");
      for (const n of limited)
        for (const l of n.limits!)
          this.log(
            `${paint("warn", `limit on ${n.node}:`)} ${l}; node directory ${formatBytes(n.dirBytes ?? 0)}${n.maxUseBytes !== undefined ? ` of MaxUse ${formatBytes(n.maxUseBytes)}` : ""}`,
          );
    }
  }
}
