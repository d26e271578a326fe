import { Flags } from "@oclif/core";
import { BaseCommand, durationFlagMs, namespaceFlags, outputFlag } from "../lib/base.js";
import { UserError } from "../lib/errors.js";
import {
  eventColumns,
  eventRow,
  eventTime,
  followWatcherEvents,
  hasFingerprint,
  listWatcherEvents,
} from "../lib/events.js";
import { columnWidths, formatList, formatTable } from "../lib/output.js";

export default class Events extends BaseCommand {
  static override summary = "What the watchers did: cores captured, uploaded, failed";
  static override description =
    "The Kubernetes Events the watchers record on crashed pods (reportingComponent coredog-watcher). With -f, keeps printing new ones as they come.";
  static override examples = [
    "<%= config.bin %> events -A",
    "<%= config.bin %> events -n shop --since 1h",
    "<%= config.bin %> events -A -f",
    "<%= config.bin %> events -A -o json",
    "<%= config.bin %> events -A --fingerprint 1a2b3c4d5e6f",
  ];
  static override flags = {
    ...namespaceFlags,
    follow: Flags.boolean({ char: "f", description: "keep printing new events" }),
    since: Flags.string({ description: "only events newer than this, e.g. 10m, 2h" }),
    fingerprint: Flags.string({
      description:
        "only cores whose crash report fingerprint starts with this (the short id in the message's [fp …])",
    }),
    output: outputFlag(["table", "json", "yaml"]),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Events);
    const sinceMs = durationFlagMs("since", flags.since);
    const since = sinceMs === undefined ? undefined : Date.now() - sinceMs;
    const fp = flags.fingerprint;
    if (fp !== undefined && !/^[0-9a-fA-F]{1,12}$/.test(fp))
      throw new UserError(
        `--fingerprint "${fp}" is not a fingerprint's short id`,
        "give the 12 hex digits after [fp in an event's message, or the first few of them",
      );
    const wanted = (e: Parameters<typeof hasFingerprint>[0]) =>
      fp === undefined || hasFingerprint(e, fp);
    const cluster = await this.connect(flags);
    const namespace = flags["all-namespaces"] ? undefined : await this.namespaceOf(flags);
    const { items, resourceVersion } = await listWatcherEvents(cluster, namespace);
    const recent = items
      .filter((e) => since === undefined || (eventTime(e)?.getTime() ?? 0) >= since)
      .filter(wanted)
      .sort((a, b) => (eventTime(a)?.getTime() ?? 0) - (eventTime(b)?.getTime() ?? 0));
    const structured = flags.output === "json" || flags.output === "yaml";
    const color = Boolean(process.stdout.isTTY);
    if (!flags.follow) {
      if (structured) this.log(formatList(recent, flags.output as "json" | "yaml"));
      else if (recent.length === 0) this.logToStderr("No CoreDog events.");
      else this.log(formatTable(recent.map(eventRow), eventColumns(Date.now(), color)));
      return;
    }
    const columns = eventColumns(Date.now(), color);
    // Later lines keep at least the widths of the first screen, so they line up under its header.
    const widths = columnWidths(recent.map(eventRow), columns);
    const print = (rows: ReturnType<typeof eventRow>[], header: boolean) => {
      if (structured) for (const r of rows) this.log(JSON.stringify(r));
      else {
        const lines = formatTable(rows, columns, false, widths).split("\n");
        for (const line of header ? lines : lines.slice(1)) this.log(line);
      }
    };
    print(recent.map(eventRow), true);
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    await followWatcherEvents(
      cluster,
      namespace,
      resourceVersion,
      (e) => {
        if (wanted(e)) print([eventRow(e)], false);
      },
      controller.signal,
    );
  }
}
