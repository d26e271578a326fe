// What the details pane shows for one pod: pure, from the pod, its Namespace and the watchers' Events.
import type { CoreV1Event, V1Namespace, V1Pod } from "@kubernetes/client-node";
import { decide } from "../../src/injection.js";
import { EVENT_REASON_UPLOADED } from "../../src/names.js";
import { eventRow, eventTime } from "../lib/events.js";
import { isOptedIn, podRow } from "../lib/listing.js";
import type { CoreEntry, PodDetails } from "./types.js";

const UPLOADED_TO = / uploaded to (\S+)/;

export function coreEntries(pod: V1Pod, events: CoreV1Event[], limit = 10): CoreEntry[] {
  const uid = pod.metadata?.uid;
  const ns = pod.metadata?.namespace;
  const name = pod.metadata?.name;
  return events
    .filter((e) => {
      const o = e.involvedObject;
      return uid && o?.uid ? o.uid === uid : o?.namespace === ns && o?.name === name;
    })
    .sort((a, b) => (eventTime(b)?.getTime() ?? 0) - (eventTime(a)?.getTime() ?? 0))
    .slice(0, limit)
    .map((e) => {
      const r = eventRow(e);
      const object =
        r.reason === EVENT_REASON_UPLOADED ? UPLOADED_TO.exec(r.message)?.[1] : undefined;
      return {
        time: r.time,
        reason: r.reason,
        message: r.message,
        count: r.count,
        ...(r.container ? { container: r.container } : {}),
        object,
      };
    });
}

export function podDetails(
  pod: V1Pod,
  namespace: V1Namespace | undefined,
  events: CoreV1Event[],
): PodDetails {
  const row = podRow(pod, new Map());
  const annotations = Object.entries(pod.metadata?.annotations ?? {});
  const ours = annotations
    .filter(([k]) => k.startsWith("coredog.io/"))
    .sort(([a], [b]) => a.localeCompare(b));
  const decision = decide(pod, namespace);
  let text: string;
  if (decision.inject) {
    const where = [...decision.initContainers.map((c) => `${c} (init)`), ...decision.containers];
    text = `inject: ${decision.path} in ${where.join(", ")}`;
  } else {
    text = `skip: ${decision.reason}`;
  }
  return {
    key: `${row.namespace}/${row.pod}`,
    namespace: row.namespace,
    name: row.pod,
    node: row.node,
    phase: row.phase,
    owner: row.owner,
    created: row.created,
    coredogAnnotations: ours,
    otherAnnotations: annotations.length - ours.length,
    optedIn: isOptedIn(pod),
    injected: row.injected,
    path: row.path,
    containers: row.containers,
    decision: { inject: decision.inject, text },
    cores: coreEntries(pod, events),
  };
}
