// The settings file (ConfigMap `coredog`, `config.yaml`): the original CoreDog keys, matched without
// regard to case (and `_`/`-`), validated with zod, normalised to camelCase `Settings`.
//
// Storage may be left unconfigured: when `StorageConfig` is absent or empty (or `enabled: false`),
// `storage.configured` is false, the watcher keeps cores on the node and says so (a warning is
// returned here). Once `StorageConfig` has any key, it must be complete (`S3Bucket` for s3/cos/oss,
// `S3Endpoint` for cos/oss, `cfsPath` for cfs).
//
// Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (Secret coredog-storage) win over the file's
// `s3AccesskeyID` / `s3SecretAccessKey` (a warning says so when both are set); AWS_REGION fills an
// absent `s3Region`, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL an absent `S3Endpoint`.

import { parseDocument } from "yaml";
import { z } from "zod";
import { PLACEHOLDERS } from "./template.js";

export type StorageProtocol = "s3" | "cos" | "oss" | "cfs";
export type Compression = "none" | "zstd" | "gzip";
export type ChannelKind = "wechat" | "slack" | "dingtalk" | "feishu" | "webhook";

export interface NoticeChannelSettings {
  chan: ChannelKind;
  webhookUrl: string;
  keyword?: string;
}

export interface Settings {
  storage: {
    /** False when StorageConfig is absent/empty or `enabled: false`: cores stay on the node. */
    configured: boolean;
    protocol: StorageProtocol;
    endpoint?: string;
    region: string;
    bucket?: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    /** Object key prefix without leading/trailing slashes ("" = bucket root). */
    storeDir: string;
    presignedUrlExpireSeconds: number;
    forcePathStyle: boolean;
    cfsPath?: string;
    compression: Compression;
  };
  deleteLocalCorefile: boolean;
  gcType: "rm" | "truncate";
  noticeChannels: NoticeChannelSettings[];
  messageTemplate?: string;
  customHandler: {
    enabled: boolean;
    timeoutSeconds: number;
    skipDefaultNotify: boolean;
    script: string;
  };
  watcher: {
    quietMillis: number;
    rescanSeconds: number;
    maxParallelUploads: number;
    diskLimitBytes?: number;
    diskGuardDeleteUploaded: boolean;
    groupWindowSeconds: number;
  };
  webhook: { alertOnError: boolean };
}

export type ParseSettingsResult =
  { ok: true; settings: Settings; warnings: string[] } | { ok: false; errors: string[] };

export const PROTOCOLS = ["s3", "cos", "oss", "cfs"] as const;
export const COMPRESSIONS = ["none", "zstd", "gzip"] as const;
export const CHANNELS = ["wechat", "slack", "dingtalk", "feishu", "webhook"] as const;
export const GC_TYPES = ["rm", "truncate"] as const;

/** A commented example `config.yaml` in the guide's spellings; it parses to valid settings. */
export const DEFAULT_CONFIG_YAML = `# CoreDog settings (ConfigMap coredog, key config.yaml). Keys are matched without regard to case.
StorageConfig:
  protocol: s3                   # s3 | cos | oss (S3-compatible) | cfs (copy to a mounted path)
  # S3Endpoint: https://s3.example.com   # empty = AWS S3; MinIO, R2, COS, OSS: their endpoint
  s3Region: us-east-1
  S3Bucket: coredog
  # Credentials: better in Secret coredog-storage (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
  s3AccesskeyID: ""
  s3SecretAccessKey: ""
  StoreDir: corefiles            # object keys: <StoreDir>/<namespace>/<pod>/<time>-<file>
  PresignedURLExpireSeconds: 3600
  compression: none              # none | zstd | gzip
  # forcePathStyle: true         # default: true for s3 with an endpoint (MinIO), else false
  # cfsPath: /mnt/cfs            # protocol cfs: where to copy the cores
DeleteLocalCorefile: true        # delete the node's copy once the upload is verified
gc_type: rm                      # rm | truncate
NoticeChannel: []
#  - chan: wechat                # wechat | slack | dingtalk | feishu | webhook
#    webhookurl: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...
#    keyword: production         # only notify when the core's path/namespace/pod contains it
# messageTemplate: |
#   [{pod.namespace}/{pod.name}] core: {corefile.filename}
#   signal: {core.signal} download: {corefile.url}
CustomHandler:
  enabled: false
  timeout: 300                   # seconds; the whole process group is killed after it
  skipDefaultNotify: false
  script: |
    #!/bin/bash
    echo "$POD_NAMESPACE/$POD_NAME $COREDUMP_URL"
Watcher:
  quietSeconds: 2                # last resort: cores are taken when the kernel is done and they are whole
  rescanSeconds: 60
  maxParallelUploads: 2
  # diskLimit: 10Gi              # alert when the node directory is larger
  diskGuardDeleteUploaded: false # over the limit: delete the oldest already-uploaded files
  groupWindowSeconds: 300        # crash loops: one message per owner/executable/signal per window
Webhook:
  alertOnError: true             # notify the channels when the webhook fails to patch a pod
`;

