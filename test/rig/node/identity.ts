// The credentials a container's process gets, as the kubelet and a CRI runtime (containerd, CRI-O) give them:
// uid from runAsUser (container, then pod; else the image's USER, else root); gid from
// runAsGroup, else the uid's primary group in the image's /etc/passwd, else 0; supplementary groups: the image's
// /etc/group memberships of that user, then the pod's supplementalGroups and fsGroup. fsGroup changes no
// ownership on hostPath volumes (the kubelet applies it only to volumes that support ownership management).
import type { V1Container, V1Pod } from "@kubernetes/client-node";

export interface Identity {
  uid: number;
  gid: number;
  groups: number[];
}

/** The image's user database (the rig runs images on the node's own files). */
export interface UserDb {
  passwd: string;
  group: string;
}

function passwdEntry(db: UserDb, uid: number): { name: string; gid: number } | undefined {
  for (const line of db.passwd.split("\n")) {
    const f = line.split(":");
    if (f.length >= 4 && Number(f[2]) === uid && f[2] !== "")
      return { name: f[0]!, gid: Number(f[3]) };
  }
  return undefined;
}

function memberOf(db: UserDb, name: string): number[] {
  const out: number[] = [];
  for (const line of db.group.split("\n")) {
    const f = line.split(":");
    if (f.length >= 4 && f[3]!.split(",").includes(name)) out.push(Number(f[2]));
  }
  return out;
}

/** Throws when runAsNonRoot is set and the container would run as root (kubelet: CreateContainerConfigError). */
export function containerIdentity(
  pod: V1Pod,
  c: V1Container,
  db: UserDb,
  imageUser?: { uid: number; gid: number },
): Identity {
  const psc = pod.spec?.securityContext;
  const sc = c.securityContext;
  const uid = sc?.runAsUser ?? psc?.runAsUser ?? imageUser?.uid ?? 0;
  if ((sc?.runAsNonRoot ?? psc?.runAsNonRoot) && uid === 0) {
    throw new Error("container has runAsNonRoot and image will run as root");
  }
  const user = passwdEntry(db, uid);
  const fromImage = uid === imageUser?.uid ? imageUser.gid : undefined;
  const gid = sc?.runAsGroup ?? psc?.runAsGroup ?? user?.gid ?? fromImage ?? 0;
  const groups: number[] = [];
  for (const g of [
    ...(user ? memberOf(db, user.name) : []),
    ...(psc?.supplementalGroups ?? []),
    ...(psc?.fsGroup !== undefined ? [psc.fsGroup] : []),
  ]) {
    if (!groups.includes(g)) groups.push(g);
  }
  return { uid, gid, groups };
}
