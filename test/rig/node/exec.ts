// `kubectl exec` on the node, like a container runtime's exec: the command runs inside the container's mount
// namespace (nsenter), with the container's env, working dir, user, cgroup and default RLIMIT_CORE, on pipes or
// on a pty (tty=true). The streams go over a WebSocket in Kubernetes' channel protocol (v5.channel.k8s.io,
// v4.channel.k8s.io): each binary message is one channel byte and data; 0 stdin, 1 stdout, 2 stderr,
// 3 error (a metav1.Status, the last message), 4 resize ({"Width","Height"}); v5 adds 255 = close(channel).
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants as fsConstants, statSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { posix } from "node:path";
import type { Writable } from "node:stream";
import type { WebSocket } from "ws";

export const EXEC_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;

/** What the node knows about a running container to exec in it. */
export interface ExecTarget {
  /** Host PID of the container's process. */
  pid: number;
  env: Record<string, string>;
  workingDir?: string;
  /** The container's uid, gid and supplementary groups (fsGroup, supplementalGroups, the image's). */
  user?: { uid: number; gid: number; groups?: number[] };
  /** cgroup v2 dir of the container (exec'd processes join it, as with a runtime). */
  cgroupPath?: string;
  /** RLIMIT_CORE for the container's processes, in prlimit syntax ("unlimited", "0", "soft:hard"). */
  coreLimit?: string;
}

export interface ExecOptions {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

// A pty for tty=true: runs argv on a new pty (session leader, controlling tty), copies fd 0 -> master ->
// fd 1, reads resize requests as JSON lines on fd 3, and exits with the command's exit code (128+signal).
const PTY_HELPER = `
import os, sys, pty, select, fcntl, termios, struct, json
argv = sys.argv[1:]
pid, master = pty.fork()
if pid == 0:
    try:
        os.execv(argv[0], argv)
    except OSError as e:
        os.write(2, ("rig: cannot run %s: %s\\r\\n" % (argv[0], e.strerror)).encode())
        os._exit(127)
def write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]
fds = [master, 0, 3]
pending = b""
while True:
    r, _, _ = select.select(fds, [], [])
    if master in r:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if not data:
            break
        write_all(1, data)
    if 0 in r:
        data = os.read(0, 65536)
        if data:
            write_all(master, data)
        else:
            fds.remove(0)
    if 3 in r:
        data = os.read(3, 4096)
        if not data:
            fds.remove(3)
        pending += data
        while b"\\n" in pending:
            line, pending = pending.split(b"\\n", 1)
            try:
                size = json.loads(line)
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", int(size.get("Height", 0)), int(size.get("Width", 0)), 0, 0))
            except Exception:
                pass
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
`;

/** Finds argv0 as the container sees it (through /proc/<pid>/root, i.e. in its mount namespace). */
function resolveInContainer(pid: number, argv0: string, env: Record<string, string>, wd: string) {
  const root = `/proc/${pid}/root`;
  const executable = (p: string): boolean => {
    try {
      accessSync(root + p, fsConstants.X_OK);
      return statSync(root + p).isFile();
    } catch {
      return false;
    }
  };
  if (argv0.includes("/")) return executable(posix.resolve(wd, argv0));
  return (env.PATH ?? "").split(":").some((dir) => dir && executable(posix.join(dir, argv0)));
}

function status(body: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify({ metadata: {}, ...body }));
}

