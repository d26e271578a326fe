// What every kubectl-coredog command shares: kubectl's flags, the cluster connection, and errors for people.
import { Args, Command, Flags, type Interfaces } from "@oclif/core";
import { connect, type Cluster } from "./kube.js";
import { UserError, explainKubeError } from "./errors.js";
import { parseDuration } from "../../src/duration.js";

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
    // this.exit() and --help travel as errors too.
    if (
      (err as { code?: unknown }).code === "EEXIT" ||
      /^Unexpected arguments?: (-h|--help|help)/.test(err.message)
    ) {
      return super.catch(err);
    }
    // oclif's own parse errors (unknown flag, missing argument, a value not among the options): one
    // sentence, and where to read the usage, like kubectl.
    if ("parse" in err || err.oclif?.exit === 2) {
      this.logToStderr(`error: ${usageSentence(err.message)}`);
      this.logToStderr(
        `See '${this.config.bin} ${this.id?.split(":").join(" ") ?? ""} --help' for usage.`.replace(
          "  ",
          " ",
        ),
      );
      this.exit(2);
    }
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

/** oclif's multi-line parse error as one line, without its "See more help" tail. */
export function usageSentence(message: string): string {
  return message
    .split("\n")
    .map((l) => l.replace(/^\s*(›\s*)?(Error:\s*)?/, "").trim())
    .filter((l) => l && !/^See more help with --help$/.test(l))
    .join(": ")
    .replace(/\s+/g, " ")
    .replace(/:\s*:/g, ":");
}

export const namespaceFlag = Flags.string({
  char: "n",
  description: "the namespace (default: the context's)",
});

export const namespaceFlags = {
  namespace: namespaceFlag,
  "all-namespaces": Flags.boolean({ char: "A", description: "across all namespaces" }),
};

/** The workload of enable and disable: TYPE/NAME, TYPE NAME, NAME, or TYPE with -l. */
export const workloadArgs = {
  target: Args.string({ description: "TYPE/NAME, TYPE NAME, NAME, or TYPE with -l" }),
  name: Args.string({ description: "NAME, when TYPE is given as its own word" }),
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

/** A duration flag (`--since 24h`) in milliseconds; undefined when not given; a clear error when not a duration. */
export function durationFlagMs(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === null)
    throw new UserError(`--${flag} "${value}" is not a duration`, "write e.g. 30m, 24h or 7d");
  return ms;
}
