// Core file names (`core.%e.%p.%h.%t`) and the `<namespace>/<pod>/<container>/<file>` layout of the node directory.

export interface CoreFileName {
  /** `%e`: the kernel's comm (at most 15 bytes; `/` replaced by `!`). May contain dots. */
  executable?: string;
  /** `%p`: the pid as seen in the crashing process's pid namespace. */
  pid?: number;
  /** `%h`: the UTS hostname (in a pod: the pod's hostname). May contain dots. */
  host?: string;
  /** `%t`: seconds since the epoch. */
  time?: Date;
}

const DIGITS = /^\d+$/;
/** Linux pid_max is at most 2^22. */
const PID_MAX = 4_194_304;
/** `%t` of any real crash has at least 9 digits (after 1973-03). Shorter numbers are pids. */
const MIN_TIME_DIGITS = 9;

function isPid(s: string | undefined): s is string {
  return s !== undefined && DIGITS.test(s) && s.length <= 7 && Number(s) <= PID_MAX;
}

function isIPv4(parts: string[]): boolean {
  return (
    parts.length === 4 && parts.every((p) => DIGITS.test(p) && p.length <= 3 && Number(p) < 256)
  );
}

/** A name the kernel can have written for a core: `core` or `core.<anything>` (one path segment). */
export function isCoreFileName(name: string): boolean {
  if (name.length === 0 || name.length > 255) return false;
  if (name.includes("/") || name.includes("\0")) return false;
  return name === "core" || (name.startsWith("core.") && name.length > 5);
}

/**
 * Splits a core file name into its parts. Understood shapes:
 * - `core` → {}
 * - `core.<pid>` (core_uses_pid) → { pid }
 * - `core.<exe>` → { executable }
 * - `core.<exe>.<pid>` → { executable, pid }
 * - `core.<exe>.<pid>.<host>.<time>` (the recommended pattern) → all four.
 *
 * Executables and hosts may both contain dots, so the full shape is read from the right: the last
 * segment is the time, then the pid is the rightmost all-digit segment that leaves a non-numeric
 * host after it (so `python3.11` and `ip-10-0-0-1.ec2.internal` both come out right). A host made of
 * digits only is accepted when it is an IPv4 address. When `hints.host` (the pod's hostname) is
 * given and the name ends in `.<host>.<time>`, that split is used. Remaining ambiguity: an
 * executable whose name ends in `.<digits>` combined with an all-numeric non-IPv4 hostname.
 */
export function parseCoreFileName(name: string, hints: { host?: string } = {}): CoreFileName {
  if (!isCoreFileName(name) || name === "core") return {};
  const parts = name.slice(5).split(".");
  const last = parts[parts.length - 1];

  if (parts.length === 1) {
    return isPid(last) ? { pid: Number(last) } : { executable: last };
  }

  const timeLike = last !== undefined && DIGITS.test(last) && last.length >= MIN_TIME_DIGITS;
  if (parts.length >= 4 && timeLike) {
    const time = new Date(Number(last) * 1000);
    const rest = parts.slice(0, -1); // exe..., pid, host...
    const split = pidIndex(rest, hints.host);
    if (split !== undefined) {
      return {
        executable: rest.slice(0, split).join("."),
        pid: Number(rest[split]),
        host: rest.slice(split + 1).join("."),
        time,
      };
    }
  }

  if (isPid(last)) {
    return { executable: parts.slice(0, -1).join("."), pid: Number(last) };
  }
  return { executable: parts.join(".") };
}

/** Index of the pid in `exe... pid host...`, or undefined if there is no sensible split. */
function pidIndex(rest: string[], hintHost: string | undefined): number | undefined {
  const candidates: number[] = [];
  for (let i = rest.length - 2; i >= 1; i--) if (isPid(rest[i])) candidates.push(i);
  if (candidates.length === 0) return undefined;
  if (hintHost) {
    for (const i of candidates) if (rest.slice(i + 1).join(".") === hintHost) return i;
  }
  for (const i of candidates) {
    if (!rest.slice(i + 1).every((p) => DIGITS.test(p))) return i;
  }
  const ipAt = rest.length - 5;
  if (candidates.includes(ipAt) && isIPv4(rest.slice(ipAt + 1))) return ipAt;
  return candidates[0];
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

export function isDns1123Subdomain(s: string): boolean {
  return s.length <= 253 && s.split(".").every((l) => l.length <= 63 && DNS1123_LABEL.test(l));
}

export interface DumpPath {
  namespace: string;
  pod: string;
  /** The container whose directory holds the file; absent for a file directly in the pod's directory. */
  container?: string;
  file: string;
}

/**
 * The pod (and container) a file belongs to, from its path relative to the dumps root: exactly
 * `<namespace>/<pod>/<container>/<file>` (each injected container has its own directory), or
 * `<namespace>/<pod>/<file>` (a pod admitted before that, whose containers share the pod's
 * directory). The namespace and container are DNS-1123 labels, the pod name a DNS-1123 subdomain.
 * Anything else (absolute, `.`/`..`, empty, missing or extra segments, backslashes) gives null.
 */
export function podFromDumpPath(relPath: string): DumpPath | null {
  if (relPath.includes("\\") || relPath.includes("\0")) return null;
  const parts = relPath.split("/");
  if (parts.length !== 3 && parts.length !== 4) return null;
  const [namespace, pod] = parts as [string, string];
  const file = parts[parts.length - 1]!;
  const container = parts.length === 4 ? parts[2]! : undefined;
  if (!isDns1123Label(namespace) || !isDns1123Subdomain(pod)) return null;
  if (container !== undefined && !isDns1123Label(container)) return null;
  if (file === "" || file === "." || file === ".." || file.length > 255) return null;
  return container === undefined ? { namespace, pod, file } : { namespace, pod, container, file };
}
