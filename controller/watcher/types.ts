// What the watcher's stages hand each other about one core.
import type { CoreInfo } from "../../src/elf-core.js";
import type { Truncation } from "../../src/truncation.js";
import type { CrashReport } from "../../src/crash-report.js";
import type { LimitEventKind } from "./events.js";

export interface PodInfo {
  namespace: string;
  name: string;
  uid?: string;
  node?: string;
  hostIP?: string;
  podIP?: string;
  /** Every container of the pod, init containers included. */
  containers: string[];
  /** The init containers among `containers` (added by D2, for Events' fieldPath). */
  initContainers?: string[];
  /** container name -> image */
  images: Record<string, string>;
  owner?: { kind: string; name: string };
  /** The containers the webhook gave the directory to (from the coredog.io/injected annotation). */
  targetedContainers?: string[];
  annotations?: Record<string, string>;
}

export interface CoreReport {
  /** Absolute path of the core on this node (as the watcher sees it). */
  path: string;
  filename: string;
  node: string;
  hostIP?: string;
  /** From the path `<namespace>/<pod>/<file>`; undefined when the path has another shape. */
  namespace?: string;
  pod?: string;
  podInfo?: PodInfo;
  container?: string;
  image?: string;
  size: number;
  /**
   * Set when the core is shorter than its ELF headers say and its writer is gone: `<bytes> of <expected> bytes`
   * and the likely reason. Everything that shows the core says so (Event, notice, object metadata; the crash
   * report and the CoreDump record read it from here).
   */
  truncated?: Truncation;
  sha256?: string;
  md5?: string;
  core: CoreInfo;
  /** The crash report read from the core before its upload (controller/watcher/crash-report-file.ts). */
  report?: CrashReport;
  /** Why there is no crash report (a core it could not read). */
  crashError?: string;
  /**
   * Cores with the same fingerprint stored before this one, cluster-wide (markers in the store); undefined when
   * not known. `seenAtLeast`: the count stopped at its bound, there are more.
   */
  seenBefore?: number;
  seenAtLeast?: boolean;
  bucket?: string;
  key?: string;
  url?: string;
  capturedAt: Date;
  uploadedAt?: Date;
  error?: string;
}

/** The reporting side of the pipeline: Events, chat notices, the custom handler. Never throws. */
export interface Reporter {
  captured(report: CoreReport): void;
  uploaded(report: CoreReport): void;
  failed(report: CoreReport, error: Error): void;
  /** A node-level alarm that is not about one core (e.g. the disk guard's limit); optional. */
  alert?(message: string): void;
  /**
   * A limit acted on a core (controller/watcher/limits.ts): an Event on its pod with `message`, and for
   * `notice` a message to the channels (keywords apply). Optional.
   */
  limited?(report: CoreReport, kind: LimitEventKind, message: string, notice: boolean): void;
  stop(): Promise<void>;
}
