import { Args, Flags } from "@oclif/core";
import { BaseCommand, dryRunFlag, selectorFlag } from "../lib/base.js";
import { DISABLE_ANNOTATIONS, enabledState } from "../lib/enablement.js";
import {
  findWorkloads,
  kindInfo,
  parseTarget,
  patchTemplateAnnotations,
  restartWorkload,
  rollsOnTemplateChange,
} from "../lib/workloads.js";

export default class Disable extends BaseCommand {
  static override summary = "Stop collecting the core dumps of a workload's pods";
  static override description =
    "Removes the CoreDog annotations from the workload's pod template. A Deployment (and a StatefulSet or DaemonSet with RollingUpdate) rolls its pods by itself, since its pod template changed; other pods keep the directory until they are replaced.";
  static override examples = [
    "<%= config.bin %> disable deploy/api -n shop --restart",
    "<%= config.bin %> disable deploy -l app=api --dry-run",
  ];
  static override args = {
    target: Args.string({ description: "TYPE/NAME, TYPE NAME, NAME, or TYPE with -l" }),
    name: Args.string({ description: "NAME, when TYPE is given as its own word" }),
  };
  static override flags = {
    namespace: Flags.string({ char: "n", description: "the namespace (default: the context's)" }),
    selector: selectorFlag,
    restart: Flags.boolean({
      description: "roll the workload so new pods come without the directory",
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
      const id = `${kindInfo(w.kind).plural}/${w.name}`;
      const state = enabledState(w);
      if (!state.enabled && state.path === undefined && state.containers === undefined) {
        this.log(`${id} was not enabled`);
        continue;
      }
      await patchTemplateAnnotations(cluster, w, DISABLE_ANNOTATIONS, dry);
      this.log(`${id} disabled${suffix}`);
      if (rollsOnTemplateChange(w)) {
        // Removing the annotations changed the pod template: the controller rolls the pods by itself.
        this.log(`  ${id} is rolling out${suffix}: its new pods come without the directory`);
      } else if (flags.restart && kindInfo(w.kind).restartable) {
        await restartWorkload(cluster, w, dry);
        this.log(`  ${id} restarted${suffix}`);
      } else if (w.kind !== "Pod") {
        this.log(`  running pods keep the directory until replaced (--restart rolls them)`);
      }
    }
  }
}
