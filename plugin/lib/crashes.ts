// CoreDump records as `crashes` lists them: newest first, filtered by time and labels, or folded by fingerprint.
import {
  COREDUMP_GROUP,
  COREDUMP_PLURAL,
  COREDUMP_VERSION,
  type CoreDump,
} from "../../src/coredump.js";
import { formatBytes } from "../../src/template.js";
import type { Cluster } from "./kube.js";
import { age, type Column } from "./output.js";
import { UserError } from "./errors.js";
import { requestDownloadLink } from "./pull-request.js";
import { parseSidecar, type CoreSidecar } from "../../src/core-sidecar.js";
import { errorText } from "../../src/error-text.js";

export async function listCoreDumps(
  cluster: Cluster,
  namespace: string | undefined,
  labelSelector?: string,
): Promise<CoreDump[]> {
  const base = { group: COREDUMP_GROUP, version: COREDUMP_VERSION, plural: COREDUMP_PLURAL };
  const sel = labelSelector ? { labelSelector } : {};
  try {
    const list = (
      namespace === undefined
        ? await cluster.custom.listClusterCustomObject({ ...base, ...sel })
        : await cluster.custom.listNamespacedCustomObject({ ...base, namespace, ...sel })
    ) as { items: CoreDump[] };
    return list.items;
  } catch (err) {
    throw notInstalled(err) ?? err;
  }
}

export async function getCoreDump(
  cluster: Cluster,
  namespace: string,
  name: string,
): Promise<CoreDump> {
  try {
    return (await cluster.custom.getNamespacedCustomObject({
      group: COREDUMP_GROUP,
      version: COREDUMP_VERSION,
      plural: COREDUMP_PLURAL,
      namespace,
      name,
    })) as CoreDump;
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    if (e.code === 404 && String(e.body).includes(`"${name}"`))
      throw new UserError(
        `CoreDump ${name} does not exist in namespace ${namespace}`,
        `list them with: kubectl coredog crashes -n ${namespace}`,
      );
    throw notInstalled(err) ?? err;
  }
}

function notInstalled(err: unknown): UserError | undefined {
  const e = err as { code?: number; body?: unknown };
  if (e.code === 404 && !String(e.body).includes('coredumps.coredog.io "'))
    return new UserError(
      "this cluster does not serve CoreDump records (coredumps.coredog.io)",
      "install or upgrade CoreDog: kubectl apply -k manifests",
    );
  return undefined;
}

export function crashedAt(r: CoreDump): number {
  return Date.parse(r.spec.crashedAt) || 0;
}

/** Newest first; `since`: only records that crashed at or after it. */
export function selectCrashes(records: CoreDump[], since?: number): CoreDump[] {
  return records
    .filter((r) => since === undefined || crashedAt(r) >= since)
    .sort((a, b) => crashedAt(b) - crashedAt(a) || a.metadata.name.localeCompare(b.metadata.name));
}

export function workloadOf(r: CoreDump): string {
  const w = r.spec.workload;
  return w ? `${w.kind.toLowerCase()}/${w.name}` : `pod/${r.spec.pod.name}`;
}

export function crashColumns(allNamespaces: boolean, now = Date.now()): Column<CoreDump>[] {
  return [
    ...(allNamespaces
      ? [{ header: "NAMESPACE", value: (r: CoreDump) => r.metadata.namespace }]
      : []),
    { header: "NAME", value: (r) => r.metadata.name },
    { header: "CRASHED", value: (r) => age(r.spec.crashedAt, now) },
    { header: "POD", value: (r) => r.spec.pod.name },
    { header: "CONTAINER", value: (r) => r.spec.container ?? "" },
    { header: "SIGNAL", value: (r) => r.spec.signal?.name ?? "" },
    { header: "FINGERPRINT", value: (r) => r.spec.fingerprint.short },
    { header: "SIZE", value: (r) => formatBytes(r.spec.storage.size) },
    { header: "WORKLOAD", value: workloadOf, wide: true },
    { header: "NODE", value: (r) => r.spec.node, wide: true },
    { header: "IMAGE", value: (r) => r.spec.image ?? "", wide: true },
    { header: "TOP FRAME", value: (r) => r.spec.frames?.[0] ?? "", wide: true },
  ];
}

export interface CrashGroup {
  fingerprint: string;
  id: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  workloads: string[];
  namespaces: string[];
  signal: string;
  topFrame: string;
  /** The newest record of the group. */
  latest: string;
}

