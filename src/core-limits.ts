// Crash-storm limits, decided without I/O: at most N cores stored per crash per window (the crash is its
// fingerprint, else owning workload + executable + signal), and which local cores go first when the node
// directory is over MaxUse or its filesystem has less than KeepFree left.
import type { LimitSettings } from "./settings/types.js";

export interface CrashKeyParts {
  namespace?: string;
  /** The pod's controller (a ReplicaSet, a Job, ...); without it the pod stands for itself. */
  owner?: { kind: string; name: string };
  pod?: string;
  executable?: string;
  signal?: number | string;
}

/** The key of a crash without a fingerprint (no readable report): owning workload + executable + signal. */
export function fallbackCrashKey(p: CrashKeyParts): string {
  const who = p.owner ? `${p.owner.kind}/${p.owner.name}` : `Pod/${p.pod ?? "?"}`;
  return `workload:${p.namespace ?? "?"}/${who}|exe:${p.executable ?? "?"}|sig:${p.signal ?? "?"}`;
}

/** The key the limits count by: `fp:<fingerprint id>`, else the fallback key. */
export function crashKey(fingerprintId: string | undefined, parts: CrashKeyParts): string {
  return fingerprintId ? `fp:${fingerprintId}` : fallbackCrashKey(parts);
}

/** One crash's current window. */
export interface CrashWindow {
  start: number;
  stored: number;
  skipped: number;
  /** For people: the fingerprint's short id or the fallback key, and a summary of the crash. */
  label: string;
  /** The pod of the last core skipped in this window (where the window's Event goes). */
  where?: { namespace: string; pod: string };
}

/** What survives a restart (the watcher keeps it in a file beside its journal). */
export interface RateState {
  windows: Record<string, CrashWindow>;
  /** Crash keys with a core in storage, and when the last one was stored. */
  storedKeys: Record<string, number>;
}

export interface ClosedWindow {
  key: string;
  label: string;
  start: number;
  end: number;
  stored: number;
  skipped: number;
  where?: { namespace: string; pod: string };
}

export type RateRule = LimitSettings["perFingerprint"];

export function emptyRateState(): RateState {
  return { windows: {}, storedKeys: {} };
}

/** Ends the windows that are over; returns those that skipped cores (each is announced once). */
export function closeWindows(state: RateState, now: number, rule: RateRule): ClosedWindow[] {
  const closed: ClosedWindow[] = [];
  for (const [key, w] of Object.entries(state.windows)) {
    if (now - w.start < rule.windowMs) continue;
    delete state.windows[key];
    if (w.skipped > 0)
      closed.push({
        key,
        label: w.label,
        start: w.start,
        end: w.start + rule.windowMs,
        stored: w.stored,
        skipped: w.skipped,
        ...(w.where ? { where: w.where } : {}),
      });
  }
  // A crash not stored for a long time is new again as far as the deletion order goes.
  const keep = Math.max(rule.windowMs, 7 * 86_400_000);
  for (const [key, at] of Object.entries(state.storedKeys))
    if (now - at > keep) delete state.storedKeys[key];
  return closed;
}

export interface RateDecision {
  store: boolean;
  /** The window after this core: `stored` and `skipped` include it. */
  window: CrashWindow;
  /** This is the window's first skipped core (the limit was just reached). */
  firstSkip: boolean;
  /** The key's previous window, when it ended with skipped cores (announce it). */
  closed?: ClosedWindow;
}

/** Counts one core of `key` at `now`: stored while the window has room, skipped beyond it. */
export function decide(
  state: RateState,
  key: string,
  now: number,
  rule: RateRule,
  label: string,
  where?: { namespace: string; pod: string },
): RateDecision {
  let closed: ClosedWindow | undefined;
  let w = state.windows[key];
  if (w && now - w.start >= rule.windowMs) {
    if (w.skipped > 0)
      closed = {
        key,
        label: w.label,
        start: w.start,
        end: w.start + rule.windowMs,
        stored: w.stored,
        skipped: w.skipped,
        ...(w.where ? { where: w.where } : {}),
      };
    w = undefined;
  }
  w ??= state.windows[key] = { start: now, stored: 0, skipped: 0, label };
  const store = w.stored < rule.max;
  if (store) w.stored++;
  else {
    w.skipped++;
    if (where) w.where = where;
  }
  return {
    store,
    window: { ...w },
    firstSkip: !store && w.skipped === 1,
    ...(closed ? { closed } : {}),
  };
}

