import { PlanCommand } from "../../../lib/plan-command.js";
import { webhookRestorePlan } from "../../../lib/emergency.js";
import type { Cluster } from "../../../lib/kube.js";

export default class WebhookRestore extends PlanCommand {
  static override summary =
    "Bring back the MutatingWebhookConfiguration coredog exactly as saved by ignore or remove";
  static override examples = [
    "<%= config.bin %> emergency webhook restore",
    "<%= config.bin %> emergency webhook restore --yes",
  ];

  protected plan(cluster: Cluster) {
    return webhookRestorePlan(cluster);
  }
}
