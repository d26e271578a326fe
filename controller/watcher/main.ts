// `coredog-controller watcher`: finds the node's core dumps, stores and verifies them, deletes the local copy and
// reports (Events, notices, custom handler); health, readiness and metrics over HTTP.
import { mkdir, readFile, realpath, writeFile } from "node:fs/promises";
import type { KubeConfig } from "@kubernetes/client-node";
import { CORE_PATTERN, CORE_PATTERN_FILE, NAMESPACE } from "../../src/names.js";
import type { Settings } from "../../src/settings.js";
import { kubeConfigSource, loadKubeConfig } from "../kubeconfig.js";
import { createLogger, type Logger } from "../log.js";
import { WATCHER_USAGE, parseWatcherArgs, type WatcherOptions } from "./args.js";
import { Detector } from "./detect.js";
import { DiskGuard } from "./disk-guard.js";
import { ensureDirModes } from "./dir-modes.js";
import { Journal } from "./journal.js";
import { CoreLimits } from "./limits.js";
import { createMetrics } from "./metrics.js";
import { NodeStatePublisher } from "./node-state-publisher.js";
import { RefusalBook } from "../notify/refusals.js";
import { Pipeline, type PodLookup } from "./pipeline.js";
import { createRecordWriter } from "./records.js";
import { RecordKeeper } from "./record-keeper.js";
import { createStorageAdmin } from "./storage-admin.js";
import type { Backoff } from "../retry.js";
import { startHttp } from "./server.js";
import { createCfsStore, createLazyS3Store } from "./store.js";
import type { Store } from "./store-types.js";
import type { Reporter } from "./types.js";
import { errorText } from "../../src/error-text.js";
import { settingsFile, type SettingsEvent, type SettingsFile } from "../settings-file.js";

export interface WatcherDeps {
  log?: Logger;
  /** Replaces createReporter (tests). */
  reporter?: Reporter;
  /** null: run without the API even if a kubeconfig is around. */
  kc?: KubeConfig | null;
  backoff?: Backoff;
  emptyDirGraceMs?: number;
  stopTimeoutMs?: number;
  settingsPollMs?: number;
  publishIntervalMs?: number;
  /** How often the limits look at the rate windows and the node directory, default 1000 ms. */
  limitsIntervalMs?: number;
}

export interface RunningWatcher {
  address: string;
  pipeline: Pipeline;
  detector: Detector;
  settings: SettingsFile;
  /** Runs the periodic maintenance now: rescan, journal prune, disk guard, empty directories. */
  maintain(): Promise<void>;
  stop(): Promise<void>;
}

/** The API client, or undefined (run without the API) when nothing says where a cluster is. */
async function clusterConfig(o: WatcherOptions): Promise<KubeConfig | undefined> {
  const source = kubeConfigSource(o.kubeconfig);
  if (source.kind === "none") return undefined;
  const { KubeConfig } = await import("./k8s.js");
  return loadKubeConfig(KubeConfig, source);
}

async function configureCorePattern(log: Logger): Promise<void> {
  const before = (await readFile(CORE_PATTERN_FILE, "utf8").catch(() => "")).trim();
  try {
    await writeFile(CORE_PATTERN_FILE, CORE_PATTERN);
    log.info(`configured kernel.core_pattern: ${CORE_PATTERN} (was ${before || "unknown"})`);
  } catch (err) {
    log.error(`error: cannot set kernel.core_pattern to ${CORE_PATTERN}: ${errorText(err)}`);
  }
}

function storeFactory(): (s: Settings) => Store {
  let cachedKey = "";
  let cached: Store | undefined;
  return (s) => {
    const key = JSON.stringify(s.storage);
    if (cached && key === cachedKey) return cached;
    if (s.storage.protocol === "cfs") cached = createCfsStore(s.storage);
    else cached = createLazyS3Store(s.storage);
    cachedKey = key;
    return cached;
  };
}

/** The watcher's settings log lines; at start a bad file is not logged here, the watcher refuses to start. */
function logSettings(log: Logger, file: string | undefined): (e: SettingsEvent) => void {
  return (e) => {
    if (e.kind === "loaded") {
      for (const w of e.warnings) log.warn(`settings warning: ${w}`);
      if (!e.first) log.info(`settings reloaded from ${file}`);
    } else if (e.kind === "unreadable" && e.kept) {
      log.error(
        `settings error: cannot read ${file}: ${e.message}; keeping the last good settings`,
      );
    } else if (e.kind === "invalid" && e.kept) {
      log.error(
        `settings error in ${file}: ${e.errors.join("; ")}; keeping the last good settings`,
      );
    }
  };
}

