import { PassThrough } from "node:stream";
import { createInterface } from "node:readline";
import { Flags } from "@oclif/core";
import type { V1Pod } from "@kubernetes/client-node";
import { BaseCommand } from "../lib/base.js";
import { UserError } from "../lib/errors.js";
import { paint } from "../lib/output.js";
import { parseDuration } from "../../src/duration.js";
import { NAMESPACE, WATCHER_SELECTOR, WEBHOOK_SELECTOR } from "../../src/names.js";

export default class Logs extends BaseCommand {
  static override summary = "The watchers' (or the webhook's) logs from every node, merged";
  static override description =
    "Like `kubectl logs -l app.kubernetes.io/component=watcher`, but for all pods at once, each line prefixed with its node, and with -f pods joining and leaving as they come (like stern).";
  static override examples = [
    "<%= config.bin %> logs -f",
    "<%= config.bin %> logs --component webhook --since 10m",
    "<%= config.bin %> logs --tail 50 | grep error",
  ];
  static override flags = {
    component: Flags.string({
      description: "whose logs",
      options: ["watcher", "webhook"],
      default: "watcher",
    }),
    follow: Flags.boolean({ char: "f", description: "keep streaming; pods that start later join" }),
    since: Flags.string({ description: "only lines newer than this, e.g. 10m" }),
    tail: Flags.integer({
      description: "lines from the end of each pod's log (default: all, or 10 with -f)",
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Logs);
    let sinceSeconds: number | undefined;
    if (flags.since !== undefined) {
      const ms = parseDuration(flags.since);
      if (ms === null) throw new UserError(`--since "${flags.since}" is not a duration`);
      sinceSeconds = Math.max(1, Math.round(ms / 1000));
    }
    const cluster = await this.connect(flags);
    const selector = flags.component === "webhook" ? WEBHOOK_SELECTOR : WATCHER_SELECTOR;
    const tailLines = flags.tail ?? (flags.follow ? 10 : undefined);
    const controller = new AbortController();
    const streams = new Map<string, Promise<void>>();
    const logApi = new cluster.k8s.Log(cluster.kc);

    const stream = (pod: V1Pod): Promise<void> => {
      const name = pod.metadata!.name!;
      const container = pod.spec?.containers?.[0]?.name ?? "";
      const prefix = paint("dim", `[${pod.spec?.nodeName ?? name}]`);
      const out = new PassThrough();
      const lines = createInterface({ input: out });
      lines.on("line", (line) => this.log(`${prefix} ${line}`));
      const done = new Promise<void>((resolve) => {
        out.on("end", resolve);
        out.on("close", resolve);
      });
      return logApi
        .log(NAMESPACE, name, container, out, {
          follow: flags.follow,
          tailLines,
          sinceSeconds,
          pretty: false,
        })
        .then((abort) => {
          controller.signal.addEventListener("abort", () => abort.abort(), { once: true });
          return done;
        })
        .catch((err: Error) => {
          this.warn(`cannot read the log of ${name}: ${err.message}`);
        })
        .finally(() => streams.delete(name));
    };

    const list = await cluster.core.listNamespacedPod({
      namespace: NAMESPACE,
      labelSelector: selector,
    });
    const running = list.items.filter(
      (p) =>
        p.status?.phase === "Running" ||
        p.status?.phase === "Succeeded" ||
        p.status?.phase === "Failed",
    );
    if (running.length === 0 && !flags.follow) {
      throw new UserError(
        `no ${flags.component} pods in namespace ${NAMESPACE}`,
        "is CoreDog installed? kubectl get pods -n coredog-system",
      );
    }
    for (const pod of running) streams.set(pod.metadata!.name!, stream(pod));
    if (!flags.follow) {
      await Promise.all(streams.values());
      return;
    }
    process.once("SIGINT", () => controller.abort());
    process.once("SIGTERM", () => controller.abort());
    const watch = new cluster.k8s.Watch(cluster.kc);
    const podsPath = `/api/v1/namespaces/${NAMESPACE}/pods`;
    let version = list.metadata?.resourceVersion;
    while (!controller.signal.aborted) {
      await new Promise<void>((resolve) => {
        watch
          .watch(
            podsPath,
            { labelSelector: selector, resourceVersion: version },
            (phase, pod: V1Pod) => {
              version = pod.metadata?.resourceVersion ?? version;
              const name = pod.metadata?.name;
              if (!name || phase === "DELETED" || streams.has(name)) return;
              if (pod.status?.phase === "Running") {
                this.logToStderr(
                  paint("dim", `+ ${name} on ${pod.spec?.nodeName ?? "?"}`, process.stderr),
                );
                streams.set(name, stream(pod));
              }
            },
            () => resolve(),
          )
          .then((abort) =>
            controller.signal.addEventListener("abort", () => abort.abort(), { once: true }),
          )
          .catch(() => resolve());
      });
      if (!controller.signal.aborted) await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
