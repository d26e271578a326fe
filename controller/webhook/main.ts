// `coredog-controller webhook`: the mutating admission webhook of MutatingWebhookConfiguration
// `coredog`. Wires flags, logger, certificates, settings, namespace cache, alerts and the server.
import { KubeConfig } from "@kubernetes/client-node";
import { kubeConfigSource, loadKubeConfig } from "../kubeconfig.js";
import { createLogger, type Logger } from "../log.js";
import { sendNotice } from "../notify/send.js";
import type { NoticeChannel } from "../notify/payloads.js";
import { parseWebhookArgs, WEBHOOK_USAGE, type WebhookArgs } from "./args.js";
import { loadCertPair, watchCertificates } from "./certs.js";
import { createLineLog } from "./lines.js";
import { createThreadLogSink } from "./log-sink.js";
import { createMetrics } from "./metrics.js";
import { createNamespaceCache, type NamespaceCache } from "./namespaces.js";
import { createWebhookServer } from "./server.js";
import { createAlerter, type SendFn } from "./alerts.js";
import { errorText } from "../../src/error-text.js";
import { settingsFile, type SettingsEvent } from "../settings-file.js";

export interface WebhookDeps {
  /** Where log lines go (default: stdout, batched per event-loop turn). */
  write?: (line: string) => void;
  /** Instead of --kubeconfig / in-cluster / $KUBECONFIG. */
  kubeConfig?: KubeConfig;
  /** Instead of the API-backed namespace cache (tests of the HTTP layer). */
  namespaces?: NamespaceCache;
  send?: SendFn;
  alertIntervalMs?: number;
  /** How often certificate and settings files are re-read besides file events (default 10 s). */
  recheckMs?: number;
}

export interface RunningWebhook {
  port: number;
  address: string;
  log: Logger;
  /** Graceful: stop accepting, finish in-flight, close keep-alive connections. */
  stop(graceMs?: number): Promise<void>;
  checkFiles(): Promise<void>;
  alertsIdle(): Promise<void>;
  flushLogs(): Promise<void>;
}

/** The webhook's settings log lines. */
function logSettings(log: Logger, file: string): (e: SettingsEvent) => void {
  return (e) => {
    if (e.kind === "loaded") {
      // Warnings are about other parts (storage is the watcher's); not the webhook's business.
      for (const w of e.warnings) log.debug({ file }, `settings ${file}: ${w}`);
      log.info(
        {
          file,
          noticeChannels: e.settings.noticeChannels.length,
          alertOnError: e.settings.webhook.alertOnError,
        },
        e.first ? "loaded settings" : "reloaded settings",
      );
      return;
    }
    const then = e.kept
      ? "keeping the last good settings"
      : "running without alert channels until it is fixed";
    if (e.kind === "unreadable") {
      log.error(
        { file, error: e.message },
        `error reading settings ${file}: ${e.message}; ${then}`,
      );
    } else {
      log.error(
        { file, errors: e.errors },
        `error in settings ${file}: ${e.errors.join("; ")}; ${then}`,
      );
    }
  };
}

