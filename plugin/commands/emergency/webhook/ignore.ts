import { PlanCommand } from "../../../lib/plan-command.js";
import { webhookIgnorePlan } from "../../../lib/emergency.js";
import type { Cluster } from "../../../lib/kube.js";

export default class WebhookIgnore extends PlanCommand {
  static override summary =
    "Set failurePolicy Ignore on every webhook of coredog, so it can never block pods (saved first; undo: webhook restore)";
  static override examples = [
    "<%= config.bin %> emergency webhook ignore",
    "<%= config.bin %> emergency webhook ignore --yes",
  ];

  protected plan(cluster: Cluster) {
    return webhookIgnorePlan(cluster);
  }
}
