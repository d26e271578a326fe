// The settings file (ConfigMap `coredog`, `config.yaml`): the original CoreDog keys, matched without
// regard to case (and `_`/`-`), validated with zod, normalised to camelCase `Settings`.
//
// Storage may be left unconfigured: when `StorageConfig` is absent or empty (or `enabled: false`),
// `storage.configured` is false, the watcher keeps cores on the node and says so (a warning is
// returned here). Once `StorageConfig` has any key, it must be complete (`S3Bucket` for s3/cos/oss,
// `S3Endpoint` for cos/oss, `cfsPath` for cfs).
//
// Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (Secret coredog-storage) win over the file's
// `s3AccesskeyID` / `s3SecretAccessKey` (a warning says so when both are set); with neither, the AWS
// SDK's default chain (web identity/IRSA, EKS Pod Identity, instance roles). AWS_REGION fills an
// absent `s3Region`, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL an absent `S3Endpoint`.
//
// S3-compatible stores differ (STORE_DEFAULTS): addressing (OSS refuses path style, MinIO and Ceph
// usually need it) and the AWS SDK's flexible checksums, which many non-AWS stores refuse (B2, COS,
// OSS, OBS, older MinIO/Ceph): off (`WHEN_REQUIRED`) unless the store is AWS itself.

import { PLACEHOLDERS } from "./template.js";
import {
  canonicalize,
  isMapping,
  kindOf,
  SHAPE,
  type Canon,
  type Origins,
} from "./settings/keys.js";
import { resolveDeletion, resolveStorage } from "./settings/resolve.js";
import type { z } from "zod";
import { NOTIFY_SECRET } from "./names.js";
import { httpUrl, issuePath, LIMIT_DEFAULTS, schema, show } from "./settings/rules.js";
import type {
  NoticeChannelSettings,
  ParseSettingsResult,
  Settings,
  ChannelKind,
} from "./settings/types.js";
import { readYaml, withPositions } from "./settings/yaml.js";

export * from "./settings/types.js";
export { keyNorm } from "./settings/keys.js";
export { parseByteSize } from "./settings/rules.js";
export { isAwsEndpoint, STORE_DEFAULTS } from "./settings/stores.js";

/** A commented example `config.yaml` in the guide's spellings; it parses to valid settings. */
export const DEFAULT_CONFIG_YAML = `# CoreDog settings (ConfigMap coredog, key config.yaml). Keys are matched without regard to case.
StorageConfig:
  protocol: s3                   # s3 | cos | oss | minio | r2 (S3-compatible) | cfs (copy to a mounted path)
  # S3Endpoint: https://s3.example.com   # empty = AWS S3; MinIO, Ceph, R2, B2, COS, OSS: their endpoint
  s3Region: us-east-1
  S3Bucket: coredog
  # Credentials: better in Secret coredog-storage (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY);
  # with no keys at all, the SDK's default chain (IRSA web identity, EKS Pod Identity, instance role).
  s3AccesskeyID: ""
  s3SecretAccessKey: ""
  StoreDir: corefiles            # object keys: <StoreDir>/<namespace>/<pod>/<time>-<file>
  PresignedURLExpireSeconds: 3600
  compression: none              # none | zstd | gzip
  # addressingStyle: path        # path | virtual; default: virtual for AWS, COS, OSS; path for MinIO, R2, s3 with an endpoint
  # requestChecksumCalculation: WHEN_REQUIRED   # WHEN_REQUIRED | WHEN_SUPPORTED; default WHEN_SUPPORTED on AWS only
  # responseChecksumValidation: WHEN_REQUIRED
  # cfsPath: /mnt/cfs            # protocol cfs: where to copy the cores
DeleteLocalCorefile: true        # delete the node's copy once the upload is verified
gc_type: rm                      # rm | truncate
NoticeChannel: []
#  - chan: wechat                # wechat | slack | dingtalk | feishu | webhook | cloudevents
#    webhookurl: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...
#    keyword: production         # only notify when the core's path/namespace/pod contains it
#    secretRef: {key: dingtalk-ops}   # dingtalk/feishu signing secret: a key of Secret coredog-notify
#    mentions: {mobiles: ["13800001111"], userIds: [], all: false}   # wechat, dingtalk, feishu
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
# Retention:                     # CoreDump records and their cores in storage (unset: kept)
#   maxAge: 30d
#   maxPerFingerprint: 20
Limits:                          # crash loops never fill a node or a bucket
  perFingerprint: { max: 5, window: 1h }  # cores stored per crash per window; the rest counted, reported, deleted
  maxUse: 10Gi                   # bytes under the node directory (off: no limit)
  keepFree: 15%                  # free space left on its filesystem: a percentage or a size (off: no limit)
  maxCoreSize: 20Gi              # larger cores are reported, not uploaded (off: no limit)
`;

/**
 * Parses and validates `config.yaml`. `env` supplies the credentials of Secret coredog-storage
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and AWS_REGION / AWS_ENDPOINT_URL(_S3).
 * Errors read `<key path as in DESIGN.md>: <value and rule> (line L, column C)`.
 */
