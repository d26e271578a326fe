import { describe, expect, it } from "vitest";
import {
  DEFAULT_CONFIG_YAML,
  defaultSettings,
  parseByteSize,
  parseSettings,
  redactSettings,
  type Settings,
} from "../../../src/settings.js";

function ok(yaml: string, env: Record<string, string | undefined> = {}) {
  const r = parseSettings(yaml, env);
  if (!r.ok) throw new Error(`expected valid settings, got: ${r.errors.join("; ")}`);
  return r;
}

function errors(yaml: string, env: Record<string, string | undefined> = {}): string[] {
  const r = parseSettings(yaml, env);
  if (r.ok) throw new Error("expected errors, got valid settings");
  return r.errors;
}

const BUCKET = "StorageConfig:\n  S3Bucket: crashes\n";

/** DESIGN.md's example, verbatim. */
const DESIGN_EXAMPLE = `StorageConfig:
  protocol: s3                 # s3 | cos | oss (S3-compatible) | cfs (copy to a mounted path)
  S3Endpoint: https://s3.example.com
  s3Region: us-east-1
  S3Bucket: crashes
  s3AccesskeyID: ""            # better: Secret coredog-storage -> AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
  s3SecretAccessKey: ""
  StoreDir: corefiles
  PresignedURLExpireSeconds: 3600
DeleteLocalCorefile: true
gc_type: rm                    # rm | truncate
NoticeChannel:
  - chan: wechat               # wechat | slack | dingtalk | feishu | webhook
    webhookurl: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc
    keyword: production        # only notify when the core's path/namespace/pod contains it
messageTemplate: |
  [{pod.namespace}/{pod.name}] core: {corefile.filename}
CustomHandler:
  enabled: false
  timeout: 300
  skipDefaultNotify: false
  script: |
    #!/bin/bash
    echo "$POD_NAMESPACE/$POD_NAME $COREDUMP_URL"
`;

describe("Retention", () => {
  it("reads maxAge as a duration and maxPerFingerprint as a count, keys in any case", () => {
    const r = ok("retention:\n  MaxAge: 30d\n  max_per_fingerprint: 20\n");
    expect(r.settings.retention).toEqual({ maxAgeMs: 30 * 86_400_000, maxPerFingerprint: 20 });
  });

  it("names the key, the value and the line of a bad value", () => {
    const r = parseSettings("Retention:\n  maxAge: soon\n  maxPerFingerprint: 0\n");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.join("\n")).toMatch(/Retention\.maxAge: "soon" is not a duration.*line 2/);
    expect(r.errors.join("\n")).toMatch(
      /Retention\.maxPerFingerprint: 0 must be a whole number from 1/,
    );
  });
});

