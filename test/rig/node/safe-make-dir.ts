// The kubelet's creation of a missing subPath/subPathExpr directory (pkg/kubelet/kubelet_pods.go makeMounts,
// pkg/volume/util/subpath/subpath_linux.go doSafeMakeDir): the permission bits are those of the volume's root
// (hu.GetMode: its full mode, setuid/setgid/sticky included); each missing component is created with mkdirat(perm),
// which the kubelet's umask reduces, opened without following symlinks, and then fchmod'ed to exactly perm, so the
// umask does not survive. Ownership is the kubelet's (root). An existing path is left as it is, whatever it is.
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  statSync,
} from "node:fs";
import { join, posix } from "node:path";

const NOFOLLOW_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** Creates `base/subdir` like the kubelet; throws (the kubelet's FailedMount / CreateContainerError) otherwise. */
export function safeMakeDir(base: string, subdir: string): void {
  const norm = posix.normalize(subdir);
  if (norm.startsWith("..") || posix.isAbsolute(norm)) {
    throw new Error(`path ${subdir} is outside of allowed base ${base}`);
  }
  const full = join(base, norm);
  try {
    statSync(full);
    return; // makeMounts calls SafeMakeDir only when the path does not exist: an existing one keeps its mode
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  // The kernel's mode bits of the root: permissions plus setuid (04000), setgid (02000), sticky (01000).
  const perm = statSync(base).mode & 0o7777;
  let current = base;
  for (const part of norm.split("/").filter((p) => p !== "" && p !== ".")) {
    current = join(current, part);
    let st;
    try {
      st = lstatSync(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (st) {
      // an existing component must be a directory, never a symlink (doSafeOpen refuses one)
      if (st.isSymbolicLink()) throw new Error(`unexpected symlink found ${current}`);
      if (!st.isDirectory()) throw new Error(`cannot create directory ${current}: not a directory`);
      continue;
    }
    mkdirSync(current, perm & 0o777); // mkdirat(parentFD, dir, perm): the process umask applies
    const fd = openSync(current, NOFOLLOW_DIR);
    try {
      if (!fstatSync(fd).isDirectory()) throw new Error(`cannot open ${current}: not a directory`);
      fchmodSync(fd, perm); // "mkdirat(..., perm) above was affected by current umask"
    } finally {
      closeSync(fd);
    }
  }
}
