// meta.k8s.io/v1 Table rendering per kind, with the columns kube-apiserver prints.
import type { KubeObject } from "./store.js";
import type { ResourceInfo } from "./resources.js";
import { jsonPathValue, type PrinterColumn } from "./custom-resources.js";

export interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

type Cell = string | number | boolean;
type AnyObj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function col(name: string, priority = 0, type = "string", format = ""): Column {
  return { name, type, format, description: name, priority };
}

/** Kubernetes' duration.HumanDuration. */
export function humanDuration(ms: number): string {
  if (ms < -1000) return "<invalid>";
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8)
    return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  if (h < 24 * 365 * 8) {
    const d = Math.floor(h / 24);
    return d % 365 === 0 ? `${Math.floor(d / 365)}y` : `${Math.floor(d / 365)}y${d % 365}d`;
  }
  return `${Math.floor(h / 24 / 365)}y`;
}

function age(ts: string | undefined): string {
  if (!ts) return "<unknown>";
  return humanDuration(Date.now() - Date.parse(ts));
}

const none = (v: unknown) => (v === undefined || v === null || v === "" ? "<none>" : String(v));

function selectorString(sel: AnyObj | undefined): string {
  if (!sel) return "<none>";
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const op = String(e.operator);
    if (op === "In") parts.push(`${e.key} in (${(e.values ?? []).join(",")})`);
    else if (op === "NotIn") parts.push(`${e.key} notin (${(e.values ?? []).join(",")})`);
    else if (op === "Exists") parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(",") : "<none>";
}

function containersOf(spec: AnyObj | undefined): [string, string] {
  const cs: AnyObj[] =
    spec?.template?.spec?.containers ?? spec?.jobTemplate?.spec?.template?.spec?.containers ?? [];
  return [cs.map((c) => c.name).join(","), cs.map((c) => c.image).join(",")];
}

function podStatus(p: AnyObj): { ready: string; status: string; restarts: string } {
  const spec = p.spec ?? {};
  const st = p.status ?? {};
  let reason: string = st.reason ?? st.phase ?? "Pending";
  const containers: AnyObj[] = spec.containers ?? [];
  let restarts = 0;
  let readyN = 0;
  let lastRestart: number | undefined;
  const inits: AnyObj[] = st.initContainerStatuses ?? [];
  let initializing = false;
  inits.forEach((c, i) => {
    restarts += c.restartCount ?? 0;
    const term = c.state?.terminated;
    if (term && term.exitCode === 0) return;
    if (initializing) return;
    if (term) {
      reason = term.reason
        ? `Init:${term.reason}`
        : term.signal
          ? `Init:Signal:${term.signal}`
          : `Init:ExitCode:${term.exitCode}`;
      initializing = true;
    } else if (c.state?.waiting?.reason && c.state.waiting.reason !== "PodInitializing") {
      reason = `Init:${c.state.waiting.reason}`;
      initializing = true;
    } else if (!c.started || c.state?.waiting) {
      reason = `Init:${i}/${(spec.initContainers ?? []).length}`;
      initializing = true;
    }
  });
  if (!initializing) {
    let hasRunning = false;
    const statuses: AnyObj[] = [...(st.containerStatuses ?? [])].reverse();
    for (const c of statuses) {
      restarts += c.restartCount ?? 0;
      const lt = c.lastState?.terminated?.finishedAt;
      if (lt) lastRestart = Math.max(lastRestart ?? 0, Date.parse(lt));
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
      else if (c.state?.terminated) {
        reason = c.state.terminated.signal
          ? `Signal:${c.state.terminated.signal}`
          : `ExitCode:${c.state.terminated.exitCode}`;
      } else if (c.ready && c.state?.running) {
        hasRunning = true;
        readyN++;
      }
    }
    if (reason === "Completed" && hasRunning) {
      reason = (st.conditions ?? []).some((c: AnyObj) => c.type === "Ready" && c.status === "True")
        ? "Running"
        : "NotReady";
    }
  }
  if (p.metadata?.deletionTimestamp) reason = st.reason === "NodeLost" ? "Unknown" : "Terminating";
  const restartsText =
    lastRestart && restarts > 0
      ? `${restarts} (${humanDuration(Date.now() - lastRestart)} ago)`
      : String(restarts);
  return { ready: `${readyN}/${containers.length}`, status: reason, restarts: restartsText };
}