describe("parseSettings: valid files", () => {
  it("an empty file is valid: defaults, storage unconfigured (and it says so)", () => {
    const r = ok("");
    const want: Settings = {
      storage: {
        configured: false,
        protocol: "s3",
        region: "us-east-1",
        storeDir: "corefiles",
        presignedUrlExpireSeconds: 3600,
        addressingStyle: "virtual",
        forcePathStyle: false,
        requestChecksumCalculation: "WHEN_SUPPORTED",
        responseChecksumValidation: "WHEN_SUPPORTED",
        compression: "none",
      },
      deleteLocalCorefile: true,
      gcType: "rm",
      noticeChannels: [],
      customHandler: { enabled: false, timeoutSeconds: 300, skipDefaultNotify: false, script: "" },
      watcher: {
        quietMillis: 2000,
        rescanSeconds: 60,
        maxParallelUploads: 2,
        diskGuardDeleteUploaded: false,
        groupWindowSeconds: 300,
      },
      webhook: { alertOnError: true },
      retention: {},
      limits: {
        perFingerprint: { max: 5, windowMs: 3_600_000 },
        maxUseBytes: 10 * 1024 ** 3,
        keepFree: { percent: 15 },
        maxCoreSizeBytes: 20 * 1024 ** 3,
      },
    };
    expect(r.settings).toEqual(want);
    expect(r.warnings).toEqual([
      "StorageConfig: not configured; cores are kept on the node and not uploaded",
    ]);
    expect(ok("# only a comment\n").settings).toEqual(want);
    expect(ok("StorageConfig:\n").settings).toEqual(want);
    expect(defaultSettings()).toEqual(want);
  });

  it("DEFAULT_CONFIG_YAML parses without warnings and uses the guide's spellings", () => {
    const r = ok(DEFAULT_CONFIG_YAML);
    expect(r.warnings).toEqual([]);
    expect(r.settings.storage).toMatchObject({
      configured: true,
      bucket: "coredog",
      protocol: "s3",
    });
    expect(r.settings.deleteLocalCorefile).toBe(true);
    expect(r.settings.customHandler.script).toContain("COREDUMP_URL");
    expect(DEFAULT_CONFIG_YAML).toMatch(/^DeleteLocalCorefile: true/m);
    expect(DEFAULT_CONFIG_YAML).toMatch(/^NoticeChannel:/m);
  });

  it("DESIGN.md's example parses to the expected settings", () => {
    const r = ok(DESIGN_EXAMPLE);
    expect(r.warnings).toEqual([]);
    expect(r.settings).toMatchObject({
      storage: {
        configured: true,
        protocol: "s3",
        endpoint: "https://s3.example.com",
        region: "us-east-1",
        bucket: "crashes",
        storeDir: "corefiles",
        presignedUrlExpireSeconds: 3600,
        addressingStyle: "path",
        forcePathStyle: true,
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
        compression: "none",
      },
      deleteLocalCorefile: true,
      gcType: "rm",
      noticeChannels: [
        {
          chan: "wechat",
          webhookUrl: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
          keyword: "production",
        },
      ],
      messageTemplate: "[{pod.namespace}/{pod.name}] core: {corefile.filename}\n",
      customHandler: { enabled: false, timeoutSeconds: 300, skipDefaultNotify: false },
    });
    expect(r.settings.storage.accessKeyId).toBeUndefined();
  });

  it.each([
    "DeleteLocalCorefile: false",
    "deleteLocalCorefile: false",
    "deletelocalcorefile: false",
    "DELETELOCALCOREFILE: false",
    "delete_local_corefile: false",
    "DeleteLocalCorefile: 'false'",
    'DeleteLocalCorefile: "no"',
    "DeleteLocalCorefile: off",
    "DeleteLocalCorefile: 0",
  ])("matches keys and booleans without regard to case: %s", (line) => {
    const r = ok(`${BUCKET}${line}\n`);
    expect(r.settings.deleteLocalCorefile).toBe(false);
    expect(r.warnings).toEqual([]);
  });

  it("matches nested keys without regard to case at every level", () => {
    const r = ok(
      [
        "storageconfig:",
        "  PROTOCOL: OSS",
        "  s3endpoint: https://oss-cn-hangzhou.aliyuncs.com",
        "  S3REGION: cn-hangzhou",
        "  s3bucket: b",
        "  S3ACCESSKEYID: id",
        "  s3secretaccesskey: secret",
        "  storedir: /cores/prod/",
        "  presignedurlexpireseconds: '600'",
        "  Compression: ZSTD",
        "GC_TYPE: Truncate",
        "noticechannel:",
        "  - CHAN: Slack",
        "    WebHookUrl: https://hooks.slack.com/services/T/B/x",
        "  - chan: wecom",
        "    webhookURL: https://qyapi.weixin.qq.com/x",
        "customhandler:",
        "  ENABLED: 'true'",
        "  Timeout: 30",
        "  script: echo hi",
        "watcher:",
        "  QuietSeconds: 0.5",
        "  diskLimit: 10Gi",
        "  DiskGuardDeleteUploaded: yes",
        "  MaxParallelUploads: 4",
        "  groupwindowseconds: 0",
        "webhook:",
        "  AlertOnError: false",
      ].join("\n"),
    );
    expect(r.warnings).toEqual([]);
    expect(r.settings).toMatchObject({
      storage: {
        protocol: "oss",
        endpoint: "https://oss-cn-hangzhou.aliyuncs.com",
        region: "cn-hangzhou",
        bucket: "b",
        accessKeyId: "id",
        secretAccessKey: "secret",
        storeDir: "cores/prod",
        presignedUrlExpireSeconds: 600,
        addressingStyle: "virtual",
        forcePathStyle: false,
        requestChecksumCalculation: "WHEN_REQUIRED",
        compression: "zstd",
      },
      gcType: "truncate",
      noticeChannels: [
        { chan: "slack", webhookUrl: "https://hooks.slack.com/services/T/B/x" },
        { chan: "wechat", webhookUrl: "https://qyapi.weixin.qq.com/x" },
      ],
      customHandler: { enabled: true, timeoutSeconds: 30, script: "echo hi" },
      watcher: {
        quietMillis: 500,
        diskLimitBytes: 10 * 1024 ** 3,
        diskGuardDeleteUploaded: true,
        maxParallelUploads: 4,
        groupWindowSeconds: 0,
      },
      webhook: { alertOnError: false },
    });
  });

  it("reads the original watcher's keys: StorageConfig.deleteLocalCorefile and gc", () => {
    expect(ok(`${BUCKET}  deleteLocalCorefile: false\n`).settings.deleteLocalCorefile).toBe(false);
    expect(ok(`${BUCKET}gc: false\n`).settings.deleteLocalCorefile).toBe(false);
    const both = ok(`${BUCKET}  deleteLocalCorefile: false\nDeleteLocalCorefile: true\n`);
    expect(both.settings.deleteLocalCorefile).toBe(true);
    expect(both.warnings).toContain(
      "StorageConfig.deleteLocalCorefile is ignored: DeleteLocalCorefile is set",
    );
    const old = ok(`${BUCKET}  enabled: true\nScrapePaths: ["/core/dump"]\n`);
    expect(old.warnings).toContain("ScrapePaths is ignored: the watcher watches its --dir");
  });

  it("StorageConfig.enabled: false leaves storage unconfigured whatever else is set", () => {
    const r = ok("StorageConfig:\n  enabled: false\n  StoreDir: x\n");
    expect(r.settings.storage.configured).toBe(false);
    expect(r.warnings).toContain(
      "StorageConfig.enabled is false; cores are kept on the node and not uploaded",
    );
  });

  it("cfs needs only cfsPath", () => {
    const r = ok("StorageConfig:\n  protocol: cfs\n  cfsPath: /mnt/cfs/\n");
    expect(r.settings.storage).toMatchObject({
      protocol: "cfs",
      cfsPath: "/mnt/cfs",
      configured: true,
    });
  });

  it("forcePathStyle defaults to true for s3 with an endpoint and can be set", () => {
    expect(ok(BUCKET).settings.storage.forcePathStyle).toBe(false);
    expect(
      ok(`${BUCKET}  S3Endpoint: http://127.0.0.1:9000\n`).settings.storage.forcePathStyle,
    ).toBe(true);
    expect(
      ok(`${BUCKET}  S3Endpoint: http://127.0.0.1:9000\n  forcePathStyle: false\n`).settings.storage
        .forcePathStyle,
    ).toBe(false);
  });

  it("addressing: virtual-hosted for AWS, COS and OSS, path style for MinIO, R2 and s3 with an endpoint; addressingStyle overrides", () => {
    const style = (yaml: string, env: Record<string, string> = {}) =>
      ok(`StorageConfig:\n  S3Bucket: b\n${yaml}`, env).settings.storage.addressingStyle;
    expect(style("")).toBe("virtual");
    expect(style("  S3Endpoint: https://s3.eu-west-1.amazonaws.com\n")).toBe("virtual");
    expect(style("  S3Endpoint: http://127.0.0.1:9000\n")).toBe("path");
    expect(style("", { AWS_ENDPOINT_URL_S3: "http://minio:9000" })).toBe("path");
    expect(style("  protocol: cos\n  S3Endpoint: https://cos.ap-shanghai.myqcloud.com\n")).toBe(
      "virtual",
    );
    expect(style("  protocol: oss\n  S3Endpoint: https://oss-cn-hangzhou.aliyuncs.com\n")).toBe(
      "virtual",
    );
    expect(style("  protocol: MinIO\n  S3Endpoint: http://minio:9000\n")).toBe("path");
    expect(style("  protocol: r2\n  S3Endpoint: https://acc.r2.cloudflarestorage.com\n")).toBe(
      "path",
    );
    expect(
      style(
        "  protocol: minio\n  S3Endpoint: http://minio.local:9000\n  addressing_style: Virtual-Hosted\n",
      ),
    ).toBe("virtual");
    expect(
      style("  protocol: cos\n  S3Endpoint: https://c.example\n  ADDRESSINGSTYLE: path\n"),
    ).toBe("path");
    // The original key still works, and agrees with the new one.
    const legacy = ok(`${BUCKET}  S3Endpoint: http://127.0.0.1:9000\n  forcePathStyle: false\n`);
    expect(legacy.settings.storage).toMatchObject({
      addressingStyle: "virtual",
      forcePathStyle: false,
    });
    expect(
      ok(`${BUCKET}  addressingStyle: path\n  forcePathStyle: true\n`).settings.storage
        .addressingStyle,
    ).toBe("path");
  });

  it("path style on OSS is a warning (OSS refuses it)", () => {
    const r = ok(
      "StorageConfig:\n  protocol: oss\n  S3Endpoint: https://oss-cn-hangzhou.aliyuncs.com\n  S3Bucket: b\n  addressingStyle: path\n",
    );
    expect(r.warnings.join("\n")).toMatch(/addressingStyle: OSS refuses path-style requests/);
  });

  it("R2's region defaults to auto; an explicit one or AWS_REGION wins", () => {
    const r2 =
      "StorageConfig:\n  protocol: r2\n  S3Endpoint: https://a.r2.cloudflarestorage.com\n  S3Bucket: b\n";
    expect(ok(r2).settings.storage.region).toBe("auto");
    expect(ok(r2, { AWS_REGION: "weur" }).settings.storage.region).toBe("weur");
    expect(ok(`${r2}  s3Region: enam\n`).settings.storage.region).toBe("enam");
  });

  it("flexible checksums: AWS's recommendation on AWS, WHEN_REQUIRED on every other store, either way by setting", () => {
    const sums = (yaml: string) => {
      const s = ok(`StorageConfig:\n  S3Bucket: b\n${yaml}`).settings.storage;
      return [s.requestChecksumCalculation, s.responseChecksumValidation];
    };
    const aws = ["WHEN_SUPPORTED", "WHEN_SUPPORTED"];
    const off = ["WHEN_REQUIRED", "WHEN_REQUIRED"];
    expect(sums("")).toEqual(aws);
    expect(sums("  S3Endpoint: https://s3.dualstack.eu-west-1.amazonaws.com\n")).toEqual(aws);
    expect(sums("  S3Endpoint: https://s3.cn-north-1.amazonaws.com.cn\n")).toEqual(aws);
    expect(sums("  S3Endpoint: http://127.0.0.1:9000\n")).toEqual(off);
    expect(sums("  S3Endpoint: https://s3.us-west-004.backblazeb2.com\n")).toEqual(off);
    expect(sums("  S3Endpoint: https://amazonaws.com.evil.example\n")).toEqual(off);
    for (const p of ["cos", "oss", "minio", "r2"]) {
      expect(sums(`  protocol: ${p}\n  S3Endpoint: https://x.example\n`)).toEqual(off);
    }
    expect(
      sums(
        "  S3Endpoint: http://127.0.0.1:9000\n  requestChecksumCalculation: when_supported\n  response_checksum_validation: WHEN_SUPPORTED\n",
      ),
    ).toEqual(aws);
    expect(sums("  requestChecksumCalculation: WHEN_REQUIRED\n")).toEqual([
      "WHEN_REQUIRED",
      "WHEN_SUPPORTED",
    ]);
  });

  it("an endpoint without a scheme gets https:// and a warning (the original accepted host names)", () => {
    const r = ok(
      "StorageConfig:\n  protocol: cos\n  S3Endpoint: cos.ap-shanghai.myqcloud.com\n  S3Bucket: b\n",
    );
    expect(r.settings.storage.endpoint).toBe("https://cos.ap-shanghai.myqcloud.com");
    expect(r.warnings[0]).toMatch(/S3Endpoint: "cos.ap-shanghai.myqcloud.com" has no scheme/);
  });

  it("keeps a messageTemplate and warns about unknown placeholders", () => {
    const r = ok(`messageTemplate: "{pod.name} {pod.nmae} {corefile.url}"\n`);
    expect(r.settings.messageTemplate).toBe("{pod.name} {pod.nmae} {corefile.url}");
    expect(r.warnings).toContain(
      "messageTemplate: unknown placeholder {pod.nmae} is left as written",
    );
    expect(ok('messageTemplate: ""\n').settings.messageTemplate).toBeUndefined();
  });

  it("NoticeChannel: cloudevents (also spelt cloudevent) takes the receiver's URL", () => {
    const r = ok(
      "NoticeChannel:\n  - chan: cloudevents\n    webhookurl: https://broker.example/default\n  - chan: CloudEvent\n    webhookurl: http://127.0.0.1:8080/\n",
    );
    expect(r.settings.noticeChannels.map((c) => [c.chan, c.webhookUrl])).toEqual([
      ["cloudevents", "https://broker.example/default"],
      ["cloudevents", "http://127.0.0.1:8080/"],
    ]);
  });

  it("NoticeChannel: nothing or an empty list means no channels", () => {
    expect(ok("NoticeChannel:\n").settings.noticeChannels).toEqual([]);
    expect(ok("NoticeChannel: []\n").settings.noticeChannels).toEqual([]);
  });
});

