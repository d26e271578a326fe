import { Args } from "@oclif/core";
import { PlanCommand } from "../../lib/plan-command.js";
import { restartPlan, type RestartTarget } from "../../lib/emergency.js";
import type { Cluster } from "../../lib/kube.js";

export default class Restart extends PlanCommand {
  static override summary = "Rolling restart of the watcher DaemonSet or the webhook Deployment";
  static override examples = [
    "<%= config.bin %> emergency restart watcher --yes",
    "<%= config.bin %> emergency restart webhook",
  ];
  static override args = {
    target: Args.string({
      description: "what to restart",
      options: ["watcher", "webhook"],
      required: true,
    }),
  };

  protected async plan(cluster: Cluster) {
    const { args } = await this.parse(Restart);
    return restartPlan(cluster, args.target as RestartTarget);
  }
}
