// Key matching: the file's keys renamed to their DESIGN.md spelling, without regard to case, `_` or `-`; unknown
// keys become warnings with a suggestion.

/** How keys compare: `DeleteLocalCorefile`, `deleteLocalCorefile`, `delete_local_corefile` are one key. */
export function keyNorm(k: string): string {
  return k.toLowerCase().replace(/[_-]/g, "");
}

type Shape = { [key: string]: Node };
type Node =
  | { kind: "value"; aliases?: string[] }
  | { kind: "map"; fields: Shape; aliases?: string[] }
  | { kind: "list"; item: Shape; aliases?: string[] };

const value = (aliases?: string[]): Node => ({ kind: "value", aliases });

/** The known keys, spelled as in DESIGN.md (these spellings appear in messages). */
export const SHAPE: Shape = {
  StorageConfig: {
    kind: "map",
    fields: {
      enabled: value(),
      protocol: value(),
      S3Endpoint: value(["endpoint"]),
      s3Region: value(["region"]),
      S3Bucket: value(["bucket"]),
      s3AccesskeyID: value(["accessKeyId"]),
      s3SecretAccessKey: value(["secretAccessKey"]),
      StoreDir: value(),
      PresignedURLExpireSeconds: value(),
      forcePathStyle: value(),
      addressingStyle: value(["addressing"]),
      requestChecksumCalculation: value(),
      responseChecksumValidation: value(),
      cfsPath: value(),
      compression: value(),
      deleteLocalCorefile: value(), // where the original watcher read it
    },
  },
  DeleteLocalCorefile: value(),
  gc: value(), // original: delete (per gc_type) after upload
  gc_type: value(),
  NoticeChannel: {
    kind: "list",
    aliases: ["NoticeChannels"],
    item: {
      chan: value(),
      webhookurl: value(),
      keyword: value(),
      secret: value(),
      secretRef: { kind: "map", fields: { name: value(), key: value() } },
      mentions: {
        kind: "map",
        aliases: ["at"],
        fields: {
          userIds: value(["atUserIds", "mentioned_list", "users"]),
          mobiles: value(["atMobiles", "mentioned_mobile_list", "phones"]),
          all: value(["isAtAll", "atAll"]),
        },
      },
    },
  },
  messageTemplate: value(),
  CustomHandler: {
    kind: "map",
    fields: { enabled: value(), timeout: value(), skipDefaultNotify: value(), script: value() },
  },
  Watcher: {
    kind: "map",
    fields: {
      quietSeconds: value(),
      rescanSeconds: value(),
      maxParallelUploads: value(),
      diskLimit: value(),
      diskGuardDeleteUploaded: value(),
      groupWindowSeconds: value(),
    },
  },
  Webhook: { kind: "map", fields: { alertOnError: value() } },
  Retention: { kind: "map", fields: { maxAge: value(), maxPerFingerprint: value() } },
  Limits: {
    kind: "map",
    fields: {
      perFingerprint: {
        kind: "map",
        aliases: ["rateLimit"],
        fields: { max: value(), window: value() },
      },
      maxUse: value(),
      keepFree: value(),
      maxCoreSize: value(),
    },
  },
  ScrapePaths: value(), // original; the watcher's --dir replaces it
  COREFILE_DIR: value(), // original; likewise
};

function lookup(shape: Shape): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, node] of Object.entries(shape)) {
    m.set(keyNorm(k), k);
    for (const a of node.aliases ?? []) m.set(keyNorm(a), k);
  }
  return m;
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return d[a.length]![b.length]!;
}

function suggest(key: string, shape: Shape): string | undefined {
  const n = keyNorm(key);
  let best: { k: string; d: number } | undefined;
  for (const k of Object.keys(shape)) {
    const d = distance(n, keyNorm(k));
    if (!best || d < best.d) best = { k, d };
  }
  return best && best.d <= Math.max(1, Math.floor(keyNorm(best.k).length / 4)) ? best.k : undefined;
}

export function kindOf(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `a ${typeof v}`;
}

export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export type Canon = { [key: string]: unknown };

/** Where a canonical key path (`StorageConfig.S3Bucket`, `NoticeChannel[0].chan`) stands in the file: its keys as written. */
export type Origins = Map<string, (string | number)[]>;

export interface CanonReport {
  errors: string[];
  warnings: string[];
  origins: Origins;
}

/** Renames the file's keys to their DESIGN.md spelling; unknown keys become warnings. */
export function canonicalize(
  raw: Record<string, unknown>,
  shape: Shape,
  prefix: string,
  report: CanonReport,
  rawPath: (string | number)[] = [],
): Canon {
  const { errors, warnings, origins } = report;
  const names = lookup(shape);
  const out: Canon = {};
  const seenAs = new Map<string, string>();
  for (const [key, v] of Object.entries(raw)) {
    const canon = names.get(keyNorm(key));
    const path = prefix + (canon ?? key);
    const here = [...rawPath, key];
    if (canon === undefined) {
      const hint = suggest(key, shape);
      warnings.push(`unknown key ${prefix}${key}${hint ? ` (did you mean ${hint}?)` : ""}`);
      continue;
    }
    const first = seenAs.get(canon);
    if (first !== undefined) {
      origins.set(path, here);
      errors.push(`${path}: given twice (as ${first} and ${key})`);
      continue;
    }
    seenAs.set(canon, key);
    origins.set(path, here);
    const node = shape[canon]!;
    if (node.kind === "value") out[canon] = v;
    else if (v === null || v === undefined) out[canon] = undefined;
    else if (node.kind === "map") {
      if (!isMapping(v)) errors.push(`${path}: must be a mapping, got ${kindOf(v)}`);
      else out[canon] = canonicalize(v, node.fields, `${path}.`, report, here);
    } else {
      if (!Array.isArray(v)) {
        errors.push(`${path}: must be a list, got ${kindOf(v)}`);
        continue;
      }
      out[canon] = v.map((item, i) => {
        origins.set(`${path}[${i}]`, [...here, i]);
        if (!isMapping(item)) {
          errors.push(`${path}[${i}]: must be a mapping, got ${kindOf(item)}`);
          return {};
        }
        return canonicalize(item, node.item, `${path}[${i}].`, report, [...here, i]);
      });
    }
  }
  return out;
}
