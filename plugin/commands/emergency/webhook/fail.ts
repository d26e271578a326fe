import { PlanCommand } from "../../../lib/plan-command.js";
import { webhookFailPlan } from "../../../lib/emergency.js";
import type { Cluster } from "../../../lib/kube.js";

export default class WebhookFail extends PlanCommand {
  static override summary =
    "Set failurePolicy Fail on every webhook of coredog (pods are refused while the webhook is down)";
  static override examples = [
    "<%= config.bin %> emergency webhook fail",
    "<%= config.bin %> emergency webhook fail --yes",
  ];

  protected plan(cluster: Cluster) {
    return webhookFailPlan(cluster);
  }
}