/** The metav1.Status the kubelet sends on the error channel when the command ended. */
export function exitStatus(command: string[], code: number): Buffer {
  if (code === 0) return status({ status: "Success" });
  return status({
    status: "Failure",
    message: `command terminated with non-zero exit code: error executing command [${command.join(" ")}], exit code ${code}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(code) }] },
  });
}

function internalError(message: string): Buffer {
  return status({
    status: "Failure",
    message: `Internal error occurred: ${message}`,
    reason: "InternalError",
    details: { causes: [{ message }] },
    code: 500,
  });
}

/**
 * The container's own setpriv (as the runner starts its process) sets the user with its supplementary groups,
 * which nsenter's --setuid/--setgid would clear. A uid change clears PR_SET_PDEATHSIG: set it again.
 */
function asUser(user: { uid: number; gid: number; groups?: number[] }): string[] {
  const groups = user.groups?.length ? ["--groups", user.groups.join(",")] : ["--clear-groups"];
  return [
    "/usr/bin/setpriv",
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    ...groups,
    "--pdeathsig",
    "KILL",
    "--",
  ];
}

/** Builds the argv that runs `command` like a runtime's exec in the container of `target`. */
export function execArgv(target: ExecTarget, opts: ExecOptions): string[] {
  const wd = target.workingDir || "/";
  const enter = [
    "/usr/bin/nsenter",
    "--target",
    String(target.pid),
    "--mount",
    // The container's root too (an image's own filesystem, or the host's `/`).
    "--root",
    `--wdns=${wd}`,
    "--",
    ...(target.user ? asUser(target.user) : []),
    ...opts.command,
  ];
  const inner = opts.tty ? ["/usr/bin/python3", "-c", PTY_HELPER, ...enter] : enter;
  const limited = target.coreLimit
    ? ["/usr/bin/prlimit", `--core=${target.coreLimit}`, "--", ...inner]
    : inner;
  // Join the container's cgroup first (so the container's end ends it too), then die with the node.
  const joinCgroup = `if [ "$1" != - ]; then echo $$ > "$1/cgroup.procs" || exit 126; fi; shift; exec "$@"`;
  return [
    "/usr/bin/setpriv",
    "--pdeathsig",
    "KILL",
    "--",
    "/bin/bash",
    "-c",
    joinCgroup,
    "rig-exec",
    target.cgroupPath ?? "-",
    ...limited,
  ];
}

/** Runs one exec session over an accepted WebSocket; resolves when it is over. */
export function runExecSession(
  ws: WebSocket,
  target: ExecTarget,
  opts: ExecOptions,
): Promise<void> {
  const v5 = ws.protocol === "v5.channel.k8s.io";
  const send = (channel: number, data: Buffer): void => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(Buffer.concat([Buffer.from([channel]), data]), { binary: true });
  };
  const finish = (errorStatus: Buffer): void => {
    send(ERROR, errorStatus);
    if (ws.readyState === ws.OPEN) ws.close(1000);
  };

  const wd = target.workingDir || "/";
  const argv0 = opts.command[0];
  if (!argv0) {
    finish(internalError("error executing command in container: command is required"));
    return Promise.resolve();
  }
  if (!resolveInContainer(target.pid, argv0, target.env, wd)) {
    const where = argv0.includes("/")
      ? "no such file or directory"
      : "executable file not found in $PATH";
    finish(
      internalError(
        `error executing command in container: failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: exec: "${argv0}": ${where}: unknown`,
      ),
    );
    return Promise.resolve();
  }

  const env = { ...target.env };
  if (opts.tty && !env.TERM) env.TERM = "xterm";
  const argv = execArgv(target, opts);
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
    env,
    cwd: "/",
    detached: true,
    stdio: [
      opts.stdin ? "pipe" : "ignore",
      opts.stdout ? "pipe" : "ignore",
      opts.stderr && !opts.tty ? "pipe" : "ignore",
      opts.tty ? "pipe" : "ignore",
    ],
  });
  const resizeIn = opts.tty ? (child.stdio[3] as Writable | null) : null;
  resizeIn?.on("error", () => undefined);
  child.stdin?.on("error", () => undefined);
  child.stdout?.on("data", (d: Buffer) => send(STDOUT, d));
  child.stderr?.on("data", (d: Buffer) => send(STDERR, d));

  const killTree = (): void => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  };

  ws.on("message", (raw: Buffer, isBinary: boolean) => {
    const data = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as ArrayBuffer);
    if (!isBinary || data.length === 0) return;
    const channel = data[0]!;
    const payload = data.subarray(1);
    if (channel === STDIN) {
      if (payload.length) child.stdin?.write(payload);
    } else if (channel === RESIZE) {
      resizeIn?.write(`${payload.toString("utf8").replace(/\n/g, " ")}\n`);
    } else if (v5 && channel === CLOSE && payload[0] === STDIN) {
      child.stdin?.end();
    }
  });
  // The client went away: end the command (for a pty the hangup reaches its session).
  ws.on("close", killTree);
  ws.on("error", killTree);

  return new Promise((resolve) => {
    let done = false;
    const end = (code: number): void => {
      if (done) return;
      done = true;
      finish(exitStatus(opts.command, code));
      resolve();
    };
    child.on("error", (err) => {
      if (done) return;
      done = true;
      finish(internalError(`error executing command in container: ${err.message}`));
      resolve();
    });
    child.on("exit", (code, signal) => {
      const n = code ?? 128 + (signal ? osSignal(signal) : 0);
      // Output is flushed by 'close'; a background process holding the pipes must not hold the session.
      const t = setTimeout(() => end(n), 2000);
      child.on("close", () => {
        clearTimeout(t);
        end(n);
      });
    });
  });
}

function osSignal(name: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[name] ?? 0;
}
