// A TuiSource made of plain data, for the component tests.
import type {
  ActionRequest,
  DoctorCheck,
  EventRow,
  NodePurge,
  PodDetails,
  PodItem,
  PreparedAction,
  PurgedFile,
  PurgeRequest,
  TuiSnapshot,
  TuiSource,
} from "../../../plugin/tui/types.js";

export const NOW = Date.parse("2026-11-27T12:00:00Z");

export function pod(namespace: string, name: string, extra: Partial<PodItem> = {}): PodItem {
  return {
    key: `${namespace}/${name}`,
    namespace,
    pod: name,
    path: "/corefile",
    containers: ["app"],
    injected: true,
    node: "node-1",
    phase: "Running",
    cores: 0,
    created: new Date(NOW - 3600_000).toISOString(),
    owner: `ReplicaSet/${name.replace(/-[^-]+$/, "")}`,
    optedIn: true,
    ...extra,
  };
}

export function event(reason: string, pod: string, minutesAgo: number, message = "m"): EventRow {
  return {
    time: new Date(NOW - minutesAgo * 60_000).toISOString(),
    type: reason === "CoreDumpFailed" ? "Warning" : "Normal",
    reason,
    namespace: "shop",
    pod,
    node: "node-1",
    count: 1,
    message,
    uid: `${reason}-${pod}-${minutesAgo}`,
  };
}

/** A file under the node directory, `hoursOld` hours before NOW. */
export function dumpFile(node: string, name: string, bytes: number, hoursOld: number): PurgedFile {
  return {
    node,
    path: `/data/coredog-system/dumps/shop/p/${name}`,
    bytes,
    modified: new Date(NOW - hoursOld * 3600_000).toISOString().slice(0, 16),
  };
}

export class FakeSource implements TuiSource {
  snapshot: TuiSnapshot;
  listeners = new Set<() => void>();
  requests: ActionRequest[] = [];
  applied: string[] = [];
  namespaceCalls: (string | undefined)[] = [];
  plan: (r: ActionRequest) => PreparedAction = (r) => ({
    title: r.kind === "emergency" ? `emergency ${r.action}` : `${r.kind} deployments/${r.pod}`,
    changes: [
      r.kind === "emergency"
        ? "webhook pods.coredog.io: failurePolicy Fail -> Ignore"
        : '+ coredog.io/inject: "true"',
    ],
    undo: r.kind === "emergency" ? "kubectl coredog emergency webhook restore" : "d (disable) here",
    apply: async () => {
      this.applied.push(r.kind === "emergency" ? r.action : `${r.kind} ${r.pod}`);
    },
    done: "it is done",
  });

  constructor(snapshot: Partial<TuiSnapshot> = {}) {
    this.snapshot = {
      pods: [],
      events: [],
      webhook: { state: "present", policies: ["Fail"] },
      watcher: { state: "running", ready: 1, desired: 1 },
      namespace: undefined,
      namespaces: ["coredog-system", "default", "shop"],
      link: "live",
      ...snapshot,
    };
  }
  getSnapshot = () => this.snapshot;
  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
  set(patch: Partial<TuiSnapshot>) {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const l of this.listeners) l();
  }
  setNamespace(ns: string | undefined) {
    this.namespaceCalls.push(ns);
    this.set({ namespace: ns });
  }
  details(key: string): PodDetails | undefined {
    const p = this.snapshot.pods.find((x) => x.key === key);
    if (!p) return undefined;
    return {
      key,
      namespace: p.namespace,
      name: p.pod,
      node: p.node,
      phase: p.phase,
      owner: p.owner,
      created: p.created,
      coredogAnnotations: [
        ["coredog.io/inject", "true"],
        ["coredog.io/path", "/corefile"],
      ],
      otherAnnotations: 2,
      optedIn: p.optedIn,
      injected: p.injected,
      path: p.path,
      containers: p.containers,
      decision: { inject: true, text: "inject: /corefile in app" },
      cores: [
        {
          time: new Date(NOW - 60_000).toISOString(),
          reason: "CoreDumpUploaded",
          message: "Core dump core.app.1 uploaded to crashes/corefiles/shop/x/core.app.1",
          count: 1,
          object: "crashes/corefiles/shop/x/core.app.1",
        },
      ],
    };
  }
  doctorCalls: string[] = [];
  async doctor(namespace: string, name: string): Promise<DoctorCheck[]> {
    this.doctorCalls.push(`${namespace}/${name}`);
    return [
      { status: "pass", title: "annotations and the webhook's decision" },
      {
        status: "fail",
        title: "the node's core_pattern",
        detail: "core_pattern is |/usr/share/apport/apport",
        fix: "set kernel.core_pattern=/corefile/core.%e.%p.%h.%t",
      },
    ];
  }
  nodeNames = ["node-1", "node-2", "node-3"];
  nodesError?: string;
  /** The files on each fake node; a delete removes them. */
  disk: Record<string, PurgedFile[]> = {};
  purgeErrors: Record<string, string> = {};
  purgeCalls: PurgeRequest[] = [];
  /** While set, nodes after the first wait for it: the progress of the listing can be seen. */
  purgeGate?: Promise<void>;
  /** Rejects the whole purge (e.g. still connecting). */
  purgeFailure?: string;
  async nodes(): Promise<string[]> {
    if (this.nodesError) throw new Error(this.nodesError);
    return this.nodeNames;
  }
  async purge(request: PurgeRequest, onNode?: (r: NodePurge) => void): Promise<NodePurge[]> {
    this.purgeCalls.push(structuredClone(request));
    if (this.purgeFailure) throw new Error(this.purgeFailure);
    const results: NodePurge[] = [];
    for (const [i, node] of request.nodes.entries()) {
      if (i > 0 && this.purgeGate) await this.purgeGate;
      await new Promise((r) => setTimeout(r, 5));
      const error = this.purgeErrors[node];
      const all = this.disk[node] ?? [];
      const old = (f: PurgedFile) =>
        request.olderThanMinutes === undefined ||
        Date.parse(`${f.modified}:00Z`) < NOW - request.olderThanMinutes * 60_000;
      if (!error && request.delete) this.disk[node] = all.filter((f) => !old(f));
      const r: NodePurge = error ? { node, error } : { node, files: all.filter(old) };
      onNode?.(r);
      results.push(r);
    }
    return results;
  }
  async prepare(r: ActionRequest): Promise<PreparedAction> {
    this.requests.push(r);
    return this.plan(r);
  }
  stop() {}
}