export function parseSettings(
  yamlText: string,
  env: Record<string, string | undefined> = {},
): ParseSettingsResult {
  const read = readYaml(yamlText);
  if (read.errors.length > 0) return { ok: false, errors: read.errors };
  const origins: Origins = new Map();
  const found = { errors: [] as string[], warnings: [...read.warnings] };
  const fail = (): ParseSettingsResult => ({
    ok: false,
    errors: withPositions(found.errors, origins, read),
  });
  const root = read.value ?? {};
  if (!isMapping(root)) {
    return {
      ok: false,
      errors: [`config.yaml: must be a mapping of settings, got ${kindOf(root)}`],
    };
  }
  const canon = canonicalize(root, SHAPE, "", { ...found, origins });
  const storageRaw = canon.StorageConfig as Canon | undefined;
  const result = schema.safeParse({
    ...canon,
    StorageConfig: storageRaw ?? {},
    CustomHandler: canon.CustomHandler ?? {},
    Watcher: canon.Watcher ?? {},
    Webhook: canon.Webhook ?? {},
    Retention: canon.Retention ?? {},
    Limits: {
      ...((canon.Limits as Canon | undefined) ?? {}),
      perFingerprint: (canon.Limits as Canon | undefined)?.perFingerprint ?? {},
    },
  });
  if (!result.success) {
    for (const issue of result.error.issues) {
      found.errors.push(`${issuePath(issue.path) || "config.yaml"}: ${issue.message}`);
    }
  }
  if (!result.success || found.errors.length > 0) return fail();
  const c = result.data;
  const { errors, warnings } = found;

  const deleteLocalCorefile = resolveDeletion(c, found);
  if (c.ScrapePaths !== undefined)
    warnings.push("ScrapePaths is ignored: the watcher watches its --dir");
  if (c.COREFILE_DIR !== undefined)
    warnings.push("COREFILE_DIR is ignored: the watcher watches its --dir");
  const storage = resolveStorage(c.StorageConfig, storageRaw, env, found);

  // Notices, template, custom handler.
  const noticeChannels: NoticeChannelSettings[] = (c.NoticeChannel ?? []).map((n, i) =>
    noticeChannel(n, `NoticeChannel[${i}]`, found),
  );
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

  if (errors.length > 0) return fail();

  const w = c.Watcher;
  const settings: Settings = {
    storage,
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
    retention: {
      ...(c.Retention.maxAge !== undefined ? { maxAgeMs: c.Retention.maxAge } : {}),
      ...(c.Retention.maxPerFingerprint !== undefined
        ? { maxPerFingerprint: c.Retention.maxPerFingerprint }
        : {}),
    },
    limits: {
      perFingerprint: {
        max: c.Limits.perFingerprint.max ?? LIMIT_DEFAULTS.max,
        windowMs: c.Limits.perFingerprint.window,
      },
      ...(c.Limits.maxUse !== undefined ? { maxUseBytes: c.Limits.maxUse } : {}),
      ...(c.Limits.keepFree !== undefined ? { keepFree: c.Limits.keepFree } : {}),
      ...(c.Limits.maxCoreSize !== undefined ? { maxCoreSizeBytes: c.Limits.maxCoreSize } : {}),
    },
  };
  return { ok: true, settings, warnings };
}

type RawChannel = NonNullable<z.output<typeof schema>["NoticeChannel"]>[number];

/** Providers that sign with a secret, and those that take mentions. */
const SIGNING: readonly ChannelKind[] = ["dingtalk", "feishu"];
const MENTIONING: readonly ChannelKind[] = ["wechat", "dingtalk", "feishu"];

function noticeChannel(
  n: RawChannel,
  at: string,
  found: { errors: string[]; warnings: string[] },
): NoticeChannelSettings {
  const chan = n.chan as ChannelKind;
  const out: NoticeChannelSettings = {
    chan,
    webhookUrl: n.webhookurl,
    ...(n.keyword !== undefined ? { keyword: n.keyword } : {}),
  };
  const ref = n.secretRef;
  if (ref && (ref.key !== undefined || ref.name !== undefined)) {
    const name = ref.name ?? NOTIFY_SECRET;
    if (ref.key === undefined) found.errors.push(`${at}.secretRef.key: required`);
    else if (!/^[-._a-zA-Z0-9]+$/.test(ref.key))
      found.errors.push(`${at}.secretRef.key: ${show(ref.key)} is not a valid Secret key`);
    else if (name !== NOTIFY_SECRET)
      found.errors.push(
        `${at}.secretRef.name: ${show(name)} is not mounted; put the key in Secret ${NOTIFY_SECRET} (namespace coredog-system), which the watcher and the webhook mount`,
      );
    else out.secretRef = { name, key: ref.key };
    if (n.secret !== undefined) found.errors.push(`${at}: give secret or secretRef, not both`);
  } else if (n.secret !== undefined) {
    out.secret = n.secret;
  }
  if ((out.secret !== undefined || out.secretRef) && !SIGNING.includes(chan))
    found.warnings.push(`${at}: secret is ignored for ${chan} (only dingtalk and feishu sign)`);
  const m = n.mentions;
  if (m && (m.userIds.length > 0 || m.mobiles.length > 0 || m.all)) {
    if (!MENTIONING.includes(chan))
      found.warnings.push(`${at}.mentions: ignored for ${chan} (wechat, dingtalk, feishu only)`);
    else {
      if (chan === "feishu" && m.mobiles.length > 0)
        found.warnings.push(
          `${at}.mentions.mobiles: Feishu robots @ by open_id/user_id only; use userIds`,
        );
      out.mentions = { userIds: m.userIds, mobiles: m.mobiles, all: m.all };
    }
  }
  return out;
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
      return {
        ...n,
        webhookUrl: u ? `${u.protocol}//${u.host}/***` : "***",
        ...(n.secret !== undefined ? { secret: "***" } : {}),
      };
    }),
  };
}

/** Settings of an empty file: storage unconfigured, everything else at its default. */
export function defaultSettings(): Settings {
  const r = parseSettings("");
  if (!r.ok) throw new Error(r.errors.join("; "));
  return r.settings;
}