describe("parseSettings: credentials from the environment", () => {
  const env = { AWS_ACCESS_KEY_ID: "AKIAENV", AWS_SECRET_ACCESS_KEY: "envsecret" };

  it("fill empty file values", () => {
    const r = ok(DESIGN_EXAMPLE, env);
    expect(r.settings.storage).toMatchObject({
      accessKeyId: "AKIAENV",
      secretAccessKey: "envsecret",
    });
    expect(r.warnings).toEqual([]);
  });

  it("win over values in the file, with a warning", () => {
    const r = ok(`${BUCKET}  s3AccesskeyID: fileid\n  s3SecretAccessKey: filesecret\n`, env);
    expect(r.settings.storage).toMatchObject({
      accessKeyId: "AKIAENV",
      secretAccessKey: "envsecret",
    });
    expect(r.warnings).toEqual([
      "StorageConfig.s3AccesskeyID is overridden by AWS_ACCESS_KEY_ID (Secret coredog-storage)",
      "StorageConfig.s3SecretAccessKey is overridden by AWS_SECRET_ACCESS_KEY (Secret coredog-storage)",
    ]);
  });

  it("empty environment values do not override the file", () => {
    const r = ok(`${BUCKET}  s3AccesskeyID: fileid\n  s3SecretAccessKey: s\n`, {
      AWS_ACCESS_KEY_ID: "",
      AWS_SECRET_ACCESS_KEY: undefined,
    });
    expect(r.settings.storage).toMatchObject({ accessKeyId: "fileid", secretAccessKey: "s" });
  });

  it("AWS_REGION and AWS_ENDPOINT_URL_S3 fill absent values only", () => {
    const e = { AWS_REGION: "eu-west-1", AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9000" };
    expect(ok(BUCKET, e).settings.storage).toMatchObject({
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:9000",
    });
    expect(
      ok(`${BUCKET}  s3Region: ap-nanjing\n  S3Endpoint: https://x.example\n`, e).settings.storage,
    ).toMatchObject({ region: "ap-nanjing", endpoint: "https://x.example" });
  });
});

describe("parseSettings: errors name the key, the value and the rule", () => {
  it.each([
    ["StorageConfig:\n  protocol: s3\n", "StorageConfig.S3Bucket: required when protocol is s3"],
    ["StorageConfig:\n  StoreDir: x\n", "StorageConfig.S3Bucket: required when protocol is s3"],
    [
      "StorageConfig:\n  protocol: cos\n  S3Bucket: b\n",
      "StorageConfig.S3Endpoint: required when protocol is cos",
    ],
    ["StorageConfig:\n  protocol: cfs\n", "StorageConfig.cfsPath: required when protocol is cfs"],
    [
      "StorageConfig:\n  protocol: ftp\n",
      'StorageConfig.protocol: "ftp" is not one of s3, cos, oss, minio, r2, cfs',
    ],
    [
      `${BUCKET}  compression: lz4\n`,
      'StorageConfig.compression: "lz4" is not one of none, zstd, gzip',
    ],
    [
      `${BUCKET}  S3Endpoint: "ftp://x"\n`,
      'StorageConfig.S3Endpoint: "ftp://x" is not a valid http(s) URL',
    ],
    [
      `${BUCKET}  PresignedURLExpireSeconds: 0\n`,
      "StorageConfig.PresignedURLExpireSeconds: 0 must be a whole number from 1 to 604800",
    ],
    [
      `${BUCKET}  PresignedURLExpireSeconds: 1h\n`,
      'StorageConfig.PresignedURLExpireSeconds: "1h" must be a whole number from 1 to 604800',
    ],
    [
      `${BUCKET}  StoreDir: a/../../b\n`,
      'StorageConfig.StoreDir: "a/../../b" is not a valid key prefix (no "..", ".", backslashes or control characters)',
    ],
    [
      "StorageConfig:\n  protocol: cfs\n  cfsPath: mnt/cfs\n",
      'StorageConfig.cfsPath: "mnt/cfs" must be an absolute path without ".."',
    ],
    [
      `${BUCKET}  forcePathStyle: maybe\n`,
      'StorageConfig.forcePathStyle: "maybe" is not a boolean (true or false)',
    ],
    [
      "StorageConfig:\n  protocol: minio\n  S3Bucket: b\n",
      "StorageConfig.S3Endpoint: required when protocol is minio",
    ],
    [
      "StorageConfig:\n  protocol: r2\n  S3Bucket: b\n",
      "StorageConfig.S3Endpoint: required when protocol is r2",
    ],
    [
      `${BUCKET}  addressingStyle: sideways\n`,
      'StorageConfig.addressingStyle: "sideways" is not one of path, virtual',
    ],
    [
      `${BUCKET}  AddressingStyle: path\n  forcePathStyle: false\n`,
      "StorageConfig.forcePathStyle: false contradicts addressingStyle path; remove one of them",
    ],
    [
      `${BUCKET}  requestChecksumCalculation: always\n`,
      'StorageConfig.requestChecksumCalculation: "always" is not one of when_required, when_supported',
    ],
    [
      `${BUCKET}  RESPONSECHECKSUMVALIDATION: [x]\n`,
      "StorageConfig.responseChecksumValidation: a list is not one of when_required, when_supported",
    ],
    [
      `${BUCKET}  s3AccesskeyID: id\n`,
      "StorageConfig.s3SecretAccessKey: required when s3AccesskeyID is set",
    ],
    ["DeleteLocalCorefile: sure\n", 'DeleteLocalCorefile: "sure" is not a boolean (true or false)'],
    ["gc_type: shred\n", 'gc_type: "shred" is not one of rm, truncate'],
    [
      "NoticeChannel:\n  - chan: slack\n    webhookurl: https://h/x\n  - chan: teams\n    webhookurl: https://h/y\n",
      'NoticeChannel[1].chan: "teams" is not one of wechat, slack, dingtalk, feishu, webhook, cloudevents',
    ],
    [
      "NoticeChannel:\n  - chan: slack\n    webhookurl: hooks.slack.com/services/x\n",
      "NoticeChannel[0].webhookurl: not a valid http(s) URL",
    ],
    [
      "NoticeChannel:\n  - chan: slack\n    webhookurl: ftp://hooks.slack.com/x\n",
      "NoticeChannel[0].webhookurl: not a valid http(s) URL (scheme ftp:)",
    ],
    ["NoticeChannel:\n  - chan: slack\n", "NoticeChannel[0].webhookurl: required"],
    ["NoticeChannel:\n  - webhookurl: https://h/x\n", "NoticeChannel[0].chan: required"],
    ["NoticeChannel:\n  - slack\n", "NoticeChannel[0]: must be a mapping, got a string"],
    ["NoticeChannel:\n  chan: slack\n", "NoticeChannel: must be a list, got a mapping"],
    ["StorageConfig: s3\n", "StorageConfig: must be a mapping, got a string"],
    [
      "CustomHandler:\n  timeout: -5\n",
      "CustomHandler.timeout: -5 must be a whole number from 1 to 86400",
    ],
    ["CustomHandler:\n  enabled: true\n", "CustomHandler.script: required when enabled is true"],
    ["messageTemplate: [a]\n", "messageTemplate: must be a string, got a list"],
    [
      "Watcher:\n  diskLimit: lots\n",
      'Watcher.diskLimit: "lots" is not a size (bytes, or a number with Ki, Mi, Gi, Ti, K, M, G, T)',
    ],
    ["Watcher:\n  quietSeconds: 0\n", "Watcher.quietSeconds: 0 must be a number from 0.05 to 3600"],
    [
      "Watcher:\n  maxParallelUploads: 1000\n",
      "Watcher.maxParallelUploads: 1000 must be a whole number from 1 to 64",
    ],
    ["Webhook:\n  alertOnError: 2\n", "Webhook.alertOnError: 2 is not a boolean (true or false)"],
    [
      "DeleteLocalCorefile: true\ndeleteLocalCorefile: false\n",
      "DeleteLocalCorefile: given twice (as DeleteLocalCorefile and deleteLocalCorefile)",
    ],
    ["- a\n- b\n", "config.yaml: must be a mapping of settings, got a list"],
    ["just text\n", "config.yaml: must be a mapping of settings, got a string"],
  ])("%j", (yaml, message) => {
    expect(errors(yaml).map((e) => e.replace(/ \(line \d+, column \d+\)$/, ""))).toContain(message);
  });

  it("say where in the file: the key's line and column, or the nearest key above a missing one", () => {
    expect(
      errors("gc_type: x\nstorageconfig:\n  PROTOCOL: y\nWatcher:\n  rescanSeconds: 0\n"),
    ).toEqual([
      'StorageConfig.protocol: "y" is not one of s3, cos, oss, minio, r2, cfs (line 3, column 3)',
      'gc_type: "x" is not one of rm, truncate (line 1, column 1)',
      "Watcher.rescanSeconds: 0 must be a whole number from 1 to 86400 (line 5, column 3)",
    ]);
    expect(
      errors(
        "NoticeChannel:\n  - chan: slack\n    webhookurl: https://h/x\n  - chan: teams\n    webhookurl: https://h/y\n",
      ),
    ).toEqual([
      'NoticeChannel[1].chan: "teams" is not one of wechat, slack, dingtalk, feishu, webhook, cloudevents (line 4, column 5)',
    ]);
    // Missing keys point at what contains them.
    expect(errors("# storage\nStorageConfig:\n  protocol: s3\n")).toEqual([
      "StorageConfig.S3Bucket: required when protocol is s3 (line 2, column 1)",
    ]);
    expect(errors("NoticeChannel:\n  - chan: slack\n")).toEqual([
      "NoticeChannel[0].webhookurl: required (line 2, column 5)",
    ]);
    // Not about a key of the file: no position.
    expect(errors("- a\n")).toEqual(["config.yaml: must be a mapping of settings, got a list"]);
  });

  it("reports every error at once", () => {
    const e = errors("gc_type: x\nStorageConfig:\n  protocol: y\nWatcher:\n  rescanSeconds: 0\n");
    expect(e).toHaveLength(3);
  });

  it("never echoes a webhook URL (it carries a token)", () => {
    const e = errors(
      "NoticeChannel:\n  - chan: slack\n    webhookurl: hooks.slack.com/services/SECRETTOKEN\n",
    );
    expect(e.join("\n")).not.toContain("SECRETTOKEN");
  });

  it("YAML syntax errors say where", () => {
    expect(errors("StorageConfig:\n  S3Bucket: [a\nx: 1\n")[0]).toMatch(
      /^config\.yaml: YAML syntax error at line \d+, column \d+: /,
    );
    expect(errors("a: 1\na: 2\n")[0]).toMatch(
      /^config\.yaml: YAML syntax error at line 2, column 1: .*unique/i,
    );
    expect(errors("\tStorageConfig: {}\n")[0]).toMatch(/YAML syntax error at line 1/);
  });

  it("refuses alias bombs", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
    ].join("\n");
    expect(errors(bomb)[0]).toMatch(/^config\.yaml: .*alias/i);
  });
});