function portsString(ports: AnyObj[] | undefined): string {
  if (!ports?.length) return "<none>";
  return ports
    .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`)
    .join(",");
}

interface Printer {
  columns: Column[];
  cells(o: AnyObj): Cell[];
}

const NAME = col("Name", 0, "string", "name");
const AGE = col("Age");

const PRINTERS: Record<string, Printer> = {
  pods: {
    columns: [
      NAME,
      col("Ready"),
      col("Status"),
      col("Restarts", 0, "string"),
      AGE,
      col("IP", 1),
      col("Node", 1),
      col("Nominated Node", 1),
      col("Readiness Gates", 1),
    ],
    cells(o) {
      const s = podStatus(o);
      const gates: AnyObj[] = o.spec?.readinessGates ?? [];
      const gatesText = gates.length
        ? `${gates.filter((g) => (o.status?.conditions ?? []).some((c: AnyObj) => c.type === g.conditionType && c.status === "True")).length}/${gates.length}`
        : "<none>";
      return [
        o.metadata.name,
        s.ready,
        s.status,
        s.restarts,
        age(o.metadata.creationTimestamp),
        none(o.status?.podIP),
        none(o.spec?.nodeName),
        none(o.status?.nominatedNodeName),
        gatesText,
      ];
    },
  },
  deployments: {
    columns: [
      NAME,
      col("Ready"),
      col("Up-to-date", 0, "number"),
      col("Available", 0, "number"),
      AGE,
      col("Containers", 1),
      col("Images", 1),
      col("Selector", 1),
    ],
    cells(o) {
      const st = o.status ?? {};
      const [c, i] = containersOf(o.spec);
      return [
        o.metadata.name,
        `${st.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`,
        st.updatedReplicas ?? 0,
        st.availableReplicas ?? 0,
        age(o.metadata.creationTimestamp),
        c,
        i,
        selectorString(o.spec?.selector),
      ];
    },
  },
  replicasets: {
    columns: [
      NAME,
      col("Desired", 0, "integer"),
      col("Current", 0, "integer"),
      col("Ready", 0, "integer"),
      AGE,
      col("Containers", 1),
      col("Images", 1),
      col("Selector", 1),
    ],
    cells(o) {
      const [c, i] = containersOf(o.spec);
      return [
        o.metadata.name,
        o.spec?.replicas ?? 0,
        o.status?.replicas ?? 0,
        o.status?.readyReplicas ?? 0,
        age(o.metadata.creationTimestamp),
        c,
        i,
        selectorString(o.spec?.selector),
      ];
    },
  },
  daemonsets: {
    columns: [
      NAME,
      col("Desired", 0, "integer"),
      col("Current", 0, "integer"),
      col("Ready", 0, "integer"),
      col("Up-to-date", 0, "integer"),
      col("Available", 0, "integer"),
      col("Node Selector"),
      AGE,
      col("Containers", 1),
      col("Images", 1),
      col("Selector", 1),
    ],
    cells(o) {
      const st = o.status ?? {};
      const [c, i] = containersOf(o.spec);
      const ns = Object.entries(o.spec?.template?.spec?.nodeSelector ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
      return [
        o.metadata.name,
        st.desiredNumberScheduled ?? 0,
        st.currentNumberScheduled ?? 0,
        st.numberReady ?? 0,
        st.updatedNumberScheduled ?? 0,
        st.numberAvailable ?? 0,
        ns || "<none>",
        age(o.metadata.creationTimestamp),
        c,
        i,
        selectorString(o.spec?.selector),
      ];
    },
  },
  statefulsets: {
    columns: [NAME, col("Ready"), AGE, col("Containers", 1), col("Images", 1)],
    cells(o) {
      const [c, i] = containersOf(o.spec);
      return [
        o.metadata.name,
        `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`,
        age(o.metadata.creationTimestamp),
        c,
        i,
      ];
    },
  },
  jobs: {
    columns: [
      NAME,
      col("Status"),
      col("Completions"),
      col("Duration"),
      AGE,
      col("Containers", 1),
      col("Images", 1),
      col("Selector", 1),
    ],
    cells(o) {
      const st = o.status ?? {};
      const conds: AnyObj[] = st.conditions ?? [];
      const has = (t: string) => conds.some((c) => c.type === t && c.status === "True");
      const status = has("Complete")
        ? "Complete"
        : has("Failed")
          ? "Failed"
          : has("Suspended")
            ? "Suspended"
            : "Running";
      const completions =
        o.spec?.completions !== undefined
          ? `${st.succeeded ?? 0}/${o.spec.completions}`
          : `${st.succeeded ?? 0}/1`;
      const dur = st.startTime
        ? humanDuration(
            (st.completionTime ? Date.parse(st.completionTime) : Date.now()) -
              Date.parse(st.startTime),
          )
        : "";
      const [c, i] = containersOf(o.spec);
      return [
        o.metadata.name,
        status,
        completions,
        dur,
        age(o.metadata.creationTimestamp),
        c,
        i,
        selectorString(o.spec?.selector),
      ];
    },
  },
  cronjobs: {
    columns: [
      NAME,
      col("Schedule"),
      col("Timezone"),
      col("Suspend", 0, "boolean"),
      col("Active", 0, "integer"),
      col("Last Schedule"),
      AGE,
      col("Containers", 1),
      col("Images", 1),
      col("Selector", 1),
    ],
    cells(o) {
      const [c, i] = containersOf(o.spec);
      return [
        o.metadata.name,
        o.spec?.schedule ?? "",
        none(o.spec?.timeZone),
        Boolean(o.spec?.suspend),
        (o.status?.active ?? []).length,
        o.status?.lastScheduleTime ? age(o.status.lastScheduleTime) : "<none>",
        age(o.metadata.creationTimestamp),
        c,
        i,
        selectorString(o.spec?.jobTemplate?.spec?.selector),
      ];
    },
  },
  services: {
    columns: [
      NAME,
      col("Type"),
      col("Cluster-IP"),
      col("External-IP"),
      col("Port(s)"),
      AGE,
      col("Selector", 1),
    ],
    cells(o) {
      const sel = Object.entries(o.spec?.selector ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
      return [
        o.metadata.name,
        o.spec?.type ?? "ClusterIP",
        none(o.spec?.clusterIP),
        (o.spec?.externalIPs ?? []).join(",") || "<none>",
        portsString(o.spec?.ports),
        age(o.metadata.creationTimestamp),
        sel || "<none>",
      ];
    },
  },
  endpoints: {
    columns: [NAME, col("Endpoints"), AGE],
    cells(o) {
      const eps: string[] = [];
      for (const s of o.subsets ?? [])
        for (const a of s.addresses ?? [])
          for (const p of s.ports ?? [{}]) eps.push(p.port ? `${a.ip}:${p.port}` : a.ip);
      return [o.metadata.name, eps.join(",") || "<none>", age(o.metadata.creationTimestamp)];
    },
  },
  configmaps: {
    columns: [NAME, col("Data", 0, "integer"), AGE],
    cells: (o) => [
      o.metadata.name,
      Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length,
      age(o.metadata.creationTimestamp),
    ],
  },
  secrets: {
    columns: [NAME, col("Type"), col("Data", 0, "integer"), AGE],
    cells: (o) => [
      o.metadata.name,
      o.type ?? "Opaque",
      Object.keys(o.data ?? {}).length,
      age(o.metadata.creationTimestamp),
    ],
  },
  serviceaccounts: {
    columns: [NAME, col("Secrets", 0, "integer"), AGE],
    cells: (o) => [o.metadata.name, (o.secrets ?? []).length, age(o.metadata.creationTimestamp)],
  },
  namespaces: {
    columns: [NAME, col("Status"), AGE],
    cells: (o) => [o.metadata.name, o.status?.phase ?? "Active", age(o.metadata.creationTimestamp)],
  },
  nodes: {
    columns: [
      NAME,
      col("Status"),
      col("Roles"),
      AGE,
      col("Version"),
      col("Internal-IP", 1),
      col("External-IP", 1),
      col("OS-Image", 1),
      col("Kernel-Version", 1),
      col("Container-Runtime", 1),
    ],
    cells(o) {
      const ready = (o.status?.conditions ?? []).find((c: AnyObj) => c.type === "Ready");
      let status = ready?.status === "True" ? "Ready" : ready ? "NotReady" : "Unknown";
      if (o.spec?.unschedulable) status += ",SchedulingDisabled";
      const roles = Object.keys(o.metadata.labels ?? {})
        .filter((k) => k.startsWith("node-role.kubernetes.io/"))
        .map((k) => k.slice(24));
      const addr = (t: string) =>
        (o.status?.addresses ?? []).find((a: AnyObj) => a.type === t)?.address ?? "<none>";
      const ni = o.status?.nodeInfo ?? {};
      return [
        o.metadata.name,
        status,
        roles.join(",") || "<none>",
        age(o.metadata.creationTimestamp),
        ni.kubeletVersion ?? "",
        addr("InternalIP"),
        addr("ExternalIP"),
        ni.osImage ?? "<unknown>",
        ni.kernelVersion ?? "<unknown>",
        ni.containerRuntimeVersion ?? "<unknown>",
      ];
    },
  },
  events: {
    columns: [
      col("Last Seen"),
      col("Type"),
      col("Reason"),
      col("Object"),
      col("Subobject", 1),
      col("Source", 1),
      col("Message"),
      col("First Seen", 1),
      col("Count", 1, "integer"),
      col("Name", 1),
    ],
    cells(o) {
      const io = o.involvedObject ?? {};
      const last =
        o.series?.lastObservedTime ??
        o.lastTimestamp ??
        o.eventTime ??
        o.metadata.creationTimestamp;
      const first = o.firstTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp;
      const src = o.source?.component
        ? `${o.source.component}${o.source.host ? `, ${o.source.host}` : ""}`
        : (o.reportingComponent ?? "");
      return [
        age(last),
        o.type ?? "",
        o.reason ?? "",
        `${String(io.kind ?? "").toLowerCase()}/${io.name ?? ""}`,
        io.fieldPath ?? "",
        src,
        o.message ?? "",
        age(first),
        o.series?.count ?? o.count ?? 1,
        o.metadata.name,
      ];
    },
  },
  roles: {
    columns: [NAME, col("Created At", 0, "date")],
    cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ""],
  },
  clusterroles: {
    columns: [NAME, col("Created At", 0, "date")],
    cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ""],
  },
  rolebindings: {
    columns: [NAME, col("Role"), AGE, col("Users", 1), col("Groups", 1), col("ServiceAccounts", 1)],
    cells: (o) => bindingCells(o),
  },
  clusterrolebindings: {
    columns: [NAME, col("Role"), AGE, col("Users", 1), col("Groups", 1), col("ServiceAccounts", 1)],
    cells: (o) => bindingCells(o),
  },
  poddisruptionbudgets: {
    columns: [
      NAME,
      col("Min Available"),
      col("Max Unavailable"),
      col("Allowed Disruptions", 0, "integer"),
      AGE,
    ],
    cells: (o) => [
      o.metadata.name,
      none(o.spec?.minAvailable) === "<none>" ? "N/A" : String(o.spec.minAvailable),
      o.spec?.maxUnavailable === undefined ? "N/A" : String(o.spec.maxUnavailable),
      o.status?.disruptionsAllowed ?? 0,
      age(o.metadata.creationTimestamp),
    ],
  },
  mutatingwebhookconfigurations: {
    columns: [NAME, col("Webhooks", 0, "integer"), AGE],
    cells: (o) => [o.metadata.name, (o.webhooks ?? []).length, age(o.metadata.creationTimestamp)],
  },
  validatingwebhookconfigurations: {
    columns: [NAME, col("Webhooks", 0, "integer"), AGE],
    cells: (o) => [o.metadata.name, (o.webhooks ?? []).length, age(o.metadata.creationTimestamp)],
  },
  leases: {
    columns: [NAME, col("Holder"), AGE],
    cells: (o) => [
      o.metadata.name,
      o.spec?.holderIdentity ?? "",
      age(o.metadata.creationTimestamp),
    ],
  },
  priorityclasses: {
    columns: [
      NAME,
      col("Value", 0, "integer"),
      col("Global-Default", 0, "boolean"),
      AGE,
      col("PreemptionPolicy"),
    ],
    cells: (o) => [
      o.metadata.name,
      o.value ?? 0,
      Boolean(o.globalDefault),
      age(o.metadata.creationTimestamp),
      o.preemptionPolicy ?? "PreemptLowerPriority",
    ],
  },
  controllerrevisions: {
    columns: [NAME, col("Controller"), col("Revision", 0, "integer"), AGE],
    cells(o) {
      const owner = (o.metadata.ownerReferences ?? []).find((r: AnyObj) => r.controller);
      return [
        o.metadata.name,
        owner
          ? `${String(owner.kind).toLowerCase()}.${String(owner.apiVersion).split("/")[0]}/${owner.name}`
          : "<none>",
        o.revision ?? 0,
        age(o.metadata.creationTimestamp),
      ];
    },
  },
};

function bindingCells(o: AnyObj): Cell[] {
  const subs: AnyObj[] = o.subjects ?? [];
  const names = (k: string) =>
    subs
      .filter((s) => s.kind === k)
      .map((s) => (k === "ServiceAccount" ? `${s.namespace ?? ""}/${s.name}` : s.name))
      .join(", ");
  return [
    o.metadata.name,
    `${o.roleRef?.kind ?? ""}/${o.roleRef?.name ?? ""}`,
    age(o.metadata.creationTimestamp),
    names("User"),
    names("Group"),
    names("ServiceAccount"),
  ];
}

const DEFAULT: Printer = {
  columns: [NAME, col("Created At", 0, "date")],
  cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ""],
};

/** additionalPrinterColumns (default: Age), rendered as kube-apiserver's CRD table convertor does. */
function customPrinter(columns: PrinterColumn[] | undefined): Printer {
  const cols = columns?.length
    ? columns
    : [{ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }];
  return {
    columns: [
      NAME,
      ...cols.map((c) => ({
        name: c.name,
        type: c.type,
        format: c.format ?? "",
        description: c.description ?? "",
        priority: c.priority ?? 0,
      })),
    ],
    cells: (o) => [
      o.metadata.name,
      ...cols.map((c): Cell => {
        const v = jsonPathValue(o, c.jsonPath);
        if (v === undefined || v === null) return "<none>";
        if (c.type === "date" && typeof v === "string") return age(v);
        if (typeof v === "object") return JSON.stringify(v);
        return v as Cell;
      }),
    ],
  };
}

export function printerFor(info: ResourceInfo): Printer {
  if (info.custom) return customPrinter(info.custom.columns);
  if (info.group === "events.k8s.io") return PRINTERS.events!;
  return PRINTERS[info.resource] ?? DEFAULT;
}

export type IncludeObject = "None" | "Metadata" | "Object";

/** Builds a Table; `objects` are in the core representation used by the printers. */
export function toTable(
  info: ResourceInfo,
  objects: KubeObject[],
  opts: {
    includeObject: IncludeObject;
    noHeaders?: boolean;
    resourceVersion?: string;
    continueToken?: string;
    render?: (o: KubeObject) => KubeObject;
  },
): Record<string, unknown> {
  const p = printerFor(info);
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: {
      ...(opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}),
      ...(opts.continueToken ? { continue: opts.continueToken } : {}),
    },
    columnDefinitions: opts.noHeaders ? null : p.columns,
    rows: objects.map((o) => {
      const shown = opts.render ? opts.render(o) : o;
      return {
        cells: p.cells(o as AnyObj),
        object:
          opts.includeObject === "Object"
            ? shown
            : opts.includeObject === "Metadata"
              ? {
                  kind: "PartialObjectMetadata",
                  apiVersion: "meta.k8s.io/v1",
                  metadata: shown.metadata,
                }
              : null,
      };
    }),
  };
}
