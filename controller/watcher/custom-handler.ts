// The operator's CustomHandler script: run with bash, the original CoreDog env vars, a timeout that
// kills the whole process group (the script's children too), output logged but bounded.
import { truncationText } from "../../src/truncation.js";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import type { Logger } from "../log.js";
import type { CoreReport } from "./types.js";

export interface CustomHandlerConfig {
  enabled: boolean;
  timeoutSeconds: number;
  skipDefaultNotify: boolean;
  script: string;
}

export interface CustomHandlerResult {
  ran: boolean;
  exitCode?: number;
  signal?: string;
  timedOut: boolean;
  durationMs: number;
  stdout: string;
  stderr: string;
  error?: string;
}

export interface CustomHandlerOptions {
  /** Aborting kills the handler's process group (used at shutdown). */
  signal?: AbortSignal;
  /** Per stream, default 16 KiB. */
  maxOutputBytes?: number;
  /** Between SIGTERM and SIGKILL to the group, default 2 s. */
  killGraceMs?: number;
}

/** The watcher's own credentials are not the script's business. */
const WITHHELD_ENV =
  /^(AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID|AWS_SESSION_TOKEN|COREDOG_.*SECRET.*)$/;

function str(v: unknown): string {
  return v === undefined || v === null ? "" : String(v);
}

/**
 * The env vars the script gets (the original CoreDog names, plus COREDUMP_SHA256, COREDUMP_SIGNAL, COREDUMP_TRUNCATED,
 * and from the crash report COREDUMP_FINGERPRINT, COREDUMP_FAULT, COREDUMP_SEEN_BEFORE).
 */
export function customHandlerEnv(report: CoreReport): Record<string, string> {
  const info = report.podInfo;
  const container = report.container ?? "";
  const image =
    report.image ??
    (container && info?.images[container]) ??
    (info && Object.keys(info.images).length === 1 ? Object.values(info.images)[0] : undefined);
  return {
    COREDUMP_FILE: report.path,
    COREDUMP_URL: str(report.url),
    COREDUMP_FILENAME: report.filename,
    COREDUMP_MD5: str(report.md5),
    COREDUMP_SHA256: str(report.sha256),
    COREDUMP_SIZE: str(report.size),
    COREDUMP_EXECUTABLE: str(report.core.executable),
    COREDUMP_SIGNAL: str(report.core.signalName ?? report.core.signal),
    COREDUMP_KEY: str(report.key),
    // empty for a whole core; `<n> of <expected> bytes: <reason>` for a truncated one
    COREDUMP_TRUNCATED: report.truncated ? truncationText(report.truncated) : "",
    // from the crash report: empty when there is none
    COREDUMP_FINGERPRINT: str(report.report?.fingerprint.id),
    COREDUMP_FAULT: str(report.report?.death.summary),
    COREDUMP_SEEN_BEFORE: str(report.seenBefore),
    POD_NAME: str(report.pod ?? info?.name),
    POD_NAMESPACE: str(report.namespace ?? info?.namespace),
    POD_UID: str(info?.uid),
    POD_NODE_IP: str(info?.hostIP ?? report.hostIP),
    POD_IMAGE: str(image),
    POD_CONTAINER: container,
    HOST_IP: str(report.hostIP ?? info?.hostIP),
    NODE_NAME: report.node,
  };
}

function collector(max: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  let dropped = 0;
  return {
    push(chunk: Buffer) {
      if (size >= max) {
        dropped += chunk.length;
        return;
      }
      const take = chunk.subarray(0, max - size);
      chunks.push(take);
      size += take.length;
      dropped += chunk.length - take.length;
    },
    text(): string {
      const t = Buffer.concat(chunks).toString("utf8");
      return dropped > 0 ? `${t}…(${dropped} more bytes)` : t;
    },
  };
}

function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // the group is gone
  }
}

/** Run the handler for one core. Never throws; the outcome is logged and returned. */
export async function runCustomHandler(
  cfg: CustomHandlerConfig,
  report: CoreReport,
  log: Logger,
  opts: CustomHandlerOptions = {},
): Promise<CustomHandlerResult> {
  const started = Date.now();
  const base = { ran: false, timedOut: false, stdout: "", stderr: "" };
  if (!cfg.enabled || !cfg.script.trim()) return { ...base, durationMs: 0 };
  const maxOut = opts.maxOutputBytes ?? 16 * 1024;
  const graceMs = opts.killGraceMs ?? 2000;
  const timeoutMs = Math.max(1, cfg.timeoutSeconds) * 1000;
  const fields = { file: report.path, pod: `${report.namespace ?? ""}/${report.pod ?? ""}` };
  let dir: string | undefined;
  try {
    dir = await mkdtemp(join(tmpdir(), "coredog-handler-"));
    const script = join(dir, "handler.sh");
    await writeFile(script, cfg.script, { mode: 0o700 });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !WITHHELD_ENV.test(k)) env[k] = v;
    }
    Object.assign(env, customHandlerEnv(report));

    const child = execa("bash", [script], {
      env,
      extendEnv: false,
      detached: true, // its own process group, so a timeout reaches the grandchildren
      stdin: "ignore",
      buffer: false,
      reject: false,
      cleanup: true,
      cwd: dir,
    });
    const out = collector(maxOut);
    const err = collector(maxOut);
    child.stdout?.on("data", (c: Buffer) => out.push(c));
    child.stderr?.on("data", (c: Buffer) => err.push(c));
    const pid = child.pid;

    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const terminate = () => {
      if (pid === undefined) return;
      killGroup(pid, "SIGTERM");
      killTimer = setTimeout(() => killGroup(pid, "SIGKILL"), graceMs);
      killTimer.unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      terminate();
    }, timeoutMs);
    const onAbort = () => terminate();
    opts.signal?.addEventListener("abort", onAbort, { once: true });

    const result = await child;
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
    if (timedOut || opts.signal?.aborted) {
      // the leader is gone; make sure nothing of the group survives it
      if (pid !== undefined) killGroup(pid, "SIGKILL");
    }
    if (killTimer) clearTimeout(killTimer);

    const res: CustomHandlerResult = {
      ran: true,
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut,
      durationMs: Date.now() - started,
      stdout: out.text(),
      stderr: err.text(),
    };
    const output = { stdout: res.stdout.trimEnd(), stderr: res.stderr.trimEnd() };
    if (timedOut) {
      res.error = `timed out after ${cfg.timeoutSeconds}s, process group killed`;
      log.warn({ ...fields, ...output }, `custom handler error: ${res.error}`);
    } else if (opts.signal?.aborted) {
      res.error = "stopped with the watcher, process group killed";
      log.warn({ ...fields, ...output }, `custom handler error: ${res.error}`);
    } else if (result.exitCode !== 0) {
      res.error = result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
      log.warn({ ...fields, ...output }, `custom handler error: ${res.error}`);
    } else {
      log.info(
        { ...fields, ...output, duration_ms: res.durationMs },
        "custom handler finished: exit code 0",
      );
    }
    return res;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    log.error({ ...fields }, `custom handler error: ${message}`);
    return { ...base, durationMs: Date.now() - started, error: message };
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