/** A core stored and verified: its crash has a copy in storage (its local duplicates may go first). */
export function markStored(state: RateState, key: string, now: number): void {
  state.storedKeys[key] = now;
}

export interface DiskUsage {
  /** Bytes of the files under the node directory. */
  bytes: number;
  /** Size and free bytes of the filesystem that holds it. */
  fsSize: number;
  fsFree: number;
}

export interface DiskPressure {
  /** Bytes to free to be within every limit (0: within them). */
  need: number;
  /** Which limits are crossed, in words (for logs, Events and `status`). */
  reasons: string[];
}

export function keepFreeBytes(limits: LimitSettings, fsSize: number): number | undefined {
  const k = limits.keepFree;
  if (!k) return undefined;
  return "bytes" in k ? k.bytes : Math.ceil((fsSize * k.percent) / 100);
}

export function diskPressure(u: DiskUsage, limits: LimitSettings): DiskPressure {
  let need = 0;
  const reasons: string[] = [];
  if (limits.maxUseBytes !== undefined && u.bytes > limits.maxUseBytes) {
    need = u.bytes - limits.maxUseBytes;
    reasons.push(`MaxUse: ${u.bytes} bytes under the node directory, limit ${limits.maxUseBytes}`);
  }
  const keep = keepFreeBytes(limits, u.fsSize);
  if (keep !== undefined && u.fsFree < keep) {
    // Only what CoreDog holds can be freed; the rest of a full disk is someone else's.
    need = Math.max(need, Math.min(keep - u.fsFree, u.bytes));
    reasons.push(`KeepFree: ${u.fsFree} bytes free on the filesystem, limit ${keep}`);
  }
  return { need, reasons };
}

/** A core on the node, as the deletion order sees it. */
export interface LocalCore {
  id: string;
  key: string;
  size: number;
  /** When it was captured (ms): older goes first within a tier. */
  at: number;
  /** This very file is stored and verified (its local copy was kept). */
  stored: boolean;
}

/** Why a core may be deleted: 0, it is itself in storage; 1, its crash is; 2, another core of its crash is kept. */
export type DeletionTier = 0 | 1 | 2;

export interface Candidate {
  core: LocalCore;
  tier: DeletionTier;
}

/**
 * The cores that may be deleted, in the order they go: copies already in storage; then duplicates of a crash
 * stored before; then, of a crash not stored yet, every core but its first. Oldest first within each, newest last.
 * The first core of a crash with nothing in storage is never a candidate: it is the one kept.
 */
export function deletionOrder(
  cores: readonly LocalCore[],
  storedKeys: ReadonlySet<string>,
): Candidate[] {
  const byAge = [...cores].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const firstOf = new Map<string, string>();
  for (const c of byAge) if (!firstOf.has(c.key) && !c.stored) firstOf.set(c.key, c.id);
  const hasStoredCopy = new Set(storedKeys);
  for (const c of byAge) if (c.stored) hasStoredCopy.add(c.key);
  const out: Candidate[] = [];
  for (const c of byAge) {
    if (c.stored) out.push({ core: c, tier: 0 });
    else if (hasStoredCopy.has(c.key)) out.push({ core: c, tier: 1 });
    else if (firstOf.get(c.key) !== c.id) out.push({ core: c, tier: 2 });
  }
  return out.sort((a, b) => a.tier - b.tier); // stable: age order kept within a tier
}

/** The shortest prefix of the deletion order that frees `need` bytes (all candidates if they do not suffice). */
export function planDeletions(
  cores: readonly LocalCore[],
  storedKeys: ReadonlySet<string>,
  need: number,
): Candidate[] {
  const plan: Candidate[] = [];
  let freed = 0;
  for (const c of deletionOrder(cores, storedKeys)) {
    if (freed >= need) break;
    plan.push(c);
    freed += c.core.size;
  }
  return plan;
}
