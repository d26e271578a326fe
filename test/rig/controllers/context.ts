// What every controller gets: clients, shared informers, a log, and expectations of its own writes.
import type {
  KubernetesObject,
  V1DaemonSet,
  V1Deployment,
  V1Job,
  V1Node,
  V1Pod,
  V1ReplicaSet,
  V1StatefulSet,
} from "@kubernetes/client-node";
import type { SharedInformer } from "./informer.js";
import { controllerRef, key, type Clients, type Log } from "./kube.js";
import type { WorkQueue } from "./queue.js";

export interface Informers {
  pods: SharedInformer<V1Pod>;
  nodes: SharedInformer<V1Node>;
  deployments: SharedInformer<V1Deployment>;
  replicasets: SharedInformer<V1ReplicaSet>;
  daemonsets: SharedInformer<V1DaemonSet>;
  statefulsets: SharedInformer<V1StatefulSet>;
  jobs: SharedInformer<V1Job>;
}

export interface Context {
  clients: Clients;
  informers: Informers;
  log: Log;
  expectations: Expectations;
  /** All informers have listed once. */
  synced: () => boolean;
}

const EXPECTATION_TTL_MS = 15_000;

/**
 * Writes a controller made that its cache has not shown yet (client-go's ControllerExpectations, by name):
 * until they show, the controller must not count pods again, or it would create or delete twice.
 */
export class Expectations {
  private readonly pending = new Map<
    string,
    { creates: Map<string, number>; deletes: Map<string, number> }
  >();

  private entry(owner: string) {
    let e = this.pending.get(owner);
    if (!e) {
      e = { creates: new Map(), deletes: new Map() };
      this.pending.set(owner, e);
    }
    return e;
  }

  created(owner: string, name: string): void {
    this.entry(owner).creates.set(name, Date.now());
  }

  deleted(owner: string, name: string): void {
    this.entry(owner).deletes.set(name, Date.now());
  }

  /** True when every expected create is in `objects` and every expected delete is gone or being deleted. */
  satisfied(owner: string, objects: KubernetesObject[]): boolean {
    const e = this.pending.get(owner);
    if (!e) return true;
    const byName = new Map(objects.map((o) => [o.metadata?.name ?? "", o]));
    const now = Date.now();
    for (const [name, at] of e.creates) {
      if (byName.has(name) || now - at > EXPECTATION_TTL_MS) e.creates.delete(name);
    }
    for (const [name, at] of e.deletes) {
      const o = byName.get(name);
      if (!o || o.metadata?.deletionTimestamp || now - at > EXPECTATION_TTL_MS)
        e.deletes.delete(name);
    }
    if (e.creates.size === 0 && e.deletes.size === 0) {
      this.pending.delete(owner);
      return true;
    }
    return false;
  }

  forget(owner: string): void {
    this.pending.delete(owner);
  }
}

/**
 * The wiring every pod-owning controller has: reconcile an owner when it changes, forget its expectations
 * when it goes, and reconcile it again when one of its pods changes.
 */
export function watchOwnerAndPods<T extends KubernetesObject>(
  ctx: Context,
  owners: SharedInformer<T>,
  kind: string,
  queue: WorkQueue,
): void {
  owners.onChange((o) => queue.add(key(o)));
  owners.on("delete", (o) => ctx.expectations.forget(o.metadata?.uid ?? ""));
  ctx.informers.pods.onChange((p) => {
    const ref = controllerRef(p);
    if (ref?.kind === kind) queue.add(`${p.metadata?.namespace}/${ref.name}`);
  });
}
