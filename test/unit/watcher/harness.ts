// Runs the real watcher program (controller/watcher/cli.ts through tsx) as a child process, with a node directory,
// a settings file and a journal in a temp dir, and follows its log.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { StorageSettings } from "../../../controller/watcher/store-types.js";

export const REPO = resolve(import.meta.dirname, "../../..");
export const CLI = join(REPO, "controller/watcher/cli.ts");

export interface S3Like {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** Parsed storage settings for an S3 store: path-style, bucket "cores", cores under `corefiles/`. */
export function s3Storage(s3: S3Like, over: Partial<StorageSettings> = {}): StorageSettings {
  return {
    configured: true,
    protocol: "s3",
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: "cores",
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    storeDir: "corefiles",
    presignedUrlExpireSeconds: 120,
    addressingStyle: "path",
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    compression: "none",
    ...over,
  };
}

/** The same for a strict, OSS-like store (virtual-hosted only; no flexible checksums), bucket "oss". */
export function strictS3Storage(
  strict: S3Like & { vhostEndpoint: string },
  over: Partial<StorageSettings> = {},
): StorageSettings {
  return s3Storage(strict, {
    protocol: "oss",
    endpoint: strict.vhostEndpoint,
    bucket: "oss",
    addressingStyle: "virtual",
    forcePathStyle: false,
    ...over,
  });
}

/** The `StorageConfig` block for an S3 store (the rig's, or any other), cores under `corefiles/`. */
export function s3StorageYaml(s3: S3Like, bucket: string): string {
  return `StorageConfig:
  protocol: s3
  S3Endpoint: ${s3.endpoint}
  s3Region: ${s3.region}
  S3Bucket: ${bucket}
  s3AccesskeyID: ${s3.accessKeyId}
  s3SecretAccessKey: ${s3.secretAccessKey}
  StoreDir: corefiles
`;
}

export function settingsYaml(
  s3: S3Like | undefined,
  bucket: string,
  extra: Record<string, string> = {},
): string {
  const storage = s3
    ? `${s3StorageYaml(s3, bucket)}  PresignedURLExpireSeconds: 600
  compression: ${extra.compression ?? "none"}
`
    : "";
  return `${storage}DeleteLocalCorefile: ${extra.delete ?? "true"}
gc_type: ${extra.gcType ?? "rm"}
${extra.notice ?? ""}
Watcher:
  quietSeconds: ${extra.quiet ?? "0.3"}
  rescanSeconds: ${extra.rescan ?? "2"}
  maxParallelUploads: ${extra.parallel ?? "4"}
${extra.watcher ?? ""}`;
}

export interface WatcherProc {
  proc: ChildProcess;
  lines: string[];
  dir: string;
  journal: string;
  config: string;
  address: () => string;
  waitFor(re: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  count(re: RegExp): number;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface Layout {
  root: string;
  dir: string;
  journal: string;
  config: string;
}

export function makeLayout(prefix = "cdw-"): Layout {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const dir = join(root, "dumps");
  mkdirSync(dir);
  return { root, dir, journal: join(root, "journal"), config: join(root, "config.yaml") };
}

/**
 * The watcher bundled with esbuild (packages left external, so the file lives inside the repo where they resolve):
 * starts faster than through tsx and carries no loader, like the built program.
 */
export async function bundleWatcher(): Promise<string> {
  const { build } = await import("esbuild");
  const outfile = join(
    REPO,
    "node_modules/.cache/coredog-test",
    `watcher-${process.pid}-${Date.now()}.mjs`,
  );
  await build({
    entryPoints: [CLI],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    packages: "external",
    outfile,
    logLevel: "error",
  });
  return outfile;
}

export function startWatcherProc(
  layout: Layout,
  yaml: string | undefined,
  opts: {
    args?: string[];
    env?: Record<string, string>;
    echo?: boolean;
    bundle?: string;
    nodeArgs?: string[];
  } = {},
): WatcherProc {
  if (yaml !== undefined) writeFileSync(layout.config, yaml);
  const args = [
    ...(opts.nodeArgs ?? []),
    ...(opts.bundle ? [opts.bundle] : ["--import", "tsx", CLI]),
    "--dir",
    layout.dir,
    "--node-name",
    "node-1",
    "--config",
    layout.config,
    "--listen",
    "127.0.0.1:0",
    "--journal",
    layout.journal,
    ...(opts.args ?? []),
  ];
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.KUBERNETES_SERVICE_HOST;
  delete env.KUBECONFIG;
  delete env.POD_NAME;
  Object.assign(env, opts.env);
  const proc = spawn(process.execPath, args, { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let buf = "";
  const onData = (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      if (opts.echo) console.log(line);
    }
    for (const w of waiters) w();
  };
  proc.stdout!.on("data", onData);
  proc.stderr!.on("data", onData);
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  const w: WatcherProc = {
    proc,
    lines,
    dir: layout.dir,
    journal: layout.journal,
    config: layout.config,
    address: () => {
      for (const l of lines) {
        const m = /listening on (\S+?)"?$/.exec(l);
        if (m) return m[1]!;
      }
      throw new Error("the watcher has not said where it listens");
    },
    count: (re) => lines.filter((l) => re.test(l)).length,
    waitFor(re, timeoutMs = 20_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.slice(from).find((l) => re.test(l));
          if (hit !== undefined) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(hit);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${re}; log:\n${lines.slice(-30).join("\n")}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
        void exited.then(() => {
          if (!check()) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(
              new Error(
                `the watcher exited while waiting for ${re}; log:\n${lines.slice(-30).join("\n")}`,
              ),
            );
          }
        });
      });
    },
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
  return w;
}
