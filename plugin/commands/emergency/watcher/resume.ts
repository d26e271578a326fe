import { PlanCommand } from "../../../lib/plan-command.js";
import { watcherResumePlan } from "../../../lib/emergency.js";
import type { Cluster } from "../../../lib/kube.js";

export default class WatcherResume extends PlanCommand {
  static override summary = "Start the watchers again after a pause";
  static override examples = [
    "<%= config.bin %> emergency watcher resume",
    "<%= config.bin %> emergency watcher resume --yes",
  ];

  protected plan(cluster: Cluster) {
    return watcherResumePlan(cluster);
  }
}
