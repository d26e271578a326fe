// Test helpers for the injection tests: apply a patch as the API server does, and resolve the
// node directory a container's core-dump mount points at as the kubelet would.
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import fastJsonPatch from "fast-json-patch";
import type { Operation } from "fast-json-patch";
import { VOLUME_NAME } from "../../../src/names.js";
import { normalizeContainerPath } from "../../../src/paths.js";

/** Applies `ops` to a copy of `pod` with validation on; throws on any invalid operation. */
export function apply(pod: V1Pod, ops: Operation[]): V1Pod {
  const copy = structuredClone(pod);
  return fastJsonPatch.applyPatch(copy, ops, true, false).newDocument;
}

/**
 * The host directory the core-dump mount of `container` resolves to once the pod runs with its
 * final `name` and `namespace`: subPathExpr expanded from the container's downward-API env, the
 * way the kubelet does it. Undefined when the container has no such mount (at `mountPath`, if given).
 */
export function hostDir(
  pod: V1Pod,
  container: V1Container,
  final: { namespace: string; name: string },
  mountPath?: string,
): string | undefined {
  const mount = (container.volumeMounts ?? []).find(
    (m) =>
      m.name === VOLUME_NAME &&
      (mountPath === undefined || normalizeContainerPath(m.mountPath) === mountPath),
  );
  if (!mount) return undefined;
  const volume = (pod.spec?.volumes ?? []).find((v) => v.name === VOLUME_NAME);
  if (!volume?.hostPath) return undefined;
  const env = new Map<string, string>();
  for (const e of container.env ?? []) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    if (field === "metadata.name") env.set(e.name, final.name);
    else if (field === "metadata.namespace") env.set(e.name, final.namespace);
    else if (e.value !== undefined) env.set(e.name, e.value);
  }
  const sub = (mount.subPathExpr ?? "").replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name) =>
    env.has(name as string) ? (env.get(name as string) as string) : whole,
  );
  const root = normalizeContainerPath(volume.hostPath.path) ?? volume.hostPath.path;
  return sub === "" ? root : `${root}/${sub}`;
}
