// Resolution of what the file alone does not decide: the storage settings from the store's defaults, the
// environment (Secret coredog-storage, AWS_REGION, AWS_ENDPOINT_URL) and the file; and the original CoreDog's
// other spellings of the deletion switch.
import { bool, httpUrl, show, type schema } from "./rules.js";
import type { Canon } from "./keys.js";
import { isAwsEndpoint, STORE_DEFAULTS } from "./stores.js";
import type { AddressingStyle, ChecksumPolicy, Settings } from "./types.js";
import type { z } from "zod";

type Parsed = z.output<typeof schema>;
type Env = Record<string, string | undefined>;
interface Findings {
  errors: string[];
  warnings: string[];
}

/** DeleteLocalCorefile, else the original watcher's StorageConfig.deleteLocalCorefile, else gc. */
export function resolveDeletion(c: Parsed, { errors, warnings }: Findings): boolean {
  const st = c.StorageConfig;
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
  return deleteLocalCorefile;
}

/** The storage settings; `storageRaw` is StorageConfig as written (what was given, not defaulted). */
export function resolveStorage(
  st: Parsed["StorageConfig"],
  storageRaw: Canon | undefined,
  env: Env,
  { errors, warnings }: Findings,
): Settings["storage"] {
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
  const protocol = st.protocol ?? "s3";
  if (configured) {
    if (st.protocol !== "cfs" && st.S3Bucket === undefined) {
      errors.push(`StorageConfig.S3Bucket: required when protocol is ${st.protocol}`);
    }
    if (protocol !== "cfs" && STORE_DEFAULTS[protocol].endpointRequired && endpoint === undefined) {
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
  const store = STORE_DEFAULTS[protocol === "cfs" ? "s3" : protocol];
  const given = (v: unknown) => v !== undefined && v !== null && v !== "";
  let addressingStyle: AddressingStyle = given(storageRaw?.addressingStyle)
    ? (st.addressingStyle ?? "virtual")
    : store.addressing(endpoint);
  if (given(st.forcePathStyle)) {
    const r = bool(false).safeParse(st.forcePathStyle);
    if (!r.success) {
      errors.push(`StorageConfig.forcePathStyle: ${r.error.issues[0]?.message ?? "invalid"}`);
    } else if (!given(storageRaw?.addressingStyle)) {
      addressingStyle = r.data ? "path" : "virtual";
    } else if (r.data !== (addressingStyle === "path")) {
      errors.push(
        `StorageConfig.forcePathStyle: ${r.data} contradicts addressingStyle ${addressingStyle}; remove one of them`,
      );
    }
  }
  if (configured && st.protocol === "oss" && addressingStyle === "path") {
    warnings.push(
      "StorageConfig.addressingStyle: OSS refuses path-style requests (SecondLevelDomainForbidden); use virtual",
    );
  }
  // The AWS SDK's flexible checksums are what AWS recommends; elsewhere they are refused often enough that
  // CoreDog leaves them off (it checks size and sha256 itself).
  const onAws = st.protocol === "s3" && (endpoint === undefined || isAwsEndpoint(endpoint));
  const checksum = (
    key: "requestChecksumCalculation" | "responseChecksumValidation",
  ): ChecksumPolicy =>
    given(storageRaw?.[key])
      ? ((st[key] ?? "when_required").toUpperCase() as ChecksumPolicy)
      : onAws
        ? "WHEN_SUPPORTED"
        : "WHEN_REQUIRED";
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

  return {
    configured,
    protocol: st.protocol ?? "s3",
    region:
      st.s3Region ??
      (env.AWS_REGION?.trim() || undefined) ??
      (env.AWS_DEFAULT_REGION?.trim() || undefined) ??
      store.region ??
      "us-east-1",
    storeDir: st.StoreDir,
    presignedUrlExpireSeconds: st.PresignedURLExpireSeconds ?? 3600,
    addressingStyle,
    forcePathStyle: addressingStyle === "path",
    requestChecksumCalculation: checksum("requestChecksumCalculation"),
    responseChecksumValidation: checksum("responseChecksumValidation"),
    compression: st.compression ?? "none",
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(st.S3Bucket !== undefined ? { bucket: st.S3Bucket } : {}),
    ...(accessKeyId !== undefined ? { accessKeyId } : {}),
    ...(secretAccessKey !== undefined ? { secretAccessKey } : {}),
    ...(st.cfsPath !== undefined ? { cfsPath: st.cfsPath } : {}),
  };
}
