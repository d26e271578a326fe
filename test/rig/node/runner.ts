// Runs one container as a real process: its own mount namespace (unshare --mount --propagation private), the
// volume bind mounts applied inside it, then exec of the command. The process gets PR_SET_PDEATHSIG=KILL (setpriv)
// so it dies with the node's process, and leads its own process group, which is killed when it exits (as the
// container's processes die with its init) and on stop. A container with a root filesystem of its own (an
// image's) runs on an overlay of it with a private writable layer (read-only when the container asks), the
// host's /proc, /dev and /sys, and the volume mounts inside it, then changes root into it.
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, statSync, writeSync } from "node:fs";
import { constants } from "node:os";
import { dirname, posix } from "node:path";
import { createContainerCgroup } from "./cgroups.js";
import { acquireMountPoint } from "./mount-points.js";
import { onExitSync } from "./exit-hooks.js";

export interface Mount {
  /** Host path (a directory or a file). */
  source: string;
  /** Path inside the container. */
  target: string;
  readOnly?: boolean;
}

export interface ContainerSpec {
  /** argv; argv[0] is looked up on env.PATH. */
  command: string[];
  env: Record<string, string>;
  workingDir?: string;
  mounts: Mount[];
  /** stdout and stderr are appended here. */
  logFile: string;
  /** runAsUser/runAsGroup and the supplementary groups (fsGroup, supplementalGroups, the image's); default: root. */
  user?: { uid: number; gid: number; groups?: number[] };
  /** RLIMIT_CORE the runtime gives the container's process, in prlimit syntax (default: the node's own). */
  coreLimit?: string;
  /** The image's root filesystem, the container's `/` (default: the host's `/`). */
  rootfs?: { dir: string; readOnly?: boolean };
}

/**
 * The host directory each image container's mount namespace mounts its own scratch tmpfs on (overlay layers
 * and the new root). It stays empty on the host: every mount on it is private to one container.
 */
export const IMAGE_SCRATCH = "/run/coredog-rig/image-root";

export interface ContainerExit {
  exitCode: number;
  /** Set when the process was killed by a signal (exitCode is then 128 + signal). */
  signal?: number;
  signalName?: string;
  finishedAt: Date;
}

export interface ContainerHandle {
  pid: number;
  /** The container's cgroup v2 dir, when cgroups are usable. */
  cgroupPath?: string;
  startedAt: Date;
  exited: Promise<ContainerExit>;
  /** The exit once it happened, else undefined. */
  exit(): ContainerExit | undefined;
  /** Sends a signal to the container's process group. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit. */
  stop(graceMs: number): Promise<ContainerExit>;
}

// Inside the new mount namespace: open every source first (a mount on a shallower target, e.g. an emptyDir
// on /tmp, would otherwise hide sources that live below it, as the rig's own pod dirs do), then create nested
// mount points, bind mount through the open descriptors, remount read-only where asked, cd, exec the command.
const INIT_SCRIPT = `
if [ "$1" != - ] && ! echo $$ > "$1/cgroup.procs"; then echo "rig: cannot join cgroup $1" >&2; exit 126; fi
shift
rootfs=$1; rootro=$2; scratch=$3; shift 3
new=
if [ "$rootfs" != - ]; then
  new=$scratch/root
  if ! { /usr/bin/mount -t tmpfs -o mode=0755 rig-container "$scratch" && mkdir "$scratch/upper" "$scratch/work" "$new" &&
    /usr/bin/mount -t overlay rig-rootfs -o "lowerdir=$rootfs,upperdir=$scratch/upper,workdir=$scratch/work" "$new"; }; then
    echo "rig: cannot mount the image's root filesystem $rootfs" >&2; exit 126
  fi
  for d in proc dev sys; do
    mkdir -p "$new/$d" && /usr/bin/mount --rbind "/$d" "$new/$d" || { echo "rig: cannot mount /$d in the container" >&2; exit 126; }
  done
fi
n=$1; shift
fds=(); dsts=(); ros=(); kinds=(); srcs=()
for ((i = 0; i < n; i++)); do
  if ! exec {fd}<"$1"; then echo "rig: cannot open $1" >&2; exit 126; fi
  fds+=("$fd"); srcs+=("$1"); dsts+=("$2"); ros+=("$3"); kinds+=("$4"); shift 4
done
for ((i = 0; i < n; i++)); do
  dst=\${dsts[i]}
  if [ -n "$new" ]; then
    # The target as the container sees it: symlinks (the image's /var/run -> /run) resolve inside its root.
    dst=$new$(/usr/sbin/chroot "$new" /usr/bin/realpath -m -- "$dst") || { echo "rig: cannot resolve \${dsts[i]} in the image" >&2; exit 126; }
    dsts[i]=$dst
  fi
  if [ ! -e "$dst" ]; then
    if [ "\${kinds[i]}" = file ]; then mkdir -p "$(dirname "$dst")" && : > "$dst"; else mkdir -p "$dst"; fi
  fi
  if ! /usr/bin/mount --bind "/proc/self/fd/\${fds[i]}" "$dst"; then echo "rig: cannot mount \${srcs[i]} on $dst" >&2; exit 126; fi
done
for ((i = 0; i < n; i++)); do eval "exec \${fds[i]}<&-"; done
# Read-only last, so that nested mount points could still be created inside.
for ((i = 0; i < n; i++)); do
  if [ "\${ros[i]}" = 1 ] && ! /usr/bin/mount -o remount,bind,ro "\${dsts[i]}"; then
    echo "rig: cannot make \${dsts[i]} read-only" >&2; exit 126
  fi
done
wd=$1; runas=$2; shift 2
if [ "$rootro" = 1 ] && ! /usr/bin/mount -o remount,bind,ro "$new"; then echo "rig: cannot make the root filesystem read-only" >&2; exit 126; fi
if ! cd "$new$wd"; then echo "rig: working directory $wd: not found" >&2; exit 126; fi
# Into the image's root (its own setpriv then), or the host's.
chroot=(); [ -n "$new" ] && chroot=(/usr/bin/unshare --root="$new" --wd="$wd" --)
if [ "$runas" != - ]; then
  # uid:gid:groups (comma list, maybe empty). A uid change clears PR_SET_PDEATHSIG: set it again.
  IFS=: read -r uid gid groups <<< "$runas"
  if [ -n "$groups" ]; then grp=(--groups "$groups"); else grp=(--clear-groups); fi
  exec "\${chroot[@]}" /usr/bin/setpriv --reuid="$uid" --regid="$gid" "\${grp[@]}" --pdeathsig KILL -- "$@"
fi
exec "\${chroot[@]}" "$@"
`;