/** Folds records (newest first) by fingerprint; groups ordered by last seen, newest first. */
export function groupCrashes(records: CoreDump[]): CrashGroup[] {
  const groups = new Map<string, CrashGroup>();
  for (const r of records) {
    const id = r.spec.fingerprint.id;
    let g = groups.get(id);
    if (!g) {
      g = {
        fingerprint: r.spec.fingerprint.short,
        id,
        count: 0,
        firstSeen: r.spec.crashedAt,
        lastSeen: r.spec.crashedAt,
        workloads: [],
        namespaces: [],
        signal: r.spec.signal?.name ?? "",
        topFrame: r.spec.frames?.[0] ?? "",
        latest: `${r.metadata.namespace}/${r.metadata.name}`,
      };
      groups.set(id, g);
    }
    g.count++;
    if (crashedAt(r) < Date.parse(g.firstSeen)) g.firstSeen = r.spec.crashedAt;
    if (crashedAt(r) > Date.parse(g.lastSeen)) {
      g.lastSeen = r.spec.crashedAt;
      g.latest = `${r.metadata.namespace}/${r.metadata.name}`;
    }
    const w = `${r.metadata.namespace}/${workloadOf(r)}`;
    if (!g.workloads.includes(w)) g.workloads.push(w);
    if (!g.namespaces.includes(r.metadata.namespace)) g.namespaces.push(r.metadata.namespace);
  }
  return [...groups.values()].sort(
    (a, b) => Date.parse(b.lastSeen) - Date.parse(a.lastSeen) || a.id.localeCompare(b.id),
  );
}

export function groupColumns(now = Date.now()): Column<CrashGroup>[] {
  const list = (xs: string[]) =>
    xs.length > 2 ? `${xs.slice(0, 2).join(",")},+${xs.length - 2}` : xs.join(",");
  return [
    { header: "FINGERPRINT", value: (g) => g.fingerprint },
    { header: "COUNT", value: (g) => String(g.count) },
    { header: "FIRST SEEN", value: (g) => age(g.firstSeen, now) },
    { header: "LAST SEEN", value: (g) => age(g.lastSeen, now) },
    { header: "SIGNAL", value: (g) => g.signal },
    { header: "WORKLOADS", value: (g) => list(g.workloads) },
    { header: "TOP FRAME", value: (g) => g.topFrame },
    { header: "LATEST", value: (g) => g.latest, wide: true },
  ];
}

/** `crashes show`: the record as a person reads it. */
export function describeCrash(r: CoreDump): string {
  const s = r.spec;
  const lines: [string, string | undefined][] = [
    ["Name", r.metadata.name],
    ["Namespace", r.metadata.namespace],
    ["Crashed", s.crashedAt],
    ["Pod", `${s.pod.name}${s.pod.uid ? ` (uid ${s.pod.uid})` : ""}`],
    ["Container", s.container],
    ["Image", s.image],
    ["Workload", s.workload ? `${s.workload.kind}/${s.workload.name}` : undefined],
    ["Node", s.node],
    ["Executable", s.executable],
    [
      "Signal",
      s.signal
        ? [
            s.signal.name,
            s.signal.number !== undefined ? `(${s.signal.number})` : "",
            s.signal.code ?? "",
          ]
            .filter(Boolean)
            .join(" ")
        : undefined,
    ],
    [
      "Fault",
      s.fault
        ? [s.fault.description, s.fault.address ? `at ${s.fault.address}` : ""]
            .filter(Boolean)
            .join(" ")
        : undefined,
    ],
    [
      "Fingerprint",
      `${s.fingerprint.id}${s.fingerprint.fallback ? " (no crash report: workload + executable + signal)" : ""}`,
    ],
    ["Truncated", s.truncated],
    ["Stored", `${s.storage.location ?? s.storage.key}`],
    [
      "Size",
      `${s.storage.size} bytes${s.storage.storedBytes !== undefined ? `, ${s.storage.storedBytes} stored` : ""} (${s.storage.compression})`,
    ],
    ["SHA-256", s.storage.sha256],
  ];
  const width = Math.max(...lines.map(([k]) => k.length)) + 2;
  const out = lines
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`);
  if (s.frames?.length) {
    out.push("Backtrace (crashing thread):");
    s.frames.forEach((f, i) => out.push(`  #${i} ${f}`));
  }
  out.push(
    `Pull:${" ".repeat(width - 5)}kubectl coredog pull ${r.metadata.name} -n ${r.metadata.namespace}`,
  );
  return out.join("\n");
}

/**
 * The sidecar document beside a record's core (the whole crash report), through a short-lived link from the
 * watcher holding the records' Lease, as for a pull. Never throws: what stopped it is the error.
 */
export async function fetchCrashReport(
  cluster: Cluster,
  namespace: string,
  name: string,
): Promise<{ doc: CoreSidecar } | { error: string }> {
  try {
    const link = await requestDownloadLink(cluster, namespace, name, 15_000, "report");
    const res = await fetch(link.url, { signal: AbortSignal.timeout(15_000) });
    if (!res.ok) return { error: `the store answered HTTP ${res.status} for the report` };
    return { doc: parseSidecar(await res.text()) };
  } catch (err) {
    return { error: errorText(err) };
  }
}
