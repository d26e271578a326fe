import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../lib/base.js";
import { PROBLEMS, runChecks, verdict, type Check } from "../lib/doctor.js";
import { gatherCluster, gatherForPod } from "../lib/diagnose.js";
import { outputFlag } from "../lib/base.js";
import { paint } from "../lib/output.js";

const MARK: Record<Check["status"], string> = { pass: "✓", fail: "✗", warn: "!", info: "·" };
const TONE = { pass: "ok", fail: "bad", warn: "warn", info: "dim" } as const;

export default class Doctor extends BaseCommand {
  static override summary =
    "Explain what is wrong: the troubleshooting guide's six problems as checks";
  static override description =
    "Without a pod: the webhook (configuration, pods, certificate) and the settings. With a pod: also the webhook's decision for it (the same function the webhook runs, so the reason matches its log), whether it really has the directory, the watcher and kernel.core_pattern on its node, upload errors, and whether a notice channel's keyword filters it out. Exits 1 when a check fails.";
  static override examples = [
    "<%= config.bin %> doctor",
    "<%= config.bin %> doctor my-pod -n shop",
    "<%= config.bin %> doctor my-pod -n shop -o json",
  ];
  static override args = { pod: Args.string({ description: "the pod to explain" }) };
  static override flags = {
    namespace: Flags.string({
      char: "n",
      description: "the pod's namespace (default: the context's)",
    }),
    output: outputFlag(["text", "json"]),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Doctor);
    const cluster = await this.connect(flags);
    const input = args.pod
      ? await gatherForPod(cluster, args.pod, await this.namespaceOf(flags))
      : { ...(await gatherCluster(cluster)), now: new Date() };
    const checks = runChecks(input);
    const result = verdict(checks);
    if (flags.output === "json") {
      this.log(JSON.stringify({ pod: args.pod, result, checks }, null, 2));
    } else {
      let problem = 0;
      for (const c of checks) {
        if (c.problem !== problem) {
          problem = c.problem;
          this.log(paint("bold", `${problem}. ${PROBLEMS[problem]}`));
        }
        this.log(
          `  ${paint(TONE[c.status], MARK[c.status])} ${c.title}${c.detail ? `: ${c.detail}` : ""}`,
        );
        if (c.fix && c.status !== "pass") this.log(`      fix: ${c.fix}`);
      }
      const failed = checks.filter((c) => c.status === "fail").length;
      this.log(
        result === "ok"
          ? paint("ok", "no problem found")
          : paint("bad", `${failed} problem(s) found`),
      );
    }
    if (result !== "ok") this.exit(1);
  }
}