const SIGNAL_NUMBERS = constants.signals as Record<string, number>;

/** True when `p` lies below one of `others` (so it is created inside that mount, not on the host). */
function under(p: string, others: string[]): boolean {
  return others.some((o) => o !== p && (o === "/" || p.startsWith(`${o}/`)));
}

export function runContainer(spec: ContainerSpec): ContainerHandle {
  if (spec.command.length === 0) throw new Error("rig: container has no command");
  const mounts = spec.mounts
    .map((m) => ({ ...m, target: posix.normalize(m.target) }))
    .sort((a, b) => a.target.split("/").length - b.target.split("/").length);
  const targets = mounts.map((m) => m.target);
  const releases: (() => void)[] = [];
  const cgroup = createContainerCgroup();
  const args: string[] = [cgroup?.path ?? "-"];
  if (spec.rootfs) {
    mkdirSync(IMAGE_SCRATCH, { recursive: true });
    args.push(spec.rootfs.dir, spec.rootfs.readOnly ? "1" : "0", IMAGE_SCRATCH);
  } else args.push("-", "0", "-");
  args.push(String(mounts.length));
  try {
    for (const m of mounts) {
      const isFile = !statSync(m.source).isDirectory();
      // Inside an image's root, mount points are made in the container's own layer, not on the host.
      if (!spec.rootfs && !under(m.target, targets))
        releases.push(acquireMountPoint(m.target, isFile));
      args.push(m.source, m.target, m.readOnly ? "1" : "0", isFile ? "file" : "dir");
    }
  } catch (err) {
    for (const r of releases) r();
    cgroup?.removeSync();
    throw err;
  }
  args.push(
    spec.workingDir || "/",
    spec.user ? `${spec.user.uid}:${spec.user.gid}:${(spec.user.groups ?? []).join(",")}` : "-",
    ...spec.command,
  );

  mkdirSync(dirname(spec.logFile), { recursive: true });
  const fd = openSync(spec.logFile, "a");
  const child = spawn(
    "/usr/bin/setpriv",
    [
      "--pdeathsig",
      "KILL",
      "--",
      ...(spec.coreLimit ? ["/usr/bin/prlimit", `--core=${spec.coreLimit}`, "--"] : []),
      "/usr/bin/unshare",
      "--mount",
      "--propagation",
      "private",
      "--",
      "/bin/bash",
      "-c",
      INIT_SCRIPT,
      "rig-container",
      ...args,
    ],
    { env: spec.env, cwd: "/", detached: true, stdio: ["ignore", fd, fd] },
  );
  closeSync(fd);
  const startedAt = new Date();
  const pid = child.pid;

  const killGroup = (sig: NodeJS.Signals): void => {
    if (sig === "SIGKILL") cgroup?.kill(); // everything the container started, wherever it went
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      /* the group is gone */
    }
  };
  let released = false;
  // When the main process ends, the container's other processes end too (as with a container's init).
  const cleanup = (sync: boolean): void => {
    if (released) return;
    released = true;
    killGroup("SIGKILL");
    for (const r of releases) r();
    unhook();
    if (sync) cgroup?.removeSync();
    else void cgroup?.remove();
  };
  const unhook = onExitSync(() => cleanup(true));

  let exitInfo: ContainerExit | undefined;
  const exited = new Promise<ContainerExit>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (exitInfo) return;
      const finishedAt = new Date();
      if (signal) {
        const n = SIGNAL_NUMBERS[signal] ?? 0;
        exitInfo = { exitCode: 128 + n, signal: n, signalName: signal, finishedAt };
      } else {
        exitInfo = { exitCode: code ?? 0, finishedAt };
      }
      cleanup(false);
      resolve(exitInfo);
    };
    child.on("exit", finish);
    child.on("error", (err) => {
      try {
        const efd = openSync(spec.logFile, "a");
        writeSync(efd, `rig: cannot start container: ${err.message}\n`);
        closeSync(efd);
      } catch {
        /* ignore */
      }
      finish(127, null);
    });
  });

  const handle: ContainerHandle = {
    pid: pid ?? -1,
    ...(cgroup ? { cgroupPath: cgroup.path } : {}),
    startedAt,
    exited,
    exit: () => exitInfo,
    kill: (signal: NodeJS.Signals = "SIGTERM") => {
      if (!exitInfo) killGroup(signal);
    },
    stop: async (graceMs: number) => {
      if (exitInfo) return exitInfo;
      killGroup("SIGTERM");
      const timer = setTimeout(() => killGroup("SIGKILL"), Math.max(0, graceMs));
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  return handle;
}
