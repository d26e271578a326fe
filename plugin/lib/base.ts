// What every kubectl-coredog command shares: kubectl's flags, the cluster connection, and errors for people.
import { Command, Flags, type Interfaces } from "@oclif/core";
import { connect, type Cluster } from "./kube.js";
import { explainKubeError, UserError } from "./errors.js";

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)["baseFlags"] & T["flags"]
>;

export abstract class BaseCommand extends Command {
  static override baseFlags = {
    kubeconfig: Flags.string({
      description: "path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)",
      helpGroup: "KUBECTL",
    }),
    context: Flags.string({
      description: "the kubeconfig context to use",
      helpGroup: "KUBECTL",
    }),
  };

  private cluster?: Promise<Cluster>;
  protected server?: string;

  protected async connect(flags: { kubeconfig?: string; context?: string }): Promise<Cluster> {
    this.cluster ??= connect({ kubeconfig: flags.kubeconfig, context: flags.context }).then((c) => {
      this.server = c.server;
      return c;
    });
    return this.cluster;
  }

  /** The namespace to act in: -n, else the context's namespace, else "default". */
  protected async namespaceOf(flags: {
    namespace?: string;
    kubeconfig?: string;
    context?: string;
  }): Promise<string> {
    if (flags.namespace) return flags.namespace;
    return (await this.connect(flags)).defaultNamespace;
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }) {
    // oclif's own parse errors (unknown flag, missing argument) already read well.
    if (err.oclif?.exit !== undefined && !(err instanceof UserError)) return super.catch(err);
    const explained = explainKubeError(err, this.server);
    if (!explained) {
      if (process.env.COREDOG_DEBUG) console.error(err);
      this.logToStderr(`error: ${err.message || String(err)}`);
      this.exit(1);
    }
    this.logToStderr(`error: ${explained.message}`);
    if (explained.hint) this.logToStderr(`hint: ${explained.hint}`);
    this.exit(explained.exitCode);
  }
}

export const namespaceFlags = {
  namespace: Flags.string({ char: "n", description: "the namespace (default: the context's)" }),
  "all-namespaces": Flags.boolean({ char: "A", description: "across all namespaces" }),
};

export const outputFlag = (options: string[] = ["table", "wide", "json", "yaml"]) =>
  Flags.string({
    char: "o",
    description: "output format",
    options,
    default: options[0],
  });

export const selectorFlag = Flags.string({
  char: "l",
  description: "label selector, e.g. app=api,tier!=cache",
});

export const yesFlag = Flags.boolean({
  char: "y",
  description: "do not ask for confirmation",
  default: false,
});

export const dryRunFlag = Flags.boolean({
  description: "print what would change, change nothing",
  default: false,
});