describe("parseSettings: unknown keys are warnings", () => {
  it("with a suggestion when close to a known key", () => {
    const r = ok(`${BUCKET}  S3Bukcet: x\nDeleteLocalCorefil: true\nNoticeChanel: []\nfoo: 1\n`);
    expect(r.warnings).toEqual([
      "unknown key StorageConfig.S3Bukcet (did you mean S3Bucket?)",
      "unknown key DeleteLocalCorefil (did you mean DeleteLocalCorefile?)",
      "unknown key NoticeChanel (did you mean NoticeChannel?)",
      "unknown key foo",
    ]);
  });

  it("inside list items and sections", () => {
    const r = ok(
      "NoticeChannel:\n  - chan: slack\n    webhookurl: https://h/x\n    keywords: prod\nWatcher:\n  quietSecond: 3\n",
    );
    expect(r.warnings).toContain("unknown key NoticeChannel[0].keywords (did you mean keyword?)");
    expect(r.warnings).toContain("unknown key Watcher.quietSecond (did you mean quietSeconds?)");
  });
});

describe("parseByteSize", () => {
  it.each([
    [1048576, 1048576],
    ["1048576", 1048576],
    ["10Gi", 10 * 1024 ** 3],
    ["500Mi", 500 * 1024 ** 2],
    ["1.5Gi", 1.5 * 1024 ** 3],
    ["2G", 2e9],
    ["2GB", 2e9],
    ["2GiB", 2 * 1024 ** 3],
    ["100k", 1e5],
    ["1Ti", 1024 ** 4],
    [" 3 Mi ", 3 * 1024 ** 2],
  ])("%j is %d bytes", (v, n) => {
    expect(parseByteSize(v)).toBe(n);
  });

  it.each(["", "lots", "-1", "1Xi", "Gi", "1e3", "1 2"])("%j is not a size", (v) => {
    expect(parseByteSize(v)).toBeUndefined();
  });
  it("negative numbers are not sizes", () => {
    expect(parseByteSize(-1)).toBeUndefined();
    expect(parseByteSize(Number.NaN)).toBeUndefined();
  });
});

