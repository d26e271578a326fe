// The CoreDump record (coredumps.coredog.io/v1alpha1): its names, its shape, and how one is made from what the
// watcher knows about a stored core. Shared by the watcher (writes), the plugin (reads) and retention.
import { fallbackCrashKey, type CrashKeyParts } from "./core-limits.js";
import { frameText } from "./crash-summary.js";
import { sidecarKey } from "./core-sidecar.js";
import type { CrashReport } from "./crash-report.js";
import { sha256Hex } from "./sha256.js";

export const COREDUMP_GROUP = "coredog.io";
export const COREDUMP_VERSION = "v1alpha1";
export const COREDUMP_PLURAL = "coredumps";
export const COREDUMP_KIND = "CoreDump";
export const COREDUMP_PULL_PLURAL = "coredumppulls";
export const COREDUMP_PULL_KIND = "CoreDumpPull";
export const COREDUMP_API_VERSION = `${COREDUMP_GROUP}/${COREDUMP_VERSION}`;
/** Labels on every record, for `-l` selections. */
export const LABEL_FINGERPRINT = "coredog.io/fingerprint";
export const LABEL_WORKLOAD = "coredog.io/workload";
/** How many frames of the crashing thread a record keeps. */
export const RECORD_FRAMES = 8;

export interface CoreDumpSpec {
  pod: { name: string; uid?: string };
  node: string;
  container?: string;
  image?: string;
  workload?: { kind: string; name: string };
  crashedAt: string;
  executable?: string;
  filename?: string;
  signal?: { number?: number; name?: string; code?: string };
  fault?: { address?: string; description?: string };
  fingerprint: { id: string; short: string; fallback?: boolean };
  frames?: string[];
  truncated?: string;
  storage: {
    bucket?: string;
    key: string;
    location?: string;
    size: number;
    storedBytes?: number;
    sha256: string;
    compression: "none" | "gzip" | "zstd";
  };
}

export interface CoreDump {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    creationTimestamp?: string;
    uid?: string;
    resourceVersion?: string;
  };
  spec: CoreDumpSpec;
  status?: Record<string, unknown>;
}

/** What the watcher knows about one stored core. */
export interface StoredCoreFacts {
  namespace: string;
  pod: string;
  podUid?: string;
  node: string;
  container?: string;
  image?: string;
  workload?: { kind: string; name: string };
  capturedAt: Date;
  executable?: string;
  filename: string;
  signal?: number;
  signalName?: string;
  truncated?: string;
  bucket?: string;
  key: string;
  location?: string;
  size: number;
  storedBytes?: number;
  sha256: string;
  compression: "none" | "gzip" | "zstd";
  crash?: CrashReport;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Deterministic from the object key, so a watcher that restarts after creating it does not make a second one. */
export function recordName(pod: string, key: string): string {
  const base =
    pod
      .slice(0, 40)
      .replace(/[^a-z0-9-]/g, "-")
      .replace(/-+$/, "") || "core";
  return `${base}-${sha256Hex(key).slice(0, 10)}`;
}

/** Where there is no crash report: the crash key the limits count by (workload + executable + signal), hashed. */
export function fallbackFingerprint(parts: CrashKeyParts): {
  id: string;
  short: string;
  fallback: true;
} {
  const id = sha256Hex(`coredog-fallback/1\n${fallbackCrashKey(parts)}`);
  return { id, short: id.slice(0, 12), fallback: true };
}

const seconds = (d: Date) => d.toISOString().replace(/\.\d+Z$/, "Z");

export function buildCoreDump(f: StoredCoreFacts): CoreDump {
  const c = f.crash;
  const signalName = c?.death.signalName ?? f.signalName;
  const fp = c
    ? { id: c.fingerprint.id, short: c.fingerprint.short }
    : fallbackFingerprint({
        namespace: f.namespace,
        ...(f.workload ? { owner: f.workload } : {}),
        pod: f.pod,
        ...(f.executable ? { executable: f.executable } : {}),
        ...(signalName ? { signal: signalName } : {}),
      });
  const labels: Record<string, string> = {
    "app.kubernetes.io/managed-by": "coredog",
    [LABEL_FINGERPRINT]: fp.short,
  };
  if (f.workload && f.workload.name.length <= 63 && LABEL_VALUE.test(f.workload.name))
    labels[LABEL_WORKLOAD] = f.workload.name;
  const frames = c?.crashingThread.backtrace.slice(0, RECORD_FRAMES).map(frameText);
  const spec: CoreDumpSpec = {
    pod: { name: f.pod, ...(f.podUid ? { uid: f.podUid } : {}) },
    node: f.node,
    ...(f.container ? { container: f.container } : {}),
    ...(f.image ? { image: f.image } : {}),
    ...(f.workload ? { workload: f.workload } : {}),
    crashedAt: seconds(f.capturedAt),
    ...((c?.process.executable ?? f.executable)
      ? { executable: c?.process.executable ?? f.executable }
      : {}),
    filename: f.filename,
    ...(signalName || f.signal !== undefined
      ? {
          signal: {
            ...((c?.death.signal ?? f.signal) !== undefined
              ? { number: c?.death.signal ?? f.signal }
              : {}),
            ...(signalName ? { name: signalName } : {}),
            ...(c?.death.codeName ? { code: c.death.codeName } : {}),
          },
        }
      : {}),
    ...(c
      ? {
          fault: {
            ...(c.death.faultAddress ? { address: c.death.faultAddress } : {}),
            description: c.death.summary,
          },
        }
      : {}),
    fingerprint: fp,
    ...(frames?.length ? { frames } : {}),
    ...(f.truncated ? { truncated: f.truncated } : {}),
    storage: {
      ...(f.bucket ? { bucket: f.bucket } : {}),
      key: f.key,
      ...(f.location ? { location: f.location } : {}),
      size: f.size,
      ...(f.storedBytes !== undefined ? { storedBytes: f.storedBytes } : {}),
      sha256: f.sha256,
      compression: f.compression,
    },
  };
  return {
    apiVersion: COREDUMP_API_VERSION,
    kind: COREDUMP_KIND,
    metadata: { name: recordName(f.pod, f.key), namespace: f.namespace, labels },
    spec,
  };
}

/** The storage key prefix of a namespace's cores: a record may only point below it. */
export function namespaceKeyPrefix(storeDir: string, namespace: string): string {
  const prefix = storeDir.replace(/^\/+|\/+$/g, "");
  return `${prefix ? `${prefix}/` : ""}${namespace}/`;
}

/** The sidecar document stored beside each core. */
export const reportKeyOf = sidecarKey;
