// Core reports and a log that tests can read.
import { createLogger, type Logger } from "../../../controller/log.js";
import type { CoreReport, PodInfo } from "../../../controller/watcher/types.js";
import type { CrashReport, ReportFrame } from "../../../src/crash-report.js";

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

const API_BUILD_ID = "a7bec8907e1df386e4d2c55b42ff1f7c1c3d2ce7";
const LIBC_BUILD_ID = "93ac61ec5a8eb1396f9fbd350e3169a558528a40";

/** A crash report as the watcher reads it from a NULL write in /usr/bin/api (src/crash-report.ts's shape). */
export function crashReportFixture(over: { fingerprint?: string } = {}): CrashReport {
  const id = over.fingerprint ?? "1a2b3c4d5e6f".padEnd(64, "0");
  const frame = (
    module: string,
    buildId: string,
    base: bigint,
    offset: number,
    how: ReportFrame["how"],
  ): ReportFrame => ({
    pc: `0x${(base + BigInt(offset)).toString(16)}`,
    module,
    buildId,
    offset: `0x${offset.toString(16)}`,
    how,
  });
  const api = 0x55d0c0000000n;
  const libc = 0x7f6c97170000n;
  return {
    schemaVersion: 1,
    complete: true,
    problems: [],
    machine: "x86_64",
    process: { pid: 123, executable: "/usr/bin/api", uid: 1000, gid: 1000, threads: 3 },
    death: {
      summary: "SIGSEGV: address not mapped (SEGV_MAPERR) at 0x0 (NULL pointer)",
      signal: 11,
      signalName: "SIGSEGV",
      code: 1,
      codeName: "SEGV_MAPERR",
      codeText: "address not mapped",
      faultAddress: "0x0",
      nullPointer: true,
      probableStackOverflow: false,
    },
    crashingThread: {
      tid: 123,
      registers: { rip: "0x55d0c0001139", rsp: "0x7ffc70d7fa40" },
      backtrace: [
        frame("/usr/bin/api", API_BUILD_ID, api, 0x1139, "pc"),
        frame("/usr/bin/api", API_BUILD_ID, api, 0x1160, "frame pointer"),
        frame("/usr/lib/x86_64-linux-gnu/libc.so.6", LIBC_BUILD_ID, libc, 0x2724a, "frame pointer"),
        frame("/usr/lib/x86_64-linux-gnu/libc.so.6", LIBC_BUILD_ID, libc, 0x27305, "frame pointer"),
      ],
      stop: { code: "end-of-chain", reason: "the frame pointer is 0: the outermost frame" },
    },
    otherThreads: [{ tid: 124 }, { tid: 125 }],
    modules: [
      {
        path: "/usr/bin/api",
        base: "0x55d0c0000000",
        end: "0x55d0c0005000",
        buildId: API_BUILD_ID,
        executable: true,
      },
      {
        path: "/usr/lib/x86_64-linux-gnu/libc.so.6",
        base: "0x7f6c97170000",
        end: "0x7f6c97345000",
        buildId: LIBC_BUILD_ID,
      },
    ],
    fingerprint: {
      id,
      short: id.slice(0, 12),
      basis: ["v1", `exe ${API_BUILD_ID}`, "signal SIGSEGV", `frame ${API_BUILD_ID}+0x1139`],
    },
    bytesRead: 31472,
  };
}
