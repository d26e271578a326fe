import { Args, Flags } from "@oclif/core";
import { BaseCommand, dryRunFlag, selectorFlag } from "../lib/base.js";
import { decideFor, enableAnnotations, enabledState, readNamespace } from "../lib/enablement.js";
import { UserError } from "../lib/errors.js";
import { paint } from "../lib/output.js";
import {
  findWorkloads,
  kindInfo,
  parseRef,
  patchTemplateAnnotations,
  restartWorkload,
  rollsOnTemplateChange,
  templateOf,
} from "../lib/workloads.js";
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
  static override args = {
    target: Args.string({ description: "TYPE/NAME, TYPE NAME, NAME, or TYPE with -l" }),
    name: Args.string({ description: "NAME, when TYPE is given as its own word" }),
  };
  static override flags = {
    namespace: Flags.string({ char: "n", description: "the namespace (default: the context's)" }),
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
    const ref = parseRef(args.target, args.name);
    if (ref.kind && !ref.name && flags.selector === undefined) {
      throw new UserError(
        `name a ${ref.kind} or select many with -l`,
        "e.g. enable deploy/api or enable deploy -l app=api",
      );
    }
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
    let refused = 0;
    for (const w of workloads) {
      const id = `${kindInfo(w.kind).plural}/${w.name}`;
      const decision = decideFor(w, annotations, ns);
      if (!decision.inject) {
        refused++;
        this.logToStderr(`${paint("bad", "refused", process.stderr)} ${id}: ${decision.reason}`);
        continue;
      }
      const before = enabledState(w);
      const unchanged =
        before.enabled &&
        before.path === flags.path &&
        (before.containers ?? null) === (annotations["coredog.io/container"] ?? null);
      if (!unchanged) await patchTemplateAnnotations(cluster, w, annotations, dry);
      const where = `${decision.path} in ${[...decision.initContainers, ...decision.containers].join(", ")}`;
      const suffix = dry ? " (dry run)" : "";
      this.log(`${id} ${unchanged ? "already enabled" : "enabled"}${suffix}: cores go to ${where}`);
      if (dry) {
        const current = templateOf(w).metadata?.annotations ?? {};
        for (const [key, value] of Object.entries(annotations)) {
          if (value === null && current[key] === undefined) continue;
          if (value !== null && current[key] === value) continue;
          this.log(`  ${value === null ? `- ${key}` : `+ ${key}: "${value}"`}`);
        }
      }
      if (w.kind === "Pod") {
        this.log(
          `  a running pod cannot get a new volume: recreate pod/${w.name} (or its owner) for the directory to appear`,
        );
      } else if (kindInfo(w.kind).restartable && !unchanged && rollsOnTemplateChange(w)) {
        // The annotations changed the pod template: the controller is already rolling the pods.
        this.log(`  ${id} is rolling out${suffix}: its new pods get the directory`);
      } else if (flags.restart && kindInfo(w.kind).restartable) {
        await restartWorkload(cluster, w, dry);
        this.log(`  ${id} restarted${suffix}: new pods get the directory`);
      } else if (flags.restart) {
        this.log(
          `  ${kindInfo(w.kind).plural} cannot be rolled: pods it creates from now on get the directory`,
        );
      } else if (!unchanged || kindInfo(w.kind).restartable) {
        this.log(
          `  existing pods keep running without it: add --restart, or run kubectl rollout restart ${id} -n ${namespace}`,
        );
      }
    }
    if (refused > 0) {
      throw new UserError(
        `${refused} of ${workloads.length} workload(s) refused: the webhook would skip them for the reason shown`,
      );
    }
  }
}
