// The sidecar document stored beside each core at `<object key>.report.json`: what was stored (size and sha256 of
// the original core, computed while it streamed, and what the store holds) and the crash report. It is written
// after the core's upload and read back before the local core may be deleted, so a core object without its
// sidecar is an upload that did not finish (the watcher uploads it again).
import type { CrashReport } from "./crash-report.js";

export const SIDECAR_SCHEMA_VERSION = 1;
export const SIDECAR_SUFFIX = ".report.json";
export const SIDECAR_CONTENT_TYPE = "application/json";

export type SidecarCompression = "none" | "zstd" | "gzip";

export interface CoreSidecar {
  schemaVersion: typeof SIDECAR_SCHEMA_VERSION;
  core: {
    /** The core object's key (the sidecar's own key is this plus `.report.json`). */
    key: string;
    bucket?: string;
    /** Bytes of the original core, as read from the node. */
    size: number;
    /** sha256 (hex) of the original core: of the decompressed object when it is compressed. */
    sha256: string;
    md5?: string;
    /** Bytes of the stored object (after compression). */
    storedBytes: number;
    compression: SidecarCompression;
    /** When the core's upload was verified (ISO 8601). */
    uploadedAt: string;
    /** The object's metadata as sent with the upload. */
    metadata: Record<string, string>;
  };
  /** The crash report read from the core; null when there is none. */
  crash: CrashReport | null;
  /** Why there is no crash report, when it could not be read. */
  crashError?: string;
}

export function sidecarKey(coreKey: string): string {
  return `${coreKey}${SIDECAR_SUFFIX}`;
}

export function isSidecarKey(key: string): boolean {
  return key.endsWith(SIDECAR_SUFFIX);
}

export function sidecarDocument(
  core: CoreSidecar["core"],
  crash?: CrashReport,
  crashError?: string,
): CoreSidecar {
  return {
    schemaVersion: SIDECAR_SCHEMA_VERSION,
    core,
    crash: crash ?? null,
    ...(crashError !== undefined ? { crashError } : {}),
  };
}

export function sidecarText(doc: CoreSidecar): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Parses a sidecar's text; throws an Error saying what is wrong with it. */
export function parseSidecar(text: string): CoreSidecar {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`the sidecar is not JSON (${(err as Error).message})`, { cause: err });
  }
  const d = doc as Partial<CoreSidecar> | null;
  if (!d || typeof d !== "object") throw new Error("the sidecar is not a JSON object");
  if (d.schemaVersion !== SIDECAR_SCHEMA_VERSION) {
    throw new Error(`the sidecar's schemaVersion is ${String(d.schemaVersion)}, not 1`);
  }
  const c = d.core;
  if (!c || typeof c !== "object") throw new Error("the sidecar has no core object");
  if (typeof c.key !== "string") throw new Error("the sidecar's core.key is not a string");
  if (!Number.isSafeInteger(c.size) || c.size < 0)
    throw new Error("the sidecar's core.size is not a byte count");
  if (!Number.isSafeInteger(c.storedBytes) || c.storedBytes < 0)
    throw new Error("the sidecar's core.storedBytes is not a byte count");
  if (typeof c.sha256 !== "string" || !HEX64.test(c.sha256))
    throw new Error("the sidecar's core.sha256 is not a sha256 in hex");
  if (d.crash === undefined) throw new Error("the sidecar has no crash field");
  return d as CoreSidecar;
}
