// The node's state as each watcher publishes it (JSON in the annotation coredog.io/node-state on its own pod),
// read back by `kubectl coredog status/doctor`.
import { z } from "zod";

export interface NodeState {
  node: string;
  /** The node's kernel.core_pattern, null when it could not be read. */
  corePattern: string | null;
  filesWaiting: number;
  bytesWaiting: number;
  lastUpload?: { at: string; key: string; bytes: number };
  lastError?: { at: string; message: string };
  /** The last upload's failure in the store's words (HTTP status, code, message); absent once an upload succeeds. */
  storageError?: { at: string; message: string };
  /**
   * The last security refusal of each notice channel that is refused now (bad signature, missing keyword, IP not
   * allowed): `channel` is its index in NoticeChannel; dropped once the channel accepts a message again.
   */
  noticeRefusals?: NoticeRefusal[];
  /** Set while the settings file is bad (the watcher runs with its last good settings). */
  settingsError?: string;
  updatedAt: string;
  /** The node directory the watcher watches, as it sees it. */
  configuredPath: string;
  /** The node directory's mode (octal, e.g. "1733") and owner: who can create cores below it. */
  dumpDir?: DirAccess;
  /** The limits (Limits in the settings): the disk as the watcher measured it and which limits act now. */
  limits?: LimitsState;
}

export type LimitName = "maxUse" | "keepFree" | "rate" | "maxCoreSize";

export interface LimitsState {
  /** Bytes of the files under the node directory. */
  dirBytes: number;
  fsFreeBytes?: number;
  maxUseBytes?: number;
  keepFreeBytes?: number;
  /** Limits acting now (a crossed disk limit, a crash over its rate, a core over maxCoreSize), each with why. */
  active: { limit: LimitName; since: string; why: string }[];
}

export interface NoticeRefusal {
  at: string;
  channel: number;
  chan: string;
  kind: string;
  /** The log line's text: what was refused, why, what to change. */
  message: string;
}

export interface DirAccess {
  mode: string;
  uid: number;
  gid: number;
}

const count = z.number().int().nonnegative();

const nodeStateSchema = z.object({
  node: z.string(),
  corePattern: z.string().nullable(),
  filesWaiting: count,
  bytesWaiting: count,
  lastUpload: z.object({ at: z.string(), key: z.string(), bytes: count }).optional(),
  lastError: z.object({ at: z.string(), message: z.string() }).optional(),
  storageError: z.object({ at: z.string(), message: z.string() }).optional(),
  noticeRefusals: z
    .array(
      z.object({
        at: z.string(),
        channel: count,
        chan: z.string(),
        kind: z.string(),
        message: z.string(),
      }),
    )
    .optional(),
  settingsError: z.string().optional(),
  updatedAt: z.string(),
  configuredPath: z.string(),
  dumpDir: z.object({ mode: z.string().regex(/^[0-7]{3,4}$/), uid: count, gid: count }).optional(),
  limits: z
    .object({
      dirBytes: count,
      fsFreeBytes: count.optional(),
      maxUseBytes: count.optional(),
      keepFreeBytes: count.optional(),
      active: z.array(
        z.object({
          limit: z.enum(["maxUse", "keepFree", "rate", "maxCoreSize"]),
          since: z.string(),
          why: z.string(),
        }),
      ),
    })
    .optional(),
});

/** The state from the annotation's text; null when it is not valid JSON or not a NodeState. Unknown keys are dropped. */
export function parseNodeState(json: string): NodeState | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  const parsed = nodeStateSchema.safeParse(value);
  if (!parsed.success) return null;
  const s = parsed.data;
  const state: NodeState = {
    node: s.node,
    corePattern: s.corePattern,
    filesWaiting: s.filesWaiting,
    bytesWaiting: s.bytesWaiting,
    updatedAt: s.updatedAt,
    configuredPath: s.configuredPath,
  };
  if (s.lastUpload) state.lastUpload = s.lastUpload;
  if (s.lastError) state.lastError = s.lastError;
  if (s.storageError) state.storageError = s.storageError;
  if (s.noticeRefusals && s.noticeRefusals.length > 0) state.noticeRefusals = s.noticeRefusals;
  if (s.settingsError !== undefined) state.settingsError = s.settingsError;
  if (s.dumpDir) state.dumpDir = s.dumpDir;
  if (s.limits) {
    const { fsFreeBytes, maxUseBytes, keepFreeBytes } = s.limits;
    state.limits = {
      dirBytes: s.limits.dirBytes,
      active: s.limits.active,
      ...(fsFreeBytes !== undefined ? { fsFreeBytes } : {}),
      ...(maxUseBytes !== undefined ? { maxUseBytes } : {}),
      ...(keepFreeBytes !== undefined ? { keepFreeBytes } : {}),
    };
  }
  return state;
}