// ---------------------------------------------------------------------------------------------
// Key matching

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
const SHAPE: Shape = {
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
    item: { chan: value(), webhookurl: value(), keyword: value() },
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

function kindOf(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `a ${typeof v}`;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

type Canon = { [key: string]: unknown };

/** Renames the file's keys to their DESIGN.md spelling; unknown keys become warnings. */
function canonicalize(
  raw: Record<string, unknown>,
  shape: Shape,
  prefix: string,
  errors: string[],
  warnings: string[],
): Canon {
  const names = lookup(shape);
  const out: Canon = {};
  const seenAs = new Map<string, string>();
  for (const [key, v] of Object.entries(raw)) {
    const canon = names.get(keyNorm(key));
    const path = prefix + (canon ?? key);
    if (canon === undefined) {
      const hint = suggest(key, shape);
      warnings.push(`unknown key ${prefix}${key}${hint ? ` (did you mean ${hint}?)` : ""}`);
      continue;
    }
    const first = seenAs.get(canon);
    if (first !== undefined) {
      errors.push(`${path}: given twice (as ${first} and ${key})`);
      continue;
    }
    seenAs.set(canon, key);
    const node = shape[canon]!;
    if (node.kind === "value") out[canon] = v;
    else if (v === null || v === undefined) out[canon] = undefined;
    else if (node.kind === "map") {
      if (!isMapping(v)) errors.push(`${path}: must be a mapping, got ${kindOf(v)}`);
      else out[canon] = canonicalize(v, node.fields, `${path}.`, errors, warnings);
    } else {
      if (!Array.isArray(v)) {
        errors.push(`${path}: must be a list, got ${kindOf(v)}`);
        continue;
      }
      out[canon] = v.map((item, i) => {
        if (!isMapping(item)) {
          errors.push(`${path}[${i}]: must be a mapping, got ${kindOf(item)}`);
          return {};
        }
        return canonicalize(item, node.item, `${path}[${i}].`, errors, warnings);
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Field rules (zod): each turns a raw YAML value into a typed one or an issue naming value and rule.

function show(v: unknown): string {
  const s = typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? "a list" : String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

const TRUE = new Set(["true", "yes", "on", "1"]);
const FALSE = new Set(["false", "no", "off", "0"]);

const bool = (def: boolean) =>
  z
    .unknown()
    .optional()
    .transform((v, ctx): boolean => {
      if (v === undefined || v === null || v === "") return def;
      if (typeof v === "boolean") return v;
      const s = String(v).trim().toLowerCase();
      if (TRUE.has(s)) return true;
      if (FALSE.has(s)) return false;
      ctx.addIssue(`${show(v)} is not a boolean (true or false)`);
      return def;
    });

const int = (def: number | undefined, min: number, max: number) =>
  z
    .unknown()
    .optional()
    .transform((v, ctx): number | undefined => {
      if (v === undefined || v === null || v === "") return def;
      const n =
        typeof v === "number"
          ? v
          : typeof v === "string" && /^\s*-?\d+\s*$/.test(v)
            ? Number(v)
            : NaN;
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue(`${show(v)} must be a whole number from ${min} to ${max}`);
        return def;
      }
      return n;
    });

const num = (def: number, min: number, max: number) =>
  z
    .unknown()
    .optional()
    .transform((v, ctx): number => {
      if (v === undefined || v === null || v === "") return def;
      const n =
        typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
      if (!Number.isFinite(n) || n < min || n > max) {
        ctx.addIssue(`${show(v)} must be a number from ${min} to ${max}`);
        return def;
      }
      return n;
    });

const oneOf = <T extends string>(
  values: readonly T[],
  def: T | undefined,
  aliases: Record<string, T> = {},
) =>
  z
    .unknown()
    .optional()
    .transform((v, ctx): T | undefined => {
      if (v === undefined || v === null || v === "") {
        if (def === undefined) ctx.addIssue("required");
        return def;
      }
      const s = String(v).trim().toLowerCase();
      const hit = values.find((x) => x === s) ?? aliases[s];
      if (hit === undefined) {
        ctx.addIssue(`${show(v)} is not one of ${values.join(", ")}`);
        return def;
      }
      return hit;
    });

const str = () =>
  z
    .unknown()
    .optional()
    .transform((v, ctx): string | undefined => {
      if (v === undefined || v === null) return undefined;
      if (typeof v === "string") return v;
      if (typeof v === "number" || typeof v === "boolean") return String(v);
      ctx.addIssue(`must be a string, got ${kindOf(v)}`);
      return undefined;
    });

/** Non-empty trimmed string or undefined; secret values are never echoed in messages. */
const text = () =>
  str().transform((s) => {
    const t = s?.trim();
    return t ? t : undefined;
  });

function httpUrl(s: string): URL | undefined {
  try {
    const u = new URL(s);
    return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "" ? u : undefined;
  } catch {
    return undefined;
  }
}

/** Webhook URLs carry tokens: an invalid one is described, not printed. */
const webhookUrl = () =>
  text().transform((s, ctx): string => {
    if (s === undefined) {
      ctx.addIssue("required");
      return "";
    }
    if (!httpUrl(s)) {
      const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(s)?.[1];
      ctx.addIssue(`not a valid http(s) URL${scheme ? ` (scheme ${scheme}:)` : ""}`);
      return "";
    }
    return s;
  });

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([KMGTP]i?|[kmgtp]i?)?[Bb]?\s*$/;
const UNITS: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

/** Bytes from `10Gi`, `500Mi`, `2G`, `1048576` (Kubernetes quantity suffixes). Undefined if invalid. */
export function parseByteSize(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
  if (typeof v !== "string") return undefined;
  const m = SIZE.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? "").toLowerCase();
  if (unit === "") return Math.floor(n);
  const base = unit.endsWith("i") ? 1024 ** ("kmgtp".indexOf(unit[0]!) + 1) : UNITS[unit[0]!]!;
  return Math.floor(n * base);
}

const byteSize = () =>
  z
    .unknown()
    .optional()
    .transform((v, ctx): number | undefined => {
      if (v === undefined || v === null || v === "" || v === 0 || v === "0") return undefined;
      const n = parseByteSize(v);
      if (n === undefined) {
        ctx.addIssue(
          `${show(v)} is not a size (bytes, or a number with Ki, Mi, Gi, Ti, K, M, G, T)`,
        );
        return undefined;
      }
      return n;
    });

const storeDir = () =>
  str().transform((s, ctx): string => {
    if (s === undefined) return "corefiles";
    const t = s.trim().replace(/^\/+|\/+$/g, "");
    // eslint-disable-next-line no-control-regex
    if (t.split("/").some((p) => p === ".." || p === ".") || /[\\\u0000-\u001f]/.test(t)) {
      ctx.addIssue(
        `${show(s)} is not a valid key prefix (no "..", ".", backslashes or control characters)`,
      );
    }
    return t.replace(/\/{2,}/g, "/");
  });

const absPath = () =>
  text().transform((s, ctx): string | undefined => {
    if (s === undefined) return undefined;
    if (!s.startsWith("/") || s.split("/").includes("..")) {
      ctx.addIssue(`${show(s)} must be an absolute path without ".."`);
    }
    return s.replace(/\/+$/, "") || "/";
  });

const storageSchema = z.object({
  enabled: bool(true),
  protocol: oneOf(PROTOCOLS, "s3"),
  S3Endpoint: text(),
  s3Region: text(),
  S3Bucket: text(),
  s3AccesskeyID: text(),
  s3SecretAccessKey: text(),
  StoreDir: storeDir(),
  PresignedURLExpireSeconds: int(3600, 1, 604800),
  forcePathStyle: z.unknown().optional(), // default depends on protocol and endpoint
  cfsPath: absPath(),
  compression: oneOf(COMPRESSIONS, "none"),
  deleteLocalCorefile: z.unknown().optional(),
});

const schema = z.object({
  StorageConfig: storageSchema,
  DeleteLocalCorefile: z.unknown().optional(),
  gc: z.unknown().optional(),
  gc_type: oneOf(GC_TYPES, "rm"),
  NoticeChannel: z
    .array(
      z.object({
        chan: oneOf(CHANNELS, undefined, { wecom: "wechat", weixin: "wechat", lark: "feishu" }),
        webhookurl: webhookUrl(),
        keyword: text(),
      }),
    )
    .optional(),
  messageTemplate: str(),
  CustomHandler: z.object({
    enabled: bool(false),
    timeout: int(300, 1, 86400),
    skipDefaultNotify: bool(false),
    script: str(),
  }),
  Watcher: z.object({
    quietSeconds: num(2, 0.05, 3600),
    rescanSeconds: int(60, 1, 86400),
    maxParallelUploads: int(2, 1, 64),
    diskLimit: byteSize(),
    diskGuardDeleteUploaded: bool(false),
    groupWindowSeconds: int(300, 0, 86400),
  }),
  Webhook: z.object({ alertOnError: bool(true) }),
  ScrapePaths: z.unknown().optional(),
  COREFILE_DIR: z.unknown().optional(),
});

function issuePath(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path)
    s += typeof p === "number" ? `[${p}]` : s === "" ? String(p) : `.${String(p)}`;
  return s;
}

// ---------------------------------------------------------------------------------------------

function yamlErrors(yamlText: string): { value?: unknown; errors: string[]; warnings: string[] } {
  const doc = parseDocument(yamlText, { uniqueKeys: true, prettyErrors: true });
  const describe = (e: {
    message: string;
    linePos?: [{ line: number; col: number }, ...unknown[]];
  }) => {
    const first = (e.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    return e.linePos ? `at line ${e.linePos[0].line}, column ${e.linePos[0].col}: ${first}` : first;
  };
  if (doc.errors.length > 0) {
    return {
      errors: doc.errors.map((e) => `config.yaml: YAML syntax error ${describe(e)}`),
      warnings: [],
    };
  }
  try {
    return {
      value: doc.toJS({ maxAliasCount: 100 }),
      errors: [],
      warnings: doc.warnings.map((w) => `config.yaml: YAML warning ${describe(w)}`),
    };
  } catch (e) {
    return { errors: [`config.yaml: ${(e as Error).message}`], warnings: [] };
  }
}

/**
 * Parses and validates `config.yaml`. `env` supplies the credentials of Secret coredog-storage
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and AWS_REGION / AWS_ENDPOINT_URL(_S3).
 * Errors read `<key path as in DESIGN.md>: <value and rule>`.
 */
export function parseSettings(
  yamlText: string,
  env: Record<string, string | undefined> = {},
): ParseSettingsResult {
  const parsed = yamlErrors(yamlText);
  if (parsed.errors.length > 0) return { ok: false, errors: parsed.errors };
  const errors: string[] = [];
  const warnings = [...parsed.warnings];
  const root = parsed.value ?? {};
  if (!isMapping(root)) {
    return {
      ok: false,
      errors: [`config.yaml: must be a mapping of settings, got ${kindOf(root)}`],
    };
  }
  const canon = canonicalize(root, SHAPE, "", errors, warnings);
  const storageRaw = canon.StorageConfig as Canon | undefined;
  const result = schema.safeParse({
    ...canon,
    StorageConfig: storageRaw ?? {},
    CustomHandler: canon.CustomHandler ?? {},
    Watcher: canon.Watcher ?? {},
    Webhook: canon.Webhook ?? {},
  });
  if (!result.success) {
    for (const issue of result.error.issues) {
      errors.push(`${issuePath(issue.path) || "config.yaml"}: ${issue.message}`);
    }
  }
  if (!result.success || errors.length > 0) return { ok: false, errors };
  const c = result.data;
  const st = c.StorageConfig;

  // Deletion: DeleteLocalCorefile, else the original watcher's StorageConfig.deleteLocalCorefile, else gc.
  const deleteSources: [string, unknown][] = [
    ["DeleteLocalCorefile", c.DeleteLocalCorefile],
    ["StorageConfig.deleteLocalCorefile", st.deleteLocalCorefile],
    ["gc", c.gc],
  ];
  let deleteLocalCorefile = true;
  let deleteFrom: string | undefined;
  for (const [path, v] of deleteSources) {
    if (v === undefined || v === null || v === "") continue;
    const r = bool(true).safeParse(v);
    if (!r.success) {
      errors.push(`${path}: ${r.error.issues[0]?.message ?? "invalid"}`);
      continue;
    }
    if (deleteFrom === undefined) {
      deleteLocalCorefile = r.data;
      deleteFrom = path;
    } else {
      warnings.push(`${path} is ignored: ${deleteFrom} is set`);
    }
  }
  if (c.ScrapePaths !== undefined)
    warnings.push("ScrapePaths is ignored: the watcher watches its --dir");
  if (c.COREFILE_DIR !== undefined)
    warnings.push("COREFILE_DIR is ignored: the watcher watches its --dir");

  // Storage.
  const storageKeys = Object.keys(storageRaw ?? {}).filter((k) => k !== "enabled");
  const configured = st.enabled && storageKeys.length > 0;
  let endpoint = st.S3Endpoint ?? env.AWS_ENDPOINT_URL_S3?.trim() ?? env.AWS_ENDPOINT_URL?.trim();
  if (endpoint === "") endpoint = undefined;
  if (endpoint !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) {
    warnings.push(
      `StorageConfig.S3Endpoint: ${show(endpoint)} has no scheme; using https://${endpoint}`,
    );
    endpoint = `https://${endpoint}`;
  }
  if (endpoint !== undefined && !httpUrl(endpoint)) {
    errors.push(`StorageConfig.S3Endpoint: ${show(endpoint)} is not a valid http(s) URL`);
  }
  if (configured) {
    if (st.protocol !== "cfs" && st.S3Bucket === undefined) {
      errors.push(`StorageConfig.S3Bucket: required when protocol is ${st.protocol}`);
    }
    if ((st.protocol === "cos" || st.protocol === "oss") && endpoint === undefined) {
      errors.push(`StorageConfig.S3Endpoint: required when protocol is ${st.protocol}`);
    }
    if (st.protocol === "cfs" && st.cfsPath === undefined) {
      errors.push("StorageConfig.cfsPath: required when protocol is cfs");
    }
  } else {
    warnings.push(
      st.enabled
        ? "StorageConfig: not configured; cores are kept on the node and not uploaded"
        : "StorageConfig.enabled is false; cores are kept on the node and not uploaded",
    );
  }
  let forcePathStyle = st.protocol === "s3" && endpoint !== undefined;
  if (st.forcePathStyle !== undefined && st.forcePathStyle !== null && st.forcePathStyle !== "") {
    const r = bool(false).safeParse(st.forcePathStyle);
    if (r.success) forcePathStyle = r.data;
    else errors.push(`StorageConfig.forcePathStyle: ${r.error.issues[0]?.message ?? "invalid"}`);
  }
  const credential = (file: string | undefined, envName: string, key: string) => {
    const fromEnv = env[envName]?.trim();
    if (fromEnv) {
      if (file && file !== fromEnv) {
        warnings.push(`StorageConfig.${key} is overridden by ${envName} (Secret coredog-storage)`);
      }
      return fromEnv;
    }
    return file;
  };
  const accessKeyId = credential(st.s3AccesskeyID, "AWS_ACCESS_KEY_ID", "s3AccesskeyID");
  const secretAccessKey = credential(
    st.s3SecretAccessKey,
    "AWS_SECRET_ACCESS_KEY",
    "s3SecretAccessKey",
  );
  if (
    configured &&
    st.protocol !== "cfs" &&
    (accessKeyId === undefined) !== (secretAccessKey === undefined)
  ) {
    errors.push(
      `StorageConfig.${accessKeyId === undefined ? "s3AccesskeyID" : "s3SecretAccessKey"}: required when ${
        accessKeyId === undefined ? "s3SecretAccessKey" : "s3AccesskeyID"
      } is set`,
    );
  }

  // Notices, template, custom handler.
  const noticeChannels: NoticeChannelSettings[] = (c.NoticeChannel ?? []).map((n) => ({
    chan: n.chan as ChannelKind,
    webhookUrl: n.webhookurl,
    ...(n.keyword !== undefined ? { keyword: n.keyword } : {}),
  }));
  const messageTemplate = c.messageTemplate?.trim() ? c.messageTemplate : undefined;
  for (const m of messageTemplate?.matchAll(/\{([a-zA-Z]+\.[a-zA-Z]+)\}/g) ?? []) {
    if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
      warnings.push(`messageTemplate: unknown placeholder {${m[1]}} is left as written`);
    }
  }
  const ch = c.CustomHandler;
  const script = ch.script ?? "";
  if (ch.enabled && script.trim() === "")
    errors.push("CustomHandler.script: required when enabled is true");

  if (errors.length > 0) return { ok: false, errors };

  const w = c.Watcher;
  const settings: Settings = {
    storage: {
      configured,
      protocol: st.protocol ?? "s3",
      region:
        st.s3Region ?? env.AWS_REGION?.trim() ?? env.AWS_DEFAULT_REGION?.trim() ?? "us-east-1",
      storeDir: st.StoreDir,
      presignedUrlExpireSeconds: st.PresignedURLExpireSeconds ?? 3600,
      forcePathStyle,
      compression: st.compression ?? "none",
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(st.S3Bucket !== undefined ? { bucket: st.S3Bucket } : {}),
      ...(accessKeyId !== undefined ? { accessKeyId } : {}),
      ...(secretAccessKey !== undefined ? { secretAccessKey } : {}),
      ...(st.cfsPath !== undefined ? { cfsPath: st.cfsPath } : {}),
    },
    deleteLocalCorefile,
    gcType: c.gc_type ?? "rm",
    noticeChannels,
    ...(messageTemplate !== undefined ? { messageTemplate } : {}),
    customHandler: {
      enabled: ch.enabled,
      timeoutSeconds: ch.timeout ?? 300,
      skipDefaultNotify: ch.skipDefaultNotify,
      script,
    },
    watcher: {
      quietMillis: Math.round(w.quietSeconds * 1000),
      rescanSeconds: w.rescanSeconds ?? 60,
      maxParallelUploads: w.maxParallelUploads ?? 2,
      diskGuardDeleteUploaded: w.diskGuardDeleteUploaded,
      groupWindowSeconds: w.groupWindowSeconds ?? 300,
      ...(w.diskLimit !== undefined ? { diskLimitBytes: w.diskLimit } : {}),
    },
    webhook: { alertOnError: c.Webhook.alertOnError },
  };
  return { ok: true, settings, warnings };
}

/** The settings with secrets and webhook URL tokens hidden, for logs and `status`. */
export function redactSettings(s: Settings): Settings {
  const hide = (v: string | undefined) => (v === undefined ? undefined : "***");
  return {
    ...s,
    storage: {
      ...s.storage,
      ...(s.storage.accessKeyId !== undefined ? { accessKeyId: hide(s.storage.accessKeyId) } : {}),
      ...(s.storage.secretAccessKey !== undefined
        ? { secretAccessKey: hide(s.storage.secretAccessKey) }
        : {}),
    },
    noticeChannels: s.noticeChannels.map((n) => {
      const u = httpUrl(n.webhookUrl);
      return { ...n, webhookUrl: u ? `${u.protocol}//${u.host}/***` : "***" };
    }),
  };
}

/** Settings of an empty file: storage unconfigured, everything else at its default. */
export function defaultSettings(): Settings {
  const r = parseSettings("");
  if (!r.ok) throw new Error(r.errors.join("; "));
  return r.settings;
}