export async function startWatcher(
  o: WatcherOptions,
  deps: WatcherDeps = {},
): Promise<RunningWatcher> {
  const log = deps.log ?? createLogger({ format: o.logFormat });
  const settings = settingsFile({
    file: o.config,
    report: logSettings(log, o.config),
    // Only called on reloads, which start once everything below exists.
    onChange: (s) => {
      pl.setConcurrency(s.watcher.maxParallelUploads);
      publisher.poke();
    },
    log,
    intervalMs: deps.settingsPollMs ?? 5000,
    debounceMs: 200,
  });
  const bad = await settings.load();
  const loaded = settings.current();
  if (!loaded) throw new Error(`settings error in ${o.config}: ${bad?.join("; ")}`);
  // A reload never takes good settings away.
  const current = (): Settings => settings.current() ?? loaded;
  if (!current().storage.configured) {
    log.warn("storage is not configured: cores are kept on the node and not uploaded");
  }
  if (o.configureCorePattern) await configureCorePattern(log);

  await mkdir(o.dir, { recursive: true });
  const realDir = await realpath(o.dir);
  const journal = new Journal(o.journal);
  for (const f of await journal.load()) log.error(`journal error: unreadable entry ${f} ignored`);
  // Before the first scan: from now on the kubelet creates every container's directory writable for any user.
  let dumpDir = await ensureDirModes(o.dir, o.journal, log);

  const kc = deps.kc === null ? undefined : (deps.kc ?? (await clusterConfig(o)));
  let pods: (PodLookup & { ready(): boolean; stop(): void }) | undefined;
  if (kc) {
    const { createPodResolver } = await import("./pod-resolver.js");
    pods = createPodResolver(kc, o.nodeName, log);
  } else {
    log.info(
      "no kubeconfig and not in a cluster: running without the Kubernetes API (no pod details, no Events)",
    );
  }
  // Told before the publisher exists; a refusal only pokes it once it does.
  let pokeState = (): void => {};
  const refusals = new RefusalBook(() => pokeState());
  let reporter = deps.reporter;
  if (!reporter) {
    const { createReporter } = await import("./reporter.js");
    reporter = createReporter({
      ...(kc ? { kc } : {}),
      nodeName: o.nodeName,
      log,
      settings: current,
      onNoticeOutcome: refusals.outcome,
    });
  }
  const metrics = createMetrics();
  const records = kc ? createRecordWriter(kc, log, metrics) : undefined;
  const keeper = kc
    ? new RecordKeeper({
        kc,
        log,
        settings: current,
        storage: (s) => createStorageAdmin(s.storage),
        identity: process.env.POD_NAME ?? o.nodeName,
        leaseNamespace: process.env.POD_NAMESPACE ?? NAMESPACE,
      })
    : undefined;
  const limits = new CoreLimits({
    dir: o.dir,
    journalDir: o.journal,
    nodeName: o.nodeName,
    journal,
    log,
    metrics,
    settings: current,
    reporter,
  });
  await limits.load();
  // Built in dependency order; the one cycle (the detector hands files to the pipeline, which may hand one back) is
  // closed with the pipeline's events once both exist.
  const pl = new Pipeline({
    dir: o.dir,
    realDir,
    nodeName: o.nodeName,
    ...(o.hostIP ? { hostIP: o.hostIP } : {}),
    journal,
    log,
    metrics,
    settings: current,
    store: storeFactory(),
    reporter,
    limits,
    ...(pods ? { pods } : {}),
    ...(records ? { records } : {}),
    ...(deps.backoff ? { backoff: deps.backoff } : {}),
  });
  const det = new Detector({
    dir: o.dir,
    journalDir: o.journal,
    quietMillis: () => current().watcher.quietMillis,
    log,
    onStable: (p, st, completion) => pl.handle(p, st, completion),
    isKnown: (p, st) => pl.isKnown(p, st),
    onError: (err) => log.error(`watch error: ${err.message}`),
  });
  pl.on("retrack", (p) => det.track(p));
  const rep = reporter;
  const guard = new DiskGuard({
    log,
    pipeline: pl,
    alert: (m) => rep.alert?.(m),
    ...(pods
      ? {
          podExists: async (ns: string, pod: string) =>
            pods.ready() ? (await pods.resolve(ns, pod)) !== undefined : undefined,
        }
      : {}),
    ...(deps.emptyDirGraceMs !== undefined ? { emptyDirGraceMs: deps.emptyDirGraceMs } : {}),
  });
  const publisher = new NodeStatePublisher({
    ...(kc ? { kc } : {}),
    ...(process.env.POD_NAME ? { podName: process.env.POD_NAME } : {}),
    ...(process.env.POD_NAMESPACE ? { podNamespace: process.env.POD_NAMESPACE } : {}),
    log,
    file: `${o.journal}/node-state.json`,
    ...(deps.publishIntervalMs ? { minIntervalMs: deps.publishIntervalMs } : {}),
    collect: () => ({
      node: o.nodeName,
      configuredPath: o.dir,
      filesWaiting: pl.filesWaiting + det.waiting,
      bytesWaiting: pl.bytesWaiting,
      ...(pl.activity.lastUpload ? { lastUpload: pl.activity.lastUpload } : {}),
      ...(pl.activity.lastError ? { lastError: pl.activity.lastError } : {}),
      ...(pl.activity.storageError ? { storageError: pl.activity.storageError } : {}),
      ...(settings.error ? { settingsError: settings.error } : {}),
      ...(refusals.list().length > 0 ? { noticeRefusals: refusals.list() } : {}),
      ...(dumpDir ? { dumpDir } : {}),
      limits: limits.snapshot(),
    }),
  });
  limits.on("change", () => publisher.poke());

  pokeState = () => publisher.poke();
  pl.on("change", () => publisher.poke());

  let ready = false;
  let maintaining: Promise<void> | undefined;
  const maintain = async () => {
    dumpDir = (await ensureDirModes(o.dir, o.journal, log)) ?? dumpDir;
    const scan = await det.scan();
    await pl.prune();
    const s = current();
    await guard.check(scan, s.watcher.diskLimitBytes, s.watcher.diskGuardDeleteUploaded);
    await guard.sweep(scan);
    publisher.poke();
  };
  const maintainOnce = () => {
    maintaining ??= maintain()
      .catch((err: Error) => log.error(`rescan error: ${err.message}`))
      .finally(() => (maintaining = undefined));
    return maintaining;
  };

  const http = await startHttp(o.listen.host, o.listen.port, {
    registry: metrics.registry,
    ready: () => (ready ? null : "initial scan not done"),
    healthy: () => {
      if (!det.running) return "the file watch is not running";
      const limit = (3 * current().watcher.rescanSeconds + 60) * 1000;
      if (ready && Date.now() - det.lastScan > limit) return "no rescan for too long";
      return null;
    },
  });
  log.info(`listening on ${http.address}`);

  await pl.resume();
  await det.start();
  settings.start();
  const first = await det.scan();
  ready = true;
  log.info(`watching ${o.dir}: initial scan found ${first.files} files (${first.bytes} bytes)`);
  publisher.start();
  keeper?.start();
  limits.start(deps.limitsIntervalMs);

  let rescanTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  const schedule = () => {
    // a pass that was running when stop() came must not schedule the next one (it would keep the process alive)
    if (stopping) return;
    rescanTimer = setTimeout(() => {
      void maintainOnce().finally(schedule);
    }, current().watcher.rescanSeconds * 1000);
  };
  schedule();

  let stopped: Promise<void> | undefined;
  return {
    address: http.address,
    pipeline: pl,
    detector: det,
    settings,
    maintain: maintainOnce,
    stop() {
      stopped ??= (async () => {
        log.info("stopping: no new files are taken; waiting for uploads in flight");
        stopping = true;
        clearTimeout(rescanTimer);
        await det.stop();
        settings.stop();
        const finished = await pl.stop(deps.stopTimeoutMs ?? 25_000);
        if (!finished)
          log.warn("stopping: uploads still in flight were cut off; they resume at the next start");
        await maintaining;
        await records?.flush();
        await keeper?.stop();
        await limits.stop();
        await rep.stop();
        await publisher.stop();
        pods?.stop();
        await new Promise<void>((r) => http.server.close(() => r()));
        http.server.closeAllConnections();
        log.info("stopped");
      })();
      return stopped;
    },
  };
}

export async function runWatcher(argv: string[]): Promise<number> {
  const parsed = parseWatcherArgs(argv);
  if (!parsed.ok) {
    if (parsed.help) {
      process.stdout.write(WATCHER_USAGE);
      return 0;
    }
    process.stderr.write(`coredog-controller watcher: ${parsed.error}\n\n${WATCHER_USAGE}`);
    return 2;
  }
  const log = createLogger({ format: parsed.options.logFormat });
  let w: RunningWatcher;
  try {
    w = await startWatcher(parsed.options, { log });
  } catch (err) {
    log.error(`error: the watcher cannot start: ${errorText(err)}`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      log.info(`received ${sig}`);
      resolve();
    };
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    process.once("SIGINT", () => onSignal("SIGINT"));
  });
  await w.stop();
  return 0;
}
