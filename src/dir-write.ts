// Whether a container's user can create its core in its node directory: the pod's security context against the
// directory's mode and owner (which the kubelet copied from the node directory when it created it). Pure.
import type { V1Pod } from "@kubernetes/client-node";
import { VOLUME_NAME } from "./names.js";
import type { DirAccess } from "./node-state.js";

export interface ContainerUser {
  container: string;
  init: boolean;
  /** Undefined: no runAsUser, so the image's USER decides (unknown from the API). */
  uid?: number;
  gid?: number;
  groups: number[];
}

/** The users the injected containers of a pod run as, from runAsUser/runAsGroup/fsGroup/supplementalGroups. */
export function containerUsers(pod: V1Pod): ContainerUser[] {
  const psc = pod.spec?.securityContext;
  const groups = [
    ...(psc?.supplementalGroups ?? []),
    ...(psc?.fsGroup !== undefined ? [psc.fsGroup] : []),
  ];
  const all = [
    ...(pod.spec?.initContainers ?? []).map((c) => ({ c, init: true })),
    ...(pod.spec?.containers ?? []).map((c) => ({ c, init: false })),
  ];
  return all
    .filter(({ c }) => c.volumeMounts?.some((m) => m.name === VOLUME_NAME))
    .map(({ c, init }) => {
      const uid = c.securityContext?.runAsUser ?? psc?.runAsUser;
      const gid = c.securityContext?.runAsGroup ?? psc?.runAsGroup;
      return {
        container: c.name,
        init,
        ...(uid !== undefined ? { uid } : {}),
        ...(gid !== undefined ? { gid } : {}),
        groups,
      };
    });
}

/**
 * Whether `user` may create a file in a directory with this mode and owner (write and search permission, as the
 * kernel checks them: owner bits, else group bits, else the others' bits). An unknown uid (the image's USER) is
 * judged as any non-root user, gid 0 if unknown: what the runtime gives a user the image does not list.
 */
export function canCreateIn(
  dir: DirAccess,
  user: Pick<ContainerUser, "uid" | "gid" | "groups">,
): boolean {
  const mode = parseInt(dir.mode, 8);
  if (user.uid === 0) return true;
  const uid = user.uid ?? -1;
  const gid = user.gid ?? 0;
  let bits: number;
  if (uid === dir.uid) bits = (mode >> 6) & 7;
  else if (gid === dir.gid || user.groups.includes(dir.gid)) bits = (mode >> 3) & 7;
  else bits = mode & 7;
  return (bits & 3) === 3;
}

/** "uid 1000, gid 1000, groups 2000" for a message. */
export function describeUser(u: Pick<ContainerUser, "uid" | "gid" | "groups">): string {
  const parts = [u.uid === undefined ? "the image's user" : `uid ${u.uid}`];
  if (u.gid !== undefined) parts.push(`gid ${u.gid}`);
  if (u.groups.length) parts.push(`groups ${u.groups.join(",")}`);
  return parts.join(", ");
}

/** The injected containers whose user cannot create a core below `dir` (`unknown`: the image's user decides). */
export function blockedUsers(
  pod: V1Pod,
  dir: DirAccess,
): { user: ContainerUser; unknown: boolean }[] {
  return containerUsers(pod)
    .filter((u) => !canCreateIn(dir, u))
    .map((user) => ({ user, unknown: user.uid === undefined }));
}