describe("redactSettings", () => {
  it("hides credentials and webhook tokens", () => {
    const r = ok(
      `${BUCKET}  s3AccesskeyID: AKIA\n  s3SecretAccessKey: SECRET\nNoticeChannel:\n  - chan: slack\n    webhookurl: https://hooks.slack.com/services/T/B/TOKEN\n`,
    );
    const red = redactSettings(r.settings);
    const text = JSON.stringify(red);
    expect(text).not.toContain("AKIA");
    expect(text).not.toContain("SECRET");
    expect(text).not.toContain("TOKEN");
    expect(red.noticeChannels[0]?.webhookUrl).toBe("https://hooks.slack.com/***");
    expect(red.storage.bucket).toBe("crashes");
  });
});

describe("parseSettings: robot secrets and mentions", () => {
  const channel = (body: string) =>
    `NoticeChannel:\n  - chan: dingtalk\n    webhookurl: https://oapi.dingtalk.com/robot/send?access_token=abc\n${body}`;

  it("secretRef names a key of Secret coredog-notify (name may be left out); mentions take lists or commas", () => {
    const r = ok(
      channel(
        '    secretRef: {key: ding-ops}\n    At:\n      atMobiles: ["13800001111"]\n      userIds: a, b\n      isAtAll: yes\n',
      ),
    );
    expect(r.settings.noticeChannels[0]).toMatchObject({
      secretRef: { name: "coredog-notify", key: "ding-ops" },
      mentions: { mobiles: ["13800001111"], userIds: ["a", "b"], all: true },
    });
    expect(r.warnings.filter((w) => w.startsWith("NoticeChannel"))).toEqual([]);
  });

  it("an inline secret is kept and hidden by redactSettings", () => {
    const r = ok(channel("    secret: SECabc\n"));
    expect(r.settings.noticeChannels[0]!.secret).toBe("SECabc");
    expect(JSON.stringify(redactSettings(r.settings))).not.toContain("SECabc");
  });

  it("refuses another Secret's name, a missing key, and secret together with secretRef, with their lines", () => {
    expect(errors(channel("    secretRef: {name: other, key: k}\n"))[0]).toMatch(
      /^NoticeChannel\[0\]\.secretRef\.name: "other" is not mounted; put the key in Secret coredog-notify.*\(line 4, column \d+\)$/,
    );
    expect(errors(channel("    secretRef: {name: coredog-notify}\n"))[0]).toMatch(
      /NoticeChannel\[0\]\.secretRef\.key: required/,
    );
    expect(errors(channel("    secret: s\n    secretRef: {key: k}\n"))[0]).toMatch(
      /NoticeChannel\[0\]: give secret or secretRef, not both/,
    );
  });

  it("warns where a secret or mentions do nothing", () => {
    const r = ok(
      "NoticeChannel:\n  - chan: slack\n    webhookurl: https://hooks.slack.com/services/T/B/x\n    secret: s\n    mentions: {all: true}\n",
    );
    expect(r.warnings.filter((w) => w.startsWith("NoticeChannel"))).toEqual([
      "NoticeChannel[0]: secret is ignored for slack (only dingtalk and feishu sign)",
      "NoticeChannel[0].mentions: ignored for slack (wechat, dingtalk, feishu only)",
    ]);
  });
});

