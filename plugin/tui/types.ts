// The TUI's seam between the cluster and the components: components only see these plain shapes,
// so they are tested with fake sources and never touch the network.
import type { CoreDump } from "../../src/coredump.js";
import type { EventRow } from "../lib/events.js";
import type { ReportLine } from "../lib/crash-report-text.js";
import type { Plan } from "../lib/emergency.js";
import type { PodRow } from "../lib/listing.js";
import type { PurgedFile } from "../lib/purge.js";

export type { EventRow, PodRow, Plan, PurgedFile };

export interface PodItem extends PodRow {
  /** namespace/name */
  key: string;
  optedIn: boolean;
}

export type LinkState = "connecting" | "live" | "reconnecting";

export interface WebhookStatus {
  state: "loading" | "present" | "absent" | "unknown";
  /** Distinct failurePolicy values of the configuration's webhooks, e.g. ["Fail"]. */
  policies: string[];
  error?: string;
}

export interface WatcherStatus {
  state: "loading" | "running" | "paused" | "absent" | "unknown";
  ready?: number;
  desired?: number;
  error?: string;
}

export interface TuiSnapshot {
  /** Every pod in scope (opted in or not); the view filters. */
  pods: PodItem[];
  /** Watchers' Events, newest first. */
  events: EventRow[];
  webhook: WebhookStatus;
  watcher: WatcherStatus;
  /** undefined: all namespaces. */
  namespace?: string;
  /** The namespace is not known yet (the kubeconfig's context is still being read). */
  namespacePending?: boolean;
  namespaces: string[];
  link: LinkState;
  /** Why the link is not live, when known. */
  linkError?: string;
  server?: string;
}

export interface CoreEntry {
  time: string;
  reason: string;
  message: string;
  count: number;
  /** The container that dumped it, when the Event names one. */
  container?: string;
  /** bucket/key of an uploaded core, from the Event message. */
  object?: string;
}

export interface PodDetails {
  key: string;
  namespace: string;
  name: string;
  node: string;
  phase: string;
  owner?: string;
  created?: string;
  coredogAnnotations: [string, string][];
  otherAnnotations: number;
  optedIn: boolean;
  injected: boolean;
  path: string;
  containers: string[];
  /** The webhook's decision for this pod's spec and annotations (the shared `decide`). */
  decision: { inject: boolean; text: string };
  cores: CoreEntry[];
}

export type EmergencyAction =
  | "webhook-ignore"
  | "webhook-fail"
  | "webhook-remove"
  | "webhook-restore"
  | "watcher-pause"
  | "watcher-resume"
  | "restart-watcher"
  | "restart-webhook";

export type ActionRequest =
  | { kind: "enable" | "disable" | "restart"; namespace: string; pod: string }
  | { kind: "emergency"; action: EmergencyAction };

/** A plan ready to confirm: Plan's changes/undo/noop plus what it is about, or why it is refused. */
export interface PreparedAction extends Plan {
  title: string;
  /** The webhook would skip it (or it cannot be done): shown instead of a confirmation. */
  refused?: string;
  /** Said after apply() succeeded, besides the undo hint. */
  done?: string;
}

/** One of `kubectl coredog doctor`'s checks, as the details view shows it. */
export interface DoctorCheck {
  status: "pass" | "fail" | "warn" | "info";
  title: string;
  detail?: string;
  fix?: string;
}

/** `kubectl coredog emergency purge`'s options: list (delete false) or delete the files on these nodes. */
export interface PurgeRequest {
  nodes: string[];
  /** Only files older than this many minutes; undefined: any age. */
  olderThanMinutes?: number;
  delete: boolean;
  /** When the listing began: the delete leaves files modified since alone. */
  notNewerThan?: Date;
}

/** One node's part of a purge: the files listed (or deleted), or why it failed there. */
export interface NodePurge {
  node: string;
  files?: PurgedFile[];
  error?: string;
}

export interface TuiSource {
  getSnapshot(): TuiSnapshot;
  subscribe(listener: () => void): () => void;
  setNamespace(namespace: string | undefined): void;
  details(key: string): PodDetails | undefined;
  prepare(request: ActionRequest): Promise<PreparedAction>;
  /** `kubectl coredog doctor POD`'s checks for one pod. */
  doctor(namespace: string, pod: string): Promise<DoctorCheck[]>;
  /** The cluster's node names, sorted. */
  nodes(): Promise<string[]>;
  /**
   * Runs the purge pod on each node; a node that fails does not stop the others (its error is in
   * its result). `onNode` reports each node as it finishes.
   */
  purge(request: PurgeRequest, onNode?: (result: NodePurge) => void): Promise<NodePurge[]>;
  /** The CoreDump records of the namespace shown (all namespaces when none). */
  crashes?(): Promise<CoreDump[]>;
  /** `kubectl coredog pull` of one record into the current directory. */
  pullCrash?(namespace: string, name: string): Promise<{ out: string; gdb: string }>;
  /** The record's whole crash report as `crashes show` prints it (fetched from beside the core). */
  crashReport?(namespace: string, name: string): Promise<ReportLine[]>;
  stop(): void;
}
