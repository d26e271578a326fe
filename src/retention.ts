// Which CoreDump records retention deletes: those older than maxAge, and beyond the newest maxPerFingerprint of
// each fingerprint. Pure: the caller lists the records and deletes what this returns.

export interface RetainedRecord {
  namespace: string;
  name: string;
  crashedAt: string;
  fingerprint: string;
}

export interface RetentionLimits {
  maxAgeMs?: number;
  maxPerFingerprint?: number;
}

export interface Expired<T> {
  record: T;
  reason: string;
}

/** maxAge as the log says it: `720h`. */
export function maxAgeText(ms: number): string {
  return `${Math.round(ms / 3_600_000)}h`;
}

export function expiredRecords<T extends RetainedRecord>(
  records: readonly T[],
  limits: RetentionLimits,
  now: number,
): Expired<T>[] {
  const out = new Map<T, string>();
  if (limits.maxAgeMs !== undefined) {
    for (const r of records) {
      const t = Date.parse(r.crashedAt);
      if (Number.isFinite(t) && now - t > limits.maxAgeMs)
        out.set(r, `older than ${maxAgeText(limits.maxAgeMs)}`);
    }
  }
  if (limits.maxPerFingerprint !== undefined) {
    const byFp = new Map<string, T[]>();
    for (const r of records) {
      const list = byFp.get(r.fingerprint) ?? [];
      list.push(r);
      byFp.set(r.fingerprint, list);
    }
    for (const [fp, list] of byFp) {
      // Newest first; equal times keep a stable order by name.
      list.sort(
        (a, b) =>
          Date.parse(b.crashedAt) - Date.parse(a.crashedAt) ||
          `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
      );
      for (const r of list.slice(limits.maxPerFingerprint))
        if (!out.has(r))
          out.set(
            r,
            `more than ${limits.maxPerFingerprint} cores of fingerprint ${fp.slice(0, 12)}`,
          );
    }
  }
  return [...out].map(([record, reason]) => ({ record, reason }));
}
