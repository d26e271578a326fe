import { Flags } from "@oclif/core";
import { BaseCommand, dryRunFlag, namespaceFlag, selectorFlag, workloadArgs } from "../lib/base.js";
import { planDisable, rolloutNote, rolloutOf, workloadId } from "../lib/enablement.js";
import { findWorkloads, parseTarget } from "../lib/workloads.js";

export default class Disable extends BaseCommand {
  static override summary = "Stop collecting the core dumps of a workload's pods";
  static override description =
    "Removes the CoreDog annotations from the workload's pod template. A Deployment (and a StatefulSet or DaemonSet with RollingUpdate) rolls its pods by itself, since its pod template changed; other pods keep the directory until they are replaced.";
  static override examples = [
    "<%= config.bin %> disable deploy/api -n shop",
    "<%= config.bin %> disable deploy -l app=api --dry-run",
  ];
  static override args = workloadArgs;
  static override flags = {
    namespace: namespaceFlag,
    selector: selectorFlag,
    restart: Flags.boolean({
      description:
        "kept for scripts: removing the annotations already rolls what can roll (OnDelete pods must be deleted)",
      hidden: true,
    }),
    "dry-run": dryRunFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Disable);
    const ref = parseTarget("disable", args.target, args.name, flags.selector);
    const cluster = await this.connect(flags);
    const namespace = await this.namespaceOf(flags);
    const workloads = await findWorkloads(cluster, ref, namespace, flags.selector);
    const dry = flags["dry-run"];
    const suffix = dry ? " (dry run)" : "";
    for (const w of workloads) {
      const id = workloadId(w);
      const plan = planDisable(cluster, w);
      if (plan.noop !== undefined) {
        this.log(plan.noop);
        continue;
      }
      await plan.apply(dry);
      this.log(`${id} disabled${suffix}`);
      const rollout = rolloutOf(w);
      if (rollout === "rolls" || rollout === "on-delete") {
        // Removing the annotations changed the pod template: a rolling controller replaces the pods by itself.
        this.log(`  ${rolloutNote(w, "lose")}${rollout === "rolls" ? suffix : ""}`);
      } else if (w.kind !== "Pod") {
        this.log(`  running pods keep the directory until replaced`);
      } else {
        this.log(`  ${rolloutNote(w, "lose")}`);
      }
    }
  }
}
