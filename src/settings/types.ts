// The shapes the settings take once parsed, and the values their keys accept.

export type StorageProtocol = "s3" | "cos" | "oss" | "minio" | "r2" | "cfs";
export type AddressingStyle = "path" | "virtual";
/** The AWS SDK's `requestChecksumCalculation` / `responseChecksumValidation` values. */
export type ChecksumPolicy = "WHEN_REQUIRED" | "WHEN_SUPPORTED";
export type Compression = "none" | "zstd" | "gzip";
export type ChannelKind = "wechat" | "slack" | "dingtalk" | "feishu" | "webhook" | "cloudevents";

/** Who a message @-mentions (WeCom, DingTalk, Feishu). */
export interface Mentions {
  /** WeCom userids, DingTalk userIds, Feishu open_id/user_id. */
  userIds: string[];
  /** Phone numbers (WeCom, DingTalk). */
  mobiles: string[];
  /** @all / isAtAll. */
  all: boolean;
}

/** A robot's signing secret kept in a Secret: a key of Secret coredog-notify, mounted as a file. */
export interface SecretRef {
  name: string;
  key: string;
}

export interface NoticeChannelSettings {
  chan: ChannelKind;
  webhookUrl: string;
  keyword?: string;
  /** DingTalk "加签" / Feishu signature secret, written in the file (prefer secretRef). */
  secret?: string;
  secretRef?: SecretRef;
  mentions?: Mentions;
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
    /** `path`: https://host/bucket/key; `virtual`: https://bucket.host/key. */
    addressingStyle: AddressingStyle;
    /** addressingStyle === "path" (the AWS SDK's option). */
    forcePathStyle: boolean;
    /** Flexible checksums on requests (CRC32 headers, aws-chunked bodies); WHEN_REQUIRED off AWS. */
    requestChecksumCalculation: ChecksumPolicy;
    /** Response checksum validation, and `x-amz-checksum-mode` in presigned links; WHEN_REQUIRED off AWS. */
    responseChecksumValidation: ChecksumPolicy;
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
  /** CoreDump records and their stored objects: deleted past either limit (unset: kept). */
  retention: { maxAgeMs?: number; maxPerFingerprint?: number };
  limits: LimitSettings;
}

/** Limits (systemd-coredump's MaxUse/KeepFree, plus a rate per crash); see src/core-limits.ts. */
export interface LimitSettings {
  /** At most `max` cores stored per crash (fingerprint, else workload + executable + signal) per window. */
  perFingerprint: { max: number; windowMs: number };
  /** Bytes under the node directory; undefined: no limit. */
  maxUseBytes?: number;
  /** Free space to leave on the node directory's filesystem; undefined: no limit. */
  keepFree?: { bytes: number } | { percent: number };
  /** Larger cores are reported, not uploaded; undefined: no limit. */
  maxCoreSizeBytes?: number;
}

export type ParseSettingsResult =
  { ok: true; settings: Settings; warnings: string[] } | { ok: false; errors: string[] };

export const PROTOCOLS = ["s3", "cos", "oss", "minio", "r2", "cfs"] as const;
export const ADDRESSING_STYLES = ["path", "virtual"] as const;
export const COMPRESSIONS = ["none", "zstd", "gzip"] as const;
export const CHANNELS = [
  "wechat",
  "slack",
  "dingtalk",
  "feishu",
  "webhook",
  "cloudevents",
] as const;
export const GC_TYPES = ["rm", "truncate"] as const;
