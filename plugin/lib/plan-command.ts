// Runs an emergency plan the same way everywhere: show, confirm, apply, say how to undo.
import { BaseCommand, dryRunFlag, yesFlag } from "./base.js";
import { confirm } from "./confirm.js";
import type { Cluster } from "./kube.js";
import type { Plan } from "./emergency.js";
import { paint } from "./output.js";

export abstract class PlanCommand extends BaseCommand {
  static override flags = { yes: yesFlag, "dry-run": dryRunFlag };

  protected abstract plan(cluster: Cluster): Promise<Plan>;

  async run(): Promise<void> {
    const { flags } = await this.parse(this.constructor as typeof PlanCommand);
    const cluster = await this.connect(flags);
    const plan = await this.plan(cluster);
    if (plan.noop) {
      this.log(`nothing to do: ${plan.noop}`);
      return;
    }
    this.log("This will:");
    for (const change of plan.changes) this.log(`  - ${change}`);
    if (flags["dry-run"]) {
      this.log("(dry run: nothing was changed)");
      return;
    }
    await confirm("Proceed?", flags.yes);
    await plan.apply();
    this.log(paint("ok", "done."));
    if (plan.undo) this.log(`undo with: ${plan.undo}`);
  }
}
