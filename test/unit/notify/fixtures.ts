// Core reports and a log that tests can read.
import { createLogger, type Logger } from "../../../controller/log.js";
import type { CoreReport, PodInfo } from "../../../controller/watcher/types.js";

export function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ write: (l) => lines.push(l), level: "debug" }), lines };
}

export function podInfo(over: Partial<PodInfo> = {}): PodInfo {
  return {
    namespace: "shop",
    name: "api-7d9f-abcde",
    uid: "5f0c-uid",
    node: "node-1",
    hostIP: "10.0.0.5",
    podIP: "127.0.1.7",
    containers: ["app"],
    images: { app: "registry.example/api:1.2" },
    owner: { kind: "Deployment", name: "api" },
    ...over,
  };
}

export function coreReport(over: Partial<CoreReport> = {}): CoreReport {
  const filename = over.filename ?? "core.api.123.node-1.1700000000";
  return {
    path: `/corefile/shop/api-7d9f-abcde/${filename}`,
    filename,
    node: "node-1",
    hostIP: "10.0.0.5",
    namespace: "shop",
    pod: "api-7d9f-abcde",
    podInfo: podInfo(),
    container: "app",
    image: "registry.example/api:1.2",
    size: 123456,
    sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    md5: "d41d8cd98f00b204e9800998ecf8427e",
    core: { signal: 11, signalName: "SIGSEGV", executable: "/usr/bin/api", threads: 3 },
    bucket: "crashes",
    key: "corefiles/shop/api-7d9f-abcde/20261127T063500Z-core.api.123",
    url: "http://127.0.0.1:9/crashes/corefiles/x?X-Amz-Signature=abc",
    capturedAt: new Date("2026-11-27T06:35:00Z"),
    uploadedAt: new Date("2026-11-27T06:35:02Z"),
    ...over,
  };
}
