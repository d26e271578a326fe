// Publishes the node's state (src/node-state.ts) as JSON in the annotation coredog.io/node-state on the watcher's own
// pod, throttled: at most every `minIntervalMs` on change, and every `heartbeatMs` regardless.
import { readFile, writeFile, rename } from "node:fs/promises";
import type { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { ANNOTATION_NODE_STATE, CORE_PATTERN_FILE } from "../../src/names.js";
import type { NodeState } from "../../src/node-state.js";
import type { Logger } from "../log.js";
import type * as K8s from "./k8s.js";
import { errorText } from "../../src/error-text.js";

type K8sClient = { api: CoreV1Api; mod: typeof K8s };

export type StateParts = Omit<NodeState, "updatedAt" | "corePattern">;

export interface PublisherOptions {
  kc?: KubeConfig;
  podName?: string;
  podNamespace?: string;
  log: Logger;
  collect: () => StateParts;
  /** Also written here (atomically), for a shell in the watcher and for tests. */
  file?: string;
  corePatternFile?: string;
  minIntervalMs?: number;
  heartbeatMs?: number;
}

export async function readCorePattern(file = CORE_PATTERN_FILE): Promise<string | null> {
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    return null;
  }
}

export class NodeStatePublisher {
  private lastJson = "";
  private lastAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private busy: Promise<void> = Promise.resolve();
  private warned = false;
  /** client-node is loaded with the first publication, and only with a pod to annotate (k8s.ts). */
  private readonly client: (() => Promise<K8sClient>) | undefined;

  constructor(private readonly o: PublisherOptions) {
    const kc = o.kc;
    if (kc && o.podName && o.podNamespace) {
      let loaded: Promise<K8sClient> | undefined;
      this.client = () =>
        (loaded ??= import("./k8s.js").then((mod) => ({
          api: kc.makeApiClient(mod.CoreV1Api),
          mod,
        })));
    } else if (kc) {
      o.log.info("node state not published on a pod: POD_NAME/POD_NAMESPACE are not set");
    }
  }

  start(): void {
    this.timer = setInterval(() => this.poke(), this.o.minIntervalMs ?? 10_000);
    this.timer.unref();
    this.poke();
  }

  /** Something changed: publish soon (throttled). */
  poke(): void {
    if (this.soon) return;
    const wait = Math.max(0, this.lastAt + (this.o.minIntervalMs ?? 10_000) / 5 - Date.now());
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.busy = this.busy.then(() => this.publish(false));
    }, wait);
    this.soon.unref();
  }

  async publish(force: boolean): Promise<void> {
    const parts = this.o.collect();
    const corePattern = await readCorePattern(this.o.corePatternFile);
    const json = JSON.stringify({ ...parts, corePattern });
    const heartbeat = Date.now() - this.lastAt >= (this.o.heartbeatMs ?? 60_000);
    if (!force && json === this.lastJson && !heartbeat) return;
    const state: NodeState = { ...parts, corePattern, updatedAt: new Date().toISOString() };
    const text = JSON.stringify(state);
    this.lastJson = json;
    this.lastAt = Date.now();
    if (this.o.file) {
      const tmp = `${this.o.file}.tmp`;
      await writeFile(tmp, text)
        .then(() => rename(tmp, this.o.file!))
        .catch(() => undefined);
    }
    if (!this.client) return;
    try {
      const { api, mod } = await this.client();
      await api.patchNamespacedPod(
        {
          name: this.o.podName!,
          namespace: this.o.podNamespace!,
          body: { metadata: { annotations: { [ANNOTATION_NODE_STATE]: text } } },
        },
        mod.setHeaderOptions("Content-Type", mod.PatchStrategy.MergePatch),
      );
      this.warned = false;
    } catch (err) {
      if (!this.warned) {
        this.warned = true;
        this.o.log.warn(
          `node state error: cannot annotate pod ${this.o.podNamespace}/${this.o.podName}: ${errorText(err)}`,
        );
      }
      this.lastJson = ""; // try again on the next tick
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.soon);
    this.soon = undefined;
    await this.busy;
    await this.publish(true).catch(() => undefined);
  }
}
