/* eslint-disable no-control-regex -- control characters are escaped and refused on purpose */
// Path safety for the annotated mount path (`coredog.io/path`).

/** Top-level directories a core-dump mount must never cover, nor anything below them. `/lib*` is handled apart. */
const SYSTEM_DIRS = new Set([
  "etc",
  "usr",
  "bin",
  "sbin",
  "var",
  "root",
  "home",
  "boot",
  "proc",
  "sys",
  "dev",
  "run",
]);

/** Linux NAME_MAX: a longer component cannot be created, so the container would fail to start. */
const NAME_MAX_BYTES = 255;

const encoder = new TextEncoder();

/** A UTF-16 unit is at most 3 UTF-8 bytes, so only long components need encoding (hot path). */
function overNameMax(segment: string): boolean {
  return segment.length * 3 > NAME_MAX_BYTES && encoder.encode(segment).length > NAME_MAX_BYTES;
}

/** `/a/b`: no empty, `.` or `..` component, no trailing slash; normalizes to itself (hot path). */
const ALREADY_NORMAL = /^(?:\/(?!\.\.?(?:\/|$))[^/]+)+$/;

/**
 * The absolute path with `.`, `..` and repeated or trailing slashes resolved lexically
 * (`..` at the root stays at the root, as the kernel does). Null for relative or empty paths.
 */
export function normalizeContainerPath(p: string): string | null {
  if (typeof p !== "string" || !p.startsWith("/")) return null;
  if (ALREADY_NORMAL.test(p)) return p;
  const parts: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}

/** The path for a log line: control characters escaped so a reason stays one readable line. */
export function showPath(p: string): string {
  return p.replace(
    /[\u0000-\u001f\u007f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function notAllowed(p: string, why: string): string {
  return `path=${showPath(p)} is not allowed (${why})`;
}

/**
 * Why `p` must not be used as the mount path, or null when it is safe. Every reason contains
 * `path=<p> is not allowed` with `p` as given; when `p` normalises to something else the
 * reason also says what it resolves to.
 */
export function unsafePathReason(p: string): string | null {
  if (typeof p !== "string" || p === "") return notAllowed("", "must be an absolute path");
  if (/[\u0000-\u001f\u007f]/.test(p)) return notAllowed(p, "contains a control character");
  // ":" separates host path, container path and options in Docker-style bind specs
  // (`-v host:container:ro`), so runtimes that build such specs would misread the mount.
  if (p.includes(":")) return notAllowed(p, 'contains ":"');
  const normal = normalizeContainerPath(p);
  if (normal === null) return notAllowed(p, "must be an absolute path");
  const resolves = normal === p ? "" : `resolves to ${normal}, `;
  if (normal === "/") return notAllowed(p, `${resolves}the root directory`);
  const segments = normal.slice(1).split("/");
  const top = segments[0] ?? "";
  if (SYSTEM_DIRS.has(top) || top.startsWith("lib")) {
    const where = segments.length === 1 ? "system directory" : "under system directory";
    return notAllowed(p, `${resolves}${where} /${top}`);
  }
  if (segments.some(overNameMax)) {
    return notAllowed(p, `${resolves}a path component is longer than ${NAME_MAX_BYTES} bytes`);
  }
  return null;
}
