import { Flags } from "@oclif/core";
import { BaseCommand, namespaceFlags } from "../lib/base.js";
import { UserError } from "../lib/errors.js";
import { colorAllowed } from "../tui/components/theme.js";

export default class Tui extends BaseCommand {
  static override summary = "The operator's console: pods, events, enable/disable, emergency";
  static override description = `A terminal UI in the manner of k9s over the same functions as the other commands: the opted-in pods (or all pods) with the ls columns, a pod's CoreDog details and the webhook's decision for it, the watchers' Events as they arrive, enable/disable/restart with the same checks and a confirmation, and the emergency menu. The status bar always shows the webhook's failurePolicy and whether the watcher runs. Press ? inside for the keys.

It needs an interactive terminal; colours follow NO_COLOR.`;
  static override examples = [
    "<%= config.bin %> tui -A",
    "<%= config.bin %> tui -n shop",
    "<%= config.bin %> tui -A --all   # all pods, not only the opted-in ones",
  ];
  static override flags = {
    ...namespaceFlags,
    all: Flags.boolean({ description: "start with all pods, not only the opted-in ones" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Tui);
    if (!process.stdout.isTTY || !process.stdin.isTTY) {
      throw new UserError(
        `kubectl coredog tui needs an interactive terminal, but ${process.stdin.isTTY ? "standard output" : "standard input"} is not a TTY`,
        "for scripts and pipes use kubectl coredog ls, events -f or status",
      );
    }
    // Ink and React cost hundreds of milliseconds to import, client-node and the kubeconfig as
    // much again: only this command pays for the first, and the first frame does not wait for the second.
    const ui = import("../tui/run.js");
    const all = flags["all-namespaces"];
    const ready = (async () => {
      const cluster = await this.connect(flags);
      return { cluster, namespace: all ? undefined : await this.namespaceOf(flags) };
    })();
    ready.catch(() => undefined);
    const { runTui } = await ui;
    await runTui({
      ready,
      namespaceKnown: all || flags.namespace !== undefined,
      namespace: all ? undefined : flags.namespace,
      showAll: flags.all,
      color: colorAllowed(),
    });
  }
}
