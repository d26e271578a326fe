import { PlanCommand } from "../../../lib/plan-command.js";
import { watcherPausePlan } from "../../../lib/emergency.js";
import type { Cluster } from "../../../lib/kube.js";

export default class WatcherPause extends PlanCommand {
  static override summary =
    "Stop every watcher pod: pins the DaemonSet to a node label no node has (a DaemonSet cannot be scaled)";
  static override examples = [
    "<%= config.bin %> emergency watcher pause",
    "<%= config.bin %> emergency watcher pause --yes",
  ];

  protected plan(cluster: Cluster) {
    return watcherPausePlan(cluster);
  }
}
