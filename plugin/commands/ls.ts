import { Flags } from "@oclif/core";
import type { CoreV1Event } from "@kubernetes/client-node";
import { explainKubeError } from "../lib/errors.js";
import { BaseCommand, namespaceFlags, outputFlag, selectorFlag } from "../lib/base.js";
import { countCores, isOptedIn, lsColumns, podRow } from "../lib/listing.js";
import { formatList, formatTable } from "../lib/output.js";
import { EVENT_REASON_CAPTURED, NAMESPACE, WATCHER_SELECTOR } from "../../src/names.js";
import type { DirAccess } from "../../src/node-state.js";
import { nodeStateOf } from "../lib/doctor.js";

export default class Ls extends BaseCommand {
  static override summary =
    "List the pods that opted in, and whether they really got the directory";
  static override description =
    "INJECTED says whether the pod really mounts the node directory (a pod created before it was enabled, or skipped by the webhook, does not), and names the containers whose user cannot create its core there (see doctor). CORES and LAST CORE come from the watchers' Events.";
  static override examples = [
    "<%= config.bin %> ls -A",
    "<%= config.bin %> ls -n shop -l app=api -o wide",
    "<%= config.bin %> ls -A -o json",
  ];
  static override hiddenAliases = ["list"];
  static override flags = {
    ...namespaceFlags,
    selector: selectorFlag,
    output: outputFlag(),
    all: Flags.boolean({ description: "also pods that did not opt in" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Ls);
    const cluster = await this.connect(flags);
    const all = flags["all-namespaces"];
    const namespace = all ? undefined : await this.namespaceOf(flags);
    const fieldSelector = `reason=${EVENT_REASON_CAPTURED}`;
    const [podsResult, eventsResult, watchersResult] = await Promise.allSettled([
      namespace
        ? cluster.core.listNamespacedPod({ namespace, labelSelector: flags.selector })
        : cluster.core.listPodForAllNamespaces({ labelSelector: flags.selector }),
      namespace
        ? cluster.core.listNamespacedEvent({ namespace, fieldSelector })
        : cluster.core.listEventForAllNamespaces({ fieldSelector }),
      // the node directory's mode per node, to show pods whose user cannot write there
      cluster.core.listNamespacedPod({
        namespace: NAMESPACE,
        labelSelector: WATCHER_SELECTOR,
      }),
    ]);
    const dumpDirs = new Map<string, DirAccess>();
    if (watchersResult.status === "fulfilled") {
      for (const w of watchersResult.value.items) {
        const state = nodeStateOf(w);
        if (state?.dumpDir && w.spec?.nodeName) dumpDirs.set(w.spec.nodeName, state.dumpDir);
      }
    }
    if (podsResult.status === "rejected") throw podsResult.reason;
    const pods = podsResult.value;
    let events: { items: CoreV1Event[] } = { items: [] };
    if (eventsResult.status === "fulfilled") events = eventsResult.value;
    else {
      const why = explainKubeError(eventsResult.reason)?.message ?? String(eventsResult.reason);
      this.logToStderr(`warning: cannot read the watchers' Events, CORES is unknown: ${why}`);
    }
    const cores = countCores(events.items);
    const rows = pods.items
      .filter((p) => flags.all || isOptedIn(p))
      .map((p) => podRow(p, cores, dumpDirs))
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.pod.localeCompare(b.pod));
    if (flags.output === "json" || flags.output === "yaml") {
      this.log(formatList(rows, flags.output));
      return;
    }
    if (rows.length === 0) {
      this.logToStderr(
        namespace ? `No opted-in pods in namespace ${namespace}.` : "No opted-in pods.",
      );
      return;
    }
    const columns = lsColumns().filter((c) => !(namespace && c.header === "NAMESPACE"));
    this.log(formatTable(rows, columns, flags.output === "wide"));
  }
}
