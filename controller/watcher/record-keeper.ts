// The keeper of CoreDump records: one watcher at a time (the holder of the coordination.k8s.io Lease
// "coredog-records") answers CoreDumpPull requests with short-lived download links and enforces Retention,
// deleting records past it together with their objects in storage. Nothing else deletes from the bucket.
import type { CoordinationV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import {
  COREDUMP_GROUP,
  COREDUMP_PLURAL,
  COREDUMP_PULL_PLURAL,
  COREDUMP_VERSION,
  namespaceKeyPrefix,
  reportKeyOf,
  type CoreDump,
} from "../../src/coredump.js";
import { errorText } from "../../src/error-text.js";
import { expiredRecords, maxAgeText } from "../../src/retention.js";
import type { Settings } from "../../src/settings.js";
import type { Logger } from "../log.js";
import type { StorageAdmin } from "./storage-admin.js";

export const LEASE_NAME = "coredog-records";
/** How long a download link lives: long enough for a large core, short enough not to be worth sharing. */
export const PULL_URL_SECONDS = 600;
/** Old fingerprint markers are looked for hourly: listing them all is the costly part, and an hour late is harmless. */
const MARKER_PRUNE_MS = 3_600_000;

export interface RecordKeeperOptions {
  kc: KubeConfig;
  log: Logger;
  settings: () => Settings;
  storage: (s: Settings) => StorageAdmin;
  identity: string;
  leaseNamespace: string;
  leaseSeconds?: number;
  /** How often pulls are looked at (ms); retention runs every Watcher.rescanSeconds. */
  pullIntervalMs?: number;
  now?: () => number;
}

interface Pull {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    creationTimestamp?: string;
    resourceVersion?: string;
  };
  /** object: the core (default) or its sidecar document (`crashes show`). */
  spec?: { coreDump?: string; object?: "core" | "report" };
  status?: { url?: string; expiresAt?: string; error?: string };
}

const seconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

export class RecordKeeper {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** undefined until the first round: its outcome is logged either way. */
  private leader: boolean | undefined;
  private lastRetention = 0;
  private lastMarkerPrune = 0;
  private running: Promise<void> | undefined;
  private apis:
    | Promise<{
        custom: CustomObjectsApi;
        coordination: CoordinationV1Api;
      }>
    | undefined;

  constructor(private readonly o: RecordKeeperOptions) {}

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  private api() {
    this.apis ??= import("./k8s.js").then((m) => ({
      custom: this.o.kc.makeApiClient(m.CustomObjectsApi),
      coordination: this.o.kc.makeApiClient(m.CoordinationV1Api),
    }));
    return this.apis;
  }

