// Field rules (zod): each turns a raw YAML value into a typed one or an issue naming the value and the rule.
import { z } from "zod";
import { parseDuration } from "../duration.js";
import { kindOf } from "./keys.js";
import { ADDRESSING_STYLES, CHANNELS, COMPRESSIONS, GC_TYPES, PROTOCOLS } from "./types.js";

export function show(v: unknown): string {
  const s = typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? "a list" : String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

const TRUE = new Set(["true", "yes", "on", "1"]);
const FALSE = new Set(["false", "no", "off", "0"]);

export const bool = (def: boolean) =>
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

export function httpUrl(s: string): URL | undefined {
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

/** A list of names: a YAML list, or one string with commas. */
const nameList = () =>
  z
    .unknown()
    .optional()
    .transform((v, ctx): string[] => {
      if (v === undefined || v === null || v === "") return [];
      const items = Array.isArray(v) ? v : typeof v === "string" ? v.split(",") : [v];
      const out: string[] = [];
      for (const it of items) {
        if (typeof it !== "string" && typeof it !== "number") {
          ctx.addIssue(`must be a list of strings, got ${kindOf(it)} in it`);
          continue;
        }
        const t = String(it).trim();
        if (t) out.push(t);
      }
      return out;
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

/** A duration such as 30d, 12h or 1h30m, in milliseconds; unset or 0: no limit. */
const optionalDuration = () =>
  z
    .unknown()
    .optional()
    .transform((v, ctx): number | undefined => {
      if (v === undefined || v === null || v === "" || v === 0 || v === "0") return undefined;
      const ms = parseDuration(String(v));
      if (ms === null || ms <= 0) {
        ctx.addIssue(`${show(v)} is not a duration (a number with s, m, h, d or w, e.g. 30d)`);
        return undefined;
      }
      return ms;
    });

const OFF = new Set(["off", "none", "unlimited", "0", "false"]);
const isOff = (v: unknown) =>
  v === 0 || v === false || (typeof v === "string" && OFF.has(v.trim().toLowerCase()));

/** A size limit: bytes, `off` (or 0) for none; `def` when absent. */
const sizeLimit = (def: number) =>
  z
    .unknown()
    .optional()
    .transform((v, ctx): number | undefined => {
      if (v === undefined || v === null || v === "") return def;
      if (isOff(v)) return undefined;
      const n = parseByteSize(v);
      if (n === undefined || n === 0) {
        ctx.addIssue(
          `${show(v)} is not a size (bytes, or a number with Ki, Mi, Gi, Ti, K, M, G, T; off for no limit)`,
        );
        return def;
      }
      return n;
    });

/** Free space to keep: `15%` of the filesystem, or a size; `off` for none. */
const freeLimit = (def: { percent: number }) =>
  z
    .unknown()
    .optional()
    .transform((v, ctx): { bytes: number } | { percent: number } | undefined => {
      if (v === undefined || v === null || v === "") return def;
      if (isOff(v)) return undefined;
      const pct = typeof v === "string" ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v) : null;
      if (pct) {
        const p = Number(pct[1]);
        if (p > 0 && p < 100) return { percent: p };
        ctx.addIssue(`${show(v)}: a percentage must be above 0% and below 100%`);
        return def;
      }
      const n = parseByteSize(v);
      if (n === undefined || n === 0) {
        ctx.addIssue(`${show(v)} is not a percentage of the filesystem (15%) or a size (5Gi)`);
        return def;
      }
      return { bytes: n };
    });

/** A duration (`90s`, `1h`, `1h30m`) within bounds, in milliseconds. */
const duration = (def: number, minMs: number, maxMs: number) =>
  z
    .unknown()
    .optional()
    .transform((v, ctx): number => {
      if (v === undefined || v === null || v === "") return def;
      const ms = typeof v === "string" ? parseDuration(v) : null;
      if (ms === null) {
        ctx.addIssue(`${show(v)} is not a duration (like 90s, 30m, 1h, 1d)`);
        return def;
      }
      if (ms < minMs || ms > maxMs) {
        ctx.addIssue(`${show(v)} must be from ${minMs / 1000}s to ${maxMs / 86_400_000}d`);
        return def;
      }
      return ms;
    });

export const LIMIT_DEFAULTS = {
  max: 5,
  windowMs: 3_600_000,
  maxUseBytes: 10 * 1024 ** 3,
  keepFree: { percent: 15 },
  maxCoreSizeBytes: 20 * 1024 ** 3,
} as const;

const limitsSchema = z.object({
  perFingerprint: z.object({
    max: int(LIMIT_DEFAULTS.max, 1, 1_000_000),
    window: duration(LIMIT_DEFAULTS.windowMs, 1000, 30 * 86_400_000),
  }),
  maxUse: sizeLimit(LIMIT_DEFAULTS.maxUseBytes),
  keepFree: freeLimit({ ...LIMIT_DEFAULTS.keepFree }),
  maxCoreSize: sizeLimit(LIMIT_DEFAULTS.maxCoreSizeBytes),
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

const checksumPolicy = () =>
  oneOf(["when_required", "when_supported"] as const, "when_required", {
    required: "when_required",
    supported: "when_supported",
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
  addressingStyle: oneOf(ADDRESSING_STYLES, "virtual", {
    "virtual-hosted": "virtual",
    "virtual-hosted-style": "virtual",
    virtualhosted: "virtual",
    vhost: "virtual",
    "path-style": "path",
  }),
  requestChecksumCalculation: checksumPolicy(),
  responseChecksumValidation: checksumPolicy(),
  cfsPath: absPath(),
  compression: oneOf(COMPRESSIONS, "none"),
  deleteLocalCorefile: z.unknown().optional(),
});

export const schema = z.object({
  StorageConfig: storageSchema,
  DeleteLocalCorefile: z.unknown().optional(),
  gc: z.unknown().optional(),
  gc_type: oneOf(GC_TYPES, "rm"),
  NoticeChannel: z
    .array(
      z.object({
        chan: oneOf(CHANNELS, undefined, {
          wecom: "wechat",
          weixin: "wechat",
          lark: "feishu",
          cloudevent: "cloudevents",
        }),
        webhookurl: webhookUrl(),
        keyword: text(),
        secret: text(),
        secretRef: z.object({ name: text(), key: text() }).optional(),
        mentions: z
          .object({ userIds: nameList(), mobiles: nameList(), all: bool(false) })
          .optional(),
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
  Retention: z.object({
    maxAge: optionalDuration(),
    maxPerFingerprint: int(undefined, 1, 1_000_000),
  }),
  Limits: limitsSchema,
  ScrapePaths: z.unknown().optional(),
  COREFILE_DIR: z.unknown().optional(),
});

export function issuePath(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path)
    s += typeof p === "number" ? `[${p}]` : s === "" ? String(p) : `.${String(p)}`;
  return s;
}
