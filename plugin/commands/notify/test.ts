import { Flags } from "@oclif/core";
import { BaseCommand, outputFlag } from "../../lib/base.js";
import { pickWatcher, runInWatcher } from "../../lib/notify-test.js";
import { paint } from "../../lib/output.js";
import { formatNotifyTest } from "../../../src/notify-test.js";

export default class NotifyTest extends BaseCommand {
  static override summary =
    "Send a test message through the notice channels and show each provider's answer";
  static override description =
    "Runs in a watcher's container (kubectl exec, so it needs create pods/exec in coredog-system): the message leaves from a node, signed with the watcher's mounted Secret coredog-notify, and reads like a real core's notice (the messageTemplate filled for a pod named coredog-notify-test), so a robot with custom keywords, signing or an IP allowlist judges it as it would a real one. A channel's keyword filter is not applied. Exits 1 when a channel did not take it.";
  static override examples = [
    "<%= config.bin %> notify test",
    "<%= config.bin %> notify test --channel 1",
    "<%= config.bin %> notify test --node worker-3 -o json",
  ];
  static override flags = {
    channel: Flags.integer({ description: "only NoticeChannel[N] (from 0)", min: 0 }),
    node: Flags.string({
      description: "send from the watcher on this node (default: any ready one)",
    }),
    output: outputFlag(["text", "json"]),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(NotifyTest);
    const cluster = await this.connect(flags);
    const pod = await pickWatcher(cluster, flags.node);
    const out = await runInWatcher(pod, {
      ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
      ...(flags.context ? { context: flags.context } : {}),
      ...(flags.channel !== undefined ? { channel: flags.channel } : {}),
    });
    const failed = out.results.filter((r) => !r.ok).length;
    if (flags.output === "json") this.log(JSON.stringify(out, null, 2));
    else {
      this.log(paint("dim", `from ${pod.metadata?.name} on ${out.node}:`));
      this.log(formatNotifyTest(out.results));
      this.log(
        failed === 0
          ? paint("ok", `${out.results.length} channel(s) took the test message`)
          : paint("bad", `${failed} of ${out.results.length} channel(s) did not take it`),
      );
    }
    if (failed > 0) this.exit(1);
  }
}
