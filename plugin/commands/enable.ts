import { Flags } from "@oclif/core";
import { BaseCommand, dryRunFlag, namespaceFlag, selectorFlag, workloadArgs } from "../lib/base.js";
import {
  enableAnnotations,
  planEnable,
  readNamespace,
  rolloutNote,
  rolloutOf,
  workloadId,
} from "../lib/enablement.js";
import { UserError } from "../lib/errors.js";
import { paint } from "../lib/output.js";
import { findWorkloads, kindInfo, parseTarget, restartWorkload } from "../lib/workloads.js";
import { DEFAULT_CONTAINER_PATH } from "../../src/names.js";

export default class Enable extends BaseCommand {
  static override summary = "Collect the core dumps of a workload's pods";
  static override description = `Writes the CoreDog annotations into the workload's pod template. New pods then get the node directory /data/coredog-system/dumps/<namespace>/<pod>/<container>/ at --path, one per container. The webhook's own decision runs first: what the webhook would skip (an unsafe path, a namespace that enforces Pod Security baseline/restricted, a container that does not exist) is refused here with the same reason.

Running pods keep their volumes: --restart rolls a Deployment, StatefulSet or DaemonSet; a bare pod must be recreated.`;
  static override examples = [
    "<%= config.bin %> enable deploy/api -n shop --restart",
    "<%= config.bin %> enable deployment api --path /var/crash --container app,worker",
    "<%= config.bin %> enable sts -l tier=db -n data --dry-run",
    "<%= config.bin %> enable api   # the one Deployment, StatefulSet, DaemonSet, CronJob, Job or Pod named api",
  ];
  static override args = workloadArgs;
  static override flags = {
    namespace: namespaceFlag,
    selector: selectorFlag,
    path: Flags.string({
      description: "where the directory appears in the containers",
      default: DEFAULT_CONTAINER_PATH,
    }),
    container: Flags.string({
      char: "c",
      description: "only these containers, comma-separated (default: all, init containers too)",
    }),
    restart: Flags.boolean({ description: "roll the workload so new pods get the directory" }),
    "dry-run": dryRunFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Enable);
    const ref = parseTarget("enable", args.target, args.name, flags.selector);
    const cluster = await this.connect(flags);
    const namespace = await this.namespaceOf(flags);
    const workloads = await findWorkloads(cluster, ref, namespace, flags.selector);
    if (workloads.length === 0) {
      throw new UserError(
        `no ${ref.kind ? kindInfo(ref.kind).plural : "workloads"} match -l ${flags.selector} in namespace ${namespace}`,
      );
    }
    const containers = flags.container
      ?.split(",")
      .map((c) => c.trim())
      .filter(Boolean);
    const annotations = enableAnnotations({ path: flags.path, containers });
    const ns = await readNamespace(cluster, namespace);
    const dry = flags["dry-run"];
    const suffix = dry ? " (dry run)" : "";
    let refused = 0;
    for (const w of workloads) {
      const id = workloadId(w);
      const plan = planEnable(cluster, w, annotations, ns);
      if (plan.refused !== undefined) {
        refused++;
        this.logToStderr(`${paint("bad", "refused", process.stderr)} ${id}: ${plan.refused}`);
        continue;
      }
      await plan.apply(dry);
      const changed = plan.noop === undefined;
      this.log(
        `${id} ${changed ? "enabled" : "already enabled"}${suffix}: cores go to ${plan.target}`,
      );
      if (dry) for (const c of plan.changes) this.log(`  ${c}`);
      const rollout = rolloutOf(w);
      if (changed && rollout !== "rolls") {
        this.log(
          `  ${rolloutNote(w, "get")}${rollout === "future-pods" && flags.restart ? ` (${kindInfo(w.kind).plural} cannot be rolled)` : ""}`,
        );
      } else if (changed) {
        // The annotations changed the pod template: the controller is already rolling the pods.
        this.log(`  ${rolloutNote(w, "get")}${suffix}`);
      } else if (flags.restart && rollout === "rolls") {
        await restartWorkload(cluster, w, dry);
        this.log(`  ${id} restarted${suffix}: new pods get the directory`);
      } else if (rollout === "rolls") {
        this.log(
          `  existing pods keep running without it: add --restart, or run kubectl rollout restart ${id} -n ${namespace}`,
        );
      } else if (rollout === "on-delete" || rollout === "recreate") {
        this.log(`  ${rolloutNote(w, "get")}`);
      }
    }
    if (refused > 0) {
      throw new UserError(
        `${refused} of ${workloads.length} workload(s) refused: the webhook would skip them for the reason shown`,
      );
    }
  }
}
