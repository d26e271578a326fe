import { PlanCommand } from "../../../lib/plan-command.js";
import { webhookRemovePlan } from "../../../lib/emergency.js";
import type { Cluster } from "../../../lib/kube.js";

export default class WebhookRemove extends PlanCommand {
  static override summary =
    "Delete the MutatingWebhookConfiguration coredog, after saving it in the cluster (undo: webhook restore)";
  static override examples = [
    "<%= config.bin %> emergency webhook remove",
    "<%= config.bin %> emergency webhook remove --yes",
  ];

  protected plan(cluster: Cluster) {
    return webhookRemovePlan(cluster);
  }
}