describe("parseSettings: Limits", () => {
  it("reads every key in any case, sizes, percentages and durations", () => {
    const r = ok(
      "limits:\n  PerFingerprint: { MAX: 2, window: 90s }\n  max_use: 512Mi\n  keepfree: 2Gi\n  maxCoreSize: 1G\n",
    );
    expect(r.settings.limits).toEqual({
      perFingerprint: { max: 2, windowMs: 90_000 },
      maxUseBytes: 512 * 1024 ** 2,
      keepFree: { bytes: 2 * 1024 ** 3 },
      maxCoreSizeBytes: 1e9,
    });
    expect(ok("Limits:\n  keepFree: 7.5%\n").settings.limits.keepFree).toEqual({ percent: 7.5 });
  });

  it("off (or 0) turns a node limit off; the rate limit keeps its defaults", () => {
    const r = ok("Limits:\n  maxUse: off\n  keepFree: 0\n  maxCoreSize: none\n");
    expect(r.settings.limits).toEqual({ perFingerprint: { max: 5, windowMs: 3_600_000 } });
  });

  it("names the key, the value and the line of a bad limit", () => {
    const bad = (yaml: string) => {
      const r = parseSettings(yaml);
      expect(r.ok).toBe(false);
      return r.ok ? [] : r.errors;
    };
    expect(bad("Limits:\n  perFingerprint:\n    max: 0\n")).toEqual([
      "Limits.perFingerprint.max: 0 must be a whole number from 1 to 1000000 (line 3, column 5)",
    ]);
    expect(bad("Limits:\n  perFingerprint: { window: soon }\n")[0]).toMatch(
      /^Limits\.perFingerprint\.window: "soon" is not a duration .*\(line 2/,
    );
    expect(bad("Limits:\n  perFingerprint: { window: 500ms }\n")[0]).toMatch(
      /^Limits\.perFingerprint\.window: "500ms" must be from 1s to 30d/,
    );
    expect(bad("Limits:\n  maxUse: lots\n")[0]).toMatch(/^Limits\.maxUse: "lots" is not a size/);
    expect(bad("Limits:\n  keepFree: 100%\n")[0]).toMatch(
      /^Limits\.keepFree: "100%": a percentage must be above 0% and below 100% \(line 2/,
    );
    expect(bad("Limits: 5\n")[0]).toMatch(/^Limits: must be a mapping, got a number/);
  });

  it("warns about an unknown key under Limits", () => {
    expect(ok("Limits:\n  maxUses: 1Gi\n").warnings).toContain(
      "unknown key Limits.maxUses (did you mean maxUse?)",
    );
  });
});
