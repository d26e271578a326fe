// Gives the node directory DUMP_DIR_MODE (so the kubelet creates every new `<namespace>/<pod>/<container>/` with it)
// and brings directories created before to it: `<namespace>`, `<pod>` and `<container>` directories, which only the
// kubelet (root) creates, since a pod sees nothing above its own container directory. Anything not a real
// directory owned by root is left alone and reported; nothing is followed (O_NOFOLLOW, fstat on the descriptor).
import { constants } from "node:fs";
import { open, readdir } from "node:fs/promises";
import { join, sep } from "node:path";
import { DUMP_DIR_MODE } from "../../src/names.js";
import type { DirAccess } from "../../src/node-state.js";
import type { Logger } from "../log.js";

const DIR_NOFOLLOW = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** Directories already reported as not root's. */
const reported = new Set<string>();
const octal = (m: number) => (m & 0o7777).toString(8).padStart(4, "0");

/** fchmod through a descriptor opened without following symlinks; the directory's mode and owner after. */
async function setMode(path: string, log: Logger): Promise<DirAccess | undefined> {
  let fh;
  try {
    fh = await open(path, DIR_NOFOLLOW);
  } catch {
    return undefined; // a symlink, a file, gone: not ours to change
  }
  try {
    const st = await fh.stat();
    if (st.uid === 0 && (st.mode & 0o7777) !== DUMP_DIR_MODE) {
      await fh.chmod(DUMP_DIR_MODE);
      log.info(
        { path, was: octal(st.mode) },
        `set mode ${octal(DUMP_DIR_MODE)} on ${path} (was ${octal(st.mode)}): any container user can create its core there`,
      );
      return { mode: octal(DUMP_DIR_MODE), uid: st.uid, gid: st.gid };
    }
    if (st.uid !== 0 && !reported.has(path)) {
      reported.add(path); // once, not at every rescan
      log.warn(
        { path, uid: st.uid },
        `left ${path} alone: owned by uid ${st.uid}, not root (error: not created by the kubelet)`,
      );
    }
    return { mode: octal(st.mode), uid: st.uid, gid: st.gid };
  } finally {
    await fh.close();
  }
}

async function dirs(path: string): Promise<string[]> {
  try {
    return (await readdir(path, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => join(path, e.name));
  } catch {
    return [];
  }
}

/** Returns the node directory's mode and owner (for the node state). */
export async function ensureDirModes(
  root: string,
  journalDir: string,
  log: Logger,
): Promise<DirAccess | undefined> {
  const rootAccess = await setMode(root, log);
  const skip = (p: string) => p === journalDir || p.startsWith(journalDir + sep);
  for (const ns of await dirs(root)) {
    if (skip(ns)) continue;
    await setMode(ns, log);
    for (const pod of await dirs(ns)) {
      await setMode(pod, log);
      for (const container of await dirs(pod)) await setMode(container, log);
    }
  }
  return rootAccess;
}