export async function startWebhook(
  args: WebhookArgs,
  deps: WebhookDeps = {},
): Promise<RunningWebhook> {
  // The program: lines are formatted here (the per-request ones without pino's JSON round trip,
  // see lines.ts) and a writer thread writes them. Tests (deps.write): delivered in order.
  const sink = deps.write ? undefined : createThreadLogSink();
  const write = deps.write ?? sink!.write;
  const log = createLogger({ format: args.logFormat, level: args.logLevel, write });
  const lines = createLineLog(log, args.logFormat, write);
  const flush = async () => sink?.flush();
  const closeLog = async () => sink?.close();
  const cleanups: (() => unknown)[] = [];
  try {
    const pair = await loadCertPair(args.tlsCert, args.tlsKey).catch((err: Error) => {
      throw new Error(`cannot load the TLS certificate: ${err.message}`, { cause: err });
    });
    log.info(
      { subject: pair.subject, notAfter: pair.notAfter, fingerprint: pair.fingerprint },
      "loaded TLS certificate",
    );

    const settings = settingsFile({
      file: args.config,
      report: logSettings(log, args.config),
      log,
      intervalMs: deps.recheckMs,
    });
    cleanups.push(() => settings.stop());
    // Without good settings the webhook still serves; it only has no alert channels until the file is fixed.
    await settings.load();
    settings.start();

    let namespaces = deps.namespaces;
    if (!namespaces) {
      const kc = deps.kubeConfig ?? loadKubeConfig(KubeConfig, kubeConfigSource(args.kubeconfig));
      log.info(
        { server: kc.getCurrentCluster()?.server },
        "watching namespaces for Pod Security labels",
      );
      namespaces = createNamespaceCache(kc, log);
    }
    const ns = namespaces;
    cleanups.push(() => ns.stop());

    const metrics = createMetrics();
    const alerter = createAlerter({
      channels: () => (settings.current()?.noticeChannels ?? []) as NoticeChannel[],
      enabled: () => settings.current()?.webhook.alertOnError ?? false,
      send: deps.send ?? sendNotice,
      log,
      minIntervalMs: deps.alertIntervalMs,
    });

    const web = createWebhookServer(pair, {
      log,
      lines,
      metrics,
      namespaces: ns,
      notReady: () => (ns.synced() ? [] : ["namespace cache not synced"]),
      onInternalError: (err, pod) =>
        alerter.alert(
          `${err.message}${pod ? ` (pod ${pod})` : ""}; the pod was admitted without the core dump directory`,
        ),
    });
    const certs = watchCertificates({
      certFile: args.tlsCert,
      keyFile: args.tlsKey,
      current: pair,
      log,
      intervalMs: deps.recheckMs,
      onChange: (p) => {
        try {
          web.setCertificate(p);
          metrics.certReload(true);
        } catch (err) {
          metrics.certReload(false);
          throw err;
        }
      },
    });
    cleanups.push(() => certs.stop());

    const { address, port } = await web.listen(args.port, args.host);
    log.info(
      { address: `${address.includes(":") ? `[${address}]` : address}:${port}` },
      "webhook listening",
    );
    await flush();
    let stopping: Promise<void> | undefined;
    return {
      port,
      address,
      log,
      checkFiles: async () => {
        await Promise.all([certs.check(), settings.check()]);
      },
      alertsIdle: () => alerter.idle(),
      flushLogs: flush,
      stop(graceMs) {
        stopping ??= (async () => {
          log.info("shutting down: finishing requests in flight");
          await web.close(graceMs);
          for (const c of cleanups.reverse()) await c();
          await Promise.race([alerter.idle(), new Promise((r) => setTimeout(r, 2_000).unref())]);
          log.info("webhook stopped");
          await closeLog();
        })();
        return stopping;
      },
    };
  } catch (err) {
    for (const c of cleanups.reverse()) await c();
    log.error({ error: errorText(err) }, `webhook cannot start: ${errorText(err)}`);
    await closeLog();
    throw err;
  }
}

export async function runWebhook(argv: string[]): Promise<number> {
  let args: WebhookArgs;
  try {
    const parsed = parseWebhookArgs(argv);
    if ("help" in parsed) {
      process.stdout.write(WEBHOOK_USAGE);
      return 0;
    }
    args = parsed;
  } catch (err) {
    process.stderr.write(`coredog-controller webhook: ${errorText(err)}\n\n${WEBHOOK_USAGE}`);
    return 2;
  }
  // Signals are taken from the start: one that arrives while the webhook is still starting (its listening line
  // already out) stops it once it has started, instead of killing it mid-start.
  const signals: NodeJS.Signals[] = [];
  let onSignal: (() => void) | undefined;
  const record = (sig: NodeJS.Signals) => {
    signals.push(sig);
    onSignal?.();
  };
  process.on("SIGTERM", record);
  process.on("SIGINT", record);
  const unhook = () => {
    process.off("SIGTERM", record);
    process.off("SIGINT", record);
  };
  let hook: RunningWebhook;
  try {
    hook = await startWebhook(args);
  } catch {
    unhook();
    return 1;
  }
  // Last resorts: a stray rejection is logged and survived; an uncaught exception leaves the
  // process in an unknown state, so it is logged and the process exits for the Deployment to restart.
  process.on("unhandledRejection", (reason) => {
    hook.log.error(
      { error: String((reason as Error)?.stack ?? reason) },
      "internal error: unhandled rejection",
    );
  });
  process.once("uncaughtException", (err) => {
    hook.log.fatal({ error: err.stack ?? err.message }, `internal error, exiting: ${err.message}`);
    void hook.flushLogs().finally(() => process.exit(1));
  });
  return new Promise<number>((resolve) => {
    let handled = 0;
    onSignal = () => {
      while (handled < signals.length) {
        const sig = signals[handled++]!;
        if (handled > 1) {
          hook.log.warn({ signal: sig }, "second signal: exiting now");
          void hook.flushLogs().finally(() => process.exit(1));
          return;
        }
        hook.log.info({ signal: sig }, "received signal");
        hook.stop().then(
          () => {
            unhook();
            resolve(0);
          },
          () => resolve(1),
        );
      }
    };
    onSignal();
  });
}
