// A core shorter than its own headers say, once its writer is gone: how much is there, how much should be, and the
// likely cause, in the words every place that shows the core uses (Event, notice, object metadata, crash report).

export type TruncationCause = "core-size-limit" | "disk-full" | "unknown";

export interface Truncation {
  /** Bytes in the file. */
  bytes: number;
  /** Bytes a complete core has (from its program headers), or undefined when the file ends inside them. */
  expected?: number;
  cause: TruncationCause;
  /** The likely reason in words. */
  reason: string;
}

export interface TruncationClues {
  bytes: number;
  expected?: number;
  /** RLIMIT_CORE of the dumping process (soft limit, bytes; undefined when unlimited or not seen). */
  coreLimit?: number;
  /** Bytes free for the writer on the filesystem holding the core (statfs), when known. */
  freeBytes?: number;
}

/** The likely cause of a short core, from what the watcher could observe. */
export function describeTruncation(c: TruncationClues): Truncation {
  const base = { bytes: c.bytes, ...(c.expected !== undefined ? { expected: c.expected } : {}) };
  if (c.coreLimit !== undefined && (c.expected === undefined || c.coreLimit < c.expected)) {
    return {
      ...base,
      cause: "core-size-limit",
      reason: `the process's core size limit (ulimit -c) was ${c.coreLimit} bytes`,
    };
  }
  const missing = c.expected === undefined ? 1 : c.expected - c.bytes;
  if (c.freeBytes !== undefined && c.freeBytes < missing) {
    return {
      ...base,
      cause: "disk-full",
      reason: `the filesystem of the node directory is full (${c.freeBytes} bytes free)`,
    };
  }
  return {
    ...base,
    cause: "unknown",
    reason:
      "the writer stopped early (a core size limit, ulimit -c, or the process killed during the dump)",
  };
}

/** `118784 of 565248 bytes`: the sizes, as every place that shows a truncated core says them. */
export function truncationSizes(t: Truncation): string {
  return t.expected === undefined
    ? `${t.bytes} bytes, cut inside its headers`
    : `${t.bytes} of ${t.expected} bytes`;
}

/** `118784 of 565248 bytes: <reason>`. */
export function truncationText(t: Truncation): string {
  return `${truncationSizes(t)}: ${t.reason}`;
}
