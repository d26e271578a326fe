// Garbage collector: deletes dependents whose owners (ownerReferences by uid) are gone (background propagation),
// handles the `orphan` finalizer (dependents lose the ownerReference) and `foregroundDeletion` (dependents go first).
import {
  PatchStrategy,
  type KubernetesObject,
  type V1OwnerReference,
} from "@kubernetes/client-node";
import type { Context } from "./context.js";
import { errorCode, ignoreNotFound } from "./kube.js";
import type { SharedInformer } from "./informer.js";
import { WorkQueue } from "./queue.js";

const ORPHAN = "orphan";
const FOREGROUND = "foregroundDeletion";

interface Ident {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

function identOf(o: KubernetesObject, apiVersion: string, kind: string): Ident {
  return {
    apiVersion,
    kind,
    name: o.metadata!.name!,
    ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
  };
}

const encode = (op: "dep" | "owner", i: Ident) =>
  JSON.stringify([op, i.apiVersion, i.kind, i.namespace ?? "", i.name]);

export function startGarbageCollector(ctx: Context): WorkQueue {
  const inf = ctx.informers;
  const watched: {
    informer: SharedInformer<KubernetesObject>;
    apiVersion: string;
    kind: string;
  }[] = [
    { informer: inf.pods, apiVersion: "v1", kind: "Pod" },
    { informer: inf.replicasets, apiVersion: "apps/v1", kind: "ReplicaSet" },
    { informer: inf.deployments, apiVersion: "apps/v1", kind: "Deployment" },
    { informer: inf.daemonsets, apiVersion: "apps/v1", kind: "DaemonSet" },
    { informer: inf.statefulsets, apiVersion: "apps/v1", kind: "StatefulSet" },
    { informer: inf.jobs, apiVersion: "batch/v1", kind: "Job" },
  ];
  const queue = new WorkQueue("gc", process, ctx.log, ctx.synced);

  const allObjects = () =>
    watched.flatMap((w) =>
      w.informer.list().map((o) => ({ o, apiVersion: w.apiVersion, kind: w.kind })),
    );
  const liveUid = (uid: string) => allObjects().find(({ o }) => o.metadata?.uid === uid);
  const dependentsOf = (uid: string) =>
    allObjects().filter(({ o }) => o.metadata?.ownerReferences?.some((r) => r.uid === uid));

  for (const w of watched) {
    w.informer.on("delete", (o) => {
      const uid = o.metadata?.uid;
      if (!uid) return;
      for (const d of dependentsOf(uid))
        queue.add(encode("dep", identOf(d.o, d.apiVersion, d.kind)));
    });
    const onUpsert = (o: KubernetesObject) => {
      const fin = o.metadata?.finalizers ?? [];
      if (o.metadata?.deletionTimestamp && (fin.includes(ORPHAN) || fin.includes(FOREGROUND))) {
        queue.add(encode("owner", identOf(o, w.apiVersion, w.kind)));
      }
      // An owner not in any cache may just not have arrived yet: look again shortly, with a live read.
      const refs = o.metadata?.ownerReferences ?? [];
      if (refs.some((r) => !liveUid(r.uid)))
        queue.addAfter(encode("dep", identOf(o, w.apiVersion, w.kind)), 500);
    };
    w.informer.on("add", onUpsert);
    w.informer.on("update", onUpsert);
  }

  const cached = (i: Ident) => {
    const w = watched.find((x) => x.kind === i.kind && x.apiVersion === i.apiVersion);
    return w?.informer.get(i.name, i.namespace);
  };

  async function read(i: Ident): Promise<KubernetesObject | undefined> {
    try {
      return await ctx.clients.objects.read({
        apiVersion: i.apiVersion,
        kind: i.kind,
        metadata: { name: i.name, namespace: i.namespace },
      });
    } catch (err) {
      if (errorCode(err) === 404) return undefined;
      throw err;
    }
  }

  /** Whether the owner a reference names still exists (same uid), per cache and then a live read. */
  async function ownerExists(
    ref: V1OwnerReference,
    namespace: string | undefined,
  ): Promise<boolean> {
    if (liveUid(ref.uid)) return true;
    const live = await read({
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      name: ref.name,
      namespace,
    });
    return live?.metadata?.uid === ref.uid;
  }

  async function deleteObject(i: Ident, propagationPolicy: string): Promise<void> {
    await ignoreNotFound(
      ctx.clients.objects.delete(
        {
          apiVersion: i.apiVersion,
          kind: i.kind,
          metadata: { name: i.name, namespace: i.namespace },
        },
        undefined,
        undefined,
        undefined,
        undefined,
        propagationPolicy,
      ),
    );
  }

  async function setOwnerRefs(i: Ident, refs: V1OwnerReference[]): Promise<void> {
    await ignoreNotFound(
      ctx.clients.objects.patch(
        {
          apiVersion: i.apiVersion,
          kind: i.kind,
          metadata: {
            name: i.name,
            namespace: i.namespace,
            ownerReferences: refs.length ? refs : null,
          },
        } as KubernetesObject,
        undefined,
        undefined,
        undefined,
        undefined,
        PatchStrategy.MergePatch,
      ),
    );
  }

  async function process(k: string): Promise<number | void> {
    const [op, apiVersion, kind, namespace, name] = JSON.parse(k) as string[];
    const i: Ident = {
      apiVersion: apiVersion!,
      kind: kind!,
      name: name!,
      ...(namespace ? { namespace } : {}),
    };
    return op === "dep" ? processDependent(i) : processOwner(i);
  }

  async function processDependent(i: Ident): Promise<void> {
    const o = cached(i) ?? (await read(i));
    if (!o || o.metadata?.deletionTimestamp) return;
    const refs = o.metadata?.ownerReferences ?? [];
    if (refs.length === 0) return;
    const alive: V1OwnerReference[] = [];
    let waitingForeground = false;
    for (const r of refs) {
      if (!(await ownerExists(r, i.namespace))) continue;
      alive.push(r);
      const owner = liveUid(r.uid)?.o;
      if (owner?.metadata?.deletionTimestamp && owner.metadata.finalizers?.includes(FOREGROUND))
        waitingForeground = true;
    }
    if (alive.length === 0) {
      ctx.log(`gc: deleting ${i.kind} ${i.namespace ?? ""}/${i.name}: owner gone`);
      await deleteObject(i, "Background");
    } else if (alive.length < refs.length) {
      await setOwnerRefs(i, alive);
    } else if (waitingForeground && alive.length === 1) {
      await deleteObject(i, "Foreground");
    }
  }

  async function processOwner(i: Ident): Promise<number | void> {
    const owner = cached(i) ?? (await read(i));
    const uid = owner?.metadata?.uid;
    if (!owner || !uid || !owner.metadata?.deletionTimestamp) return;
    const fin = owner.metadata.finalizers ?? [];
    const deps = dependentsOf(uid);
    if (fin.includes(ORPHAN)) {
      for (const d of deps) {
        const refs = (d.o.metadata?.ownerReferences ?? []).filter((r) => r.uid !== uid);
        await setOwnerRefs(identOf(d.o, d.apiVersion, d.kind), refs);
      }
      await removeFinalizer(i, owner, ORPHAN);
      return;
    }
    if (fin.includes(FOREGROUND)) {
      const blocking = deps.filter(({ o }) =>
        o.metadata?.ownerReferences?.some((r) => r.uid === uid && r.blockOwnerDeletion),
      );
      if (blocking.length === 0) {
        await removeFinalizer(i, owner, FOREGROUND);
        return;
      }
      for (const d of blocking) {
        if (!d.o.metadata?.deletionTimestamp)
          await deleteObject(identOf(d.o, d.apiVersion, d.kind), "Foreground");
      }
      return 500; // look again until the dependents are gone
    }
  }

  async function removeFinalizer(
    i: Ident,
    owner: KubernetesObject,
    finalizer: string,
  ): Promise<void> {
    const finalizers = (owner.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
    await ignoreNotFound(
      ctx.clients.objects.patch(
        {
          apiVersion: i.apiVersion,
          kind: i.kind,
          metadata: {
            name: i.name,
            namespace: i.namespace,
            finalizers,
            resourceVersion: owner.metadata?.resourceVersion,
          },
        } as KubernetesObject,
        undefined,
        undefined,
        undefined,
        undefined,
        PatchStrategy.MergePatch,
      ),
    );
  }

  return queue;
}