  start(): void {
    let lastError = "";
    const tick = () => {
      if (this.stopped) return;
      this.running = this.once()
        .then(() => {
          lastError = "";
        })
        .catch((err: unknown) => {
          // Said once until it changes: a cluster without the definitions would repeat it every second.
          const text = errorText(err);
          if (text !== lastError) this.o.log.warn(`records keeper: ${text}; trying again`);
          lastError = text;
        })
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.o.pullIntervalMs ?? 1000);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One round: hold the Lease, then (as its holder) answer pulls and, when due, apply retention. */
  async once(): Promise<void> {
    const was = this.leader;
    this.leader = await this.holdLease();
    if (this.leader !== was)
      this.o.log.info(
        this.leader
          ? `records keeper: holding Lease ${this.o.leaseNamespace}/${LEASE_NAME} as ${this.o.identity}`
          : `records keeper: Lease ${this.o.leaseNamespace}/${LEASE_NAME} is held by another watcher`,
      );
    if (!this.leader) return;
    await this.answerPulls();
    const s = this.o.settings();
    if (this.now() - this.lastRetention >= s.watcher.rescanSeconds * 1000) {
      this.lastRetention = this.now();
      await this.applyRetention(s);
    }
  }

  /** Acquires or renews the Lease; false when another holder's Lease is still valid. */
  private async holdLease(): Promise<boolean> {
    const { coordination } = await this.api();
    const ns = this.o.leaseNamespace;
    const duration = this.o.leaseSeconds ?? 15;
    const nowIso = new Date(this.now()).toISOString().replace("Z", "000Z");
    let lease;
    try {
      lease = await coordination.readNamespacedLease({ name: LEASE_NAME, namespace: ns });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      try {
        await coordination.createNamespacedLease({
          namespace: ns,
          body: {
            metadata: { name: LEASE_NAME, namespace: ns },
            spec: {
              holderIdentity: this.o.identity,
              leaseDurationSeconds: duration,
              acquireTime: nowIso as unknown as Date,
              renewTime: nowIso as unknown as Date,
            },
          },
        });
        return true;
      } catch (e) {
        if ((e as { code?: number }).code === 409) return false;
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const renewed = spec.renewTime ? new Date(spec.renewTime as unknown as string).getTime() : 0;
    const mine = spec.holderIdentity === this.o.identity;
    const expired = this.now() > renewed + (spec.leaseDurationSeconds ?? duration) * 1000;
    if (!mine && !expired) return false;
    try {
      await coordination.replaceNamespacedLease({
        name: LEASE_NAME,
        namespace: ns,
        body: {
          ...lease,
          spec: {
            ...spec,
            holderIdentity: this.o.identity,
            leaseDurationSeconds: duration,
            renewTime: nowIso as unknown as Date,
            ...(mine ? {} : { acquireTime: nowIso as unknown as Date }),
            leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
          },
        },
      });
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === 409) return false; // someone else renewed first
      throw err;
    }
  }

  private async answerPulls(): Promise<void> {
    const { custom } = await this.api();
    const list = (await custom.listClusterCustomObject({
      group: COREDUMP_GROUP,
      version: COREDUMP_VERSION,
      plural: COREDUMP_PULL_PLURAL,
    })) as { items: Pull[] };
    for (const pull of list.items) {
      const { namespace, name } = pull.metadata;
      if (pull.status?.url || pull.status?.error) {
        // Answered requests go once their link has expired (or an hour after an error).
        const until = pull.status.expiresAt
          ? Date.parse(pull.status.expiresAt)
          : Date.parse(pull.metadata.creationTimestamp ?? "") + 3_600_000;
        if (this.now() > until)
          await custom
            .deleteNamespacedCustomObject({
              group: COREDUMP_GROUP,
              version: COREDUMP_VERSION,
              plural: COREDUMP_PULL_PLURAL,
              namespace,
              name,
            })
            .catch(() => undefined);
        continue;
      }
      const status = await this.answer(pull);
      // A replace of the status subresource: the request's resourceVersion makes a concurrent change a conflict.
      await custom.replaceNamespacedCustomObjectStatus({
        group: COREDUMP_GROUP,
        version: COREDUMP_VERSION,
        plural: COREDUMP_PULL_PLURAL,
        namespace,
        name,
        body: { ...pull, status },
      });
      this.o.log.info(
        { namespace, pull: name, coreDump: pull.spec?.coreDump },
        status.error
          ? `pull ${namespace}/${name} refused: ${status.error}`
          : `pull ${namespace}/${name}: download link for CoreDump ${namespace}/${pull.spec?.coreDump} until ${status.expiresAt}`,
      );
    }
  }

  /** The link for a pull, only ever for a record of the pull's own namespace whose key lies below it. */
  private async answer(pull: Pull): Promise<Pull["status"] & object> {
    const { custom } = await this.api();
    const ns = pull.metadata.namespace;
    const target = pull.spec?.coreDump ?? "";
    let record: CoreDump;
    try {
      record = (await custom.getNamespacedCustomObject({
        group: COREDUMP_GROUP,
        version: COREDUMP_VERSION,
        plural: COREDUMP_PLURAL,
        namespace: ns,
        name: target,
      })) as CoreDump;
    } catch (err) {
      if ((err as { code?: number }).code === 404)
        return { error: `CoreDump ${target} does not exist in namespace ${ns}` };
      throw err;
    }
    const s = this.o.settings();
    const key = record.spec.storage.key;
    if (!key.startsWith(namespaceKeyPrefix(s.storage.storeDir, ns)))
      return {
        error: `CoreDump ${target} points outside namespace ${ns}'s cores (${key}); not signing it`,
      };
    const object = pull.spec?.object === "report" ? reportKeyOf(key) : key;
    try {
      const secs = Math.min(PULL_URL_SECONDS, s.storage.presignedUrlExpireSeconds);
      const url = await this.o.storage(s).presignGet(record.spec.storage.bucket, object, secs);
      return { url, expiresAt: seconds(this.now() + secs * 1000) };
    } catch (err) {
      return { error: `could not sign a download link: ${errorText(err)}` };
    }
  }

  private async applyRetention(s: Settings): Promise<void> {
    const limits = s.retention;
    if (limits.maxAgeMs === undefined && limits.maxPerFingerprint === undefined) return;
    if (!s.storage.configured) return;
    const { custom } = await this.api();
    const list = (await custom.listClusterCustomObject({
      group: COREDUMP_GROUP,
      version: COREDUMP_VERSION,
      plural: COREDUMP_PLURAL,
    })) as { items: CoreDump[] };
    const records = list.items.map((r) => ({
      namespace: r.metadata.namespace,
      name: r.metadata.name,
      crashedAt: r.spec.crashedAt,
      fingerprint: r.spec.fingerprint.id,
      r,
    }));
    const storage = this.o.storage(s);
    for (const { record, reason } of expiredRecords(records, limits, this.now())) {
      const { r } = record;
      const key = r.spec.storage.key;
      const where = r.spec.storage.bucket ? `s3://${r.spec.storage.bucket}/` : "";
      try {
        // Objects first: a failure leaves the record, and the next round tries again.
        await storage.remove(r.spec.storage.bucket, [key, reportKeyOf(key)]);
        await custom.deleteNamespacedCustomObject({
          group: COREDUMP_GROUP,
          version: COREDUMP_VERSION,
          plural: COREDUMP_PLURAL,
          namespace: record.namespace,
          name: record.name,
        });
        this.o.log.info(
          { namespace: record.namespace, record: record.name, key },
          `retention: deleted CoreDump ${record.namespace}/${record.name} and ${where}${key} (with its report) (${reason})`,
        );
      } catch (err) {
        this.o.log.error(
          { namespace: record.namespace, record: record.name, key },
          `error: retention could not delete CoreDump ${record.namespace}/${record.name} (${where}${key}): ${errorText(err)}; trying again next round`,
        );
      }
    }
    if (limits.maxAgeMs !== undefined) await this.pruneMarkers(storage, limits.maxAgeMs);
  }

  /**
   * The fingerprint markers older than maxAge go too, so that nothing in the bucket outlives it and "seen N times
   * before" counts the cores of that period.
   */
  private async pruneMarkers(storage: StorageAdmin, maxAgeMs: number): Promise<void> {
    if (this.now() - this.lastMarkerPrune < MARKER_PRUNE_MS) return;
    const age = maxAgeText(maxAgeMs);
    try {
      const n = await storage.pruneMarkers(new Date(this.now() - maxAgeMs));
      this.lastMarkerPrune = this.now();
      if (n > 0)
        this.o.log.info(
          { markers: n },
          `retention: deleted ${n} fingerprint marker${n === 1 ? "" : "s"} older than ${age}`,
        );
    } catch (err) {
      this.o.log.error(
        `error: retention could not delete the fingerprint markers older than ${age}: ${errorText(err)}; trying again next round`,
      );
    }
  }
}
