// What a store is given and what it answers: shared by the pipeline, the stores and the stream helpers.
import type { FileHandle } from "node:fs/promises";
import type { CrashReport } from "../../src/crash-report.js";
import type { Settings } from "../../src/settings.js";

export type StorageSettings = Settings["storage"];
export type Compression = StorageSettings["compression"];

export interface StoreInput {
  fh: FileHandle;
  /** The core's size from fstat; the stream must deliver exactly this many bytes. */
  size: number;
  key: string;
  /** Object metadata known before the upload, except original-size, which the store adds. */
  metadata: Record<string, string>;
  /** Also compute the md5 (for the custom handler's COREDUMP_MD5). */
  md5?: boolean;
  /** The crash report, embedded as "crash" in the sidecar document (null when absent). */
  report?: CrashReport;
  /** Why there is no crash report, written to the sidecar as "crashError". */
  crashError?: string;
  signal?: AbortSignal;
}

export interface StoredObject {
  bucket?: string;
  key: string;
  /** Bytes of the original core. */
  size: number;
  /** Bytes written to storage (after compression). */
  storedBytes: number;
  sha256: string;
  /** Only when asked for (StoreInput.md5): it costs about as much CPU as the rest of the upload. */
  md5?: string;
  url?: string;
  location: string;
  /** Where the sidecar document (`<key>.report.json`) was stored and verified. */
  sidecarKey?: string;
}

/** How many cores of one fingerprint the store holds markers for, other than the one just marked. */
export interface Sightings {
  before: number;
  /** The count stopped at its bound: there are at least `before`. */
  atLeast: boolean;
}

export interface Store {
  put(input: StoreInput): Promise<StoredObject>;
  /**
   * Leaves a marker for the stored core `key` under the fingerprint (idempotent for the same key) and counts the
   * markers of earlier cores with that fingerprint, from every node (controller/watcher/fingerprint-markers.ts).
   */
  sighting?(fingerprintId: string, key: string, at: Date): Promise<Sightings>;
  describe(): string;
}
