// What each S3-compatible store wants: whether it needs an endpoint, how it is addressed, its default region.
import type { AddressingStyle, StorageProtocol } from "./types.js";

/**
 * Per store: whether an endpoint is required, the addressing it wants, and its default region. `s3` means AWS
 * without an endpoint (virtual-hosted) and any S3-compatible store with one (path style, like MinIO and Ceph).
 */
export const STORE_DEFAULTS: Record<
  Exclude<StorageProtocol, "cfs">,
  {
    endpointRequired: boolean;
    addressing: (endpoint: string | undefined) => AddressingStyle;
    region?: string;
  }
> = {
  s3: {
    endpointRequired: false,
    addressing: (e) => (e === undefined || isAwsEndpoint(e) ? "virtual" : "path"),
  },
  cos: { endpointRequired: true, addressing: () => "virtual" },
  oss: { endpointRequired: true, addressing: () => "virtual" },
  minio: { endpointRequired: true, addressing: () => "path" },
  r2: { endpointRequired: true, addressing: () => "path", region: "auto" },
};

/** AWS's own S3 endpoints (commercial, China, dual-stack, FIPS): where the SDK's checksum defaults apply. */
export function isAwsEndpoint(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname.toLowerCase();
    return /(^|\.)amazonaws\.com(\.cn)?$/.test(host) || /(^|\.)api\.aws$/.test(host);
  } catch {
    return false;
  }
}
