/* eslint-disable no-control-regex -- values from the pod's side must lose their control characters */
// Notification texts: `{a.b}` placeholders filled from a core's report, pod-side values escaped.

import { signalName } from "./elf-core.js";

export interface MessageVars {
  pod: {
    namespace?: string;
    name?: string;
    uid?: string;
    node?: string;
    container?: string;
    image?: string;
  };
  host: { ip?: string };
  corefile: {
    path: string;
    filename: string;
    url?: string;
    size?: number;
    /** `<n> of <expected> bytes: <reason>` when the core is truncated, else empty. */
    truncated?: string;
  };
  /** signal: a number (11) or a name ("SIGSEGV"). */
  core: { signal?: number | string; executable?: string };
  /** From the crash report (src/crash-summary.ts), when there is one. */
  crash?: {
    /** The fault line: `SIGSEGV: address not mapped (SEGV_MAPERR) at 0x0 (NULL pointer)`. */
    fault?: string;
    /** The top frames as module+offset. */
    frames?: string[];
    /** The fingerprint's short id. */
    fingerprint?: string;
    /** `new`, `seen once before`, `seen 3 times before`; undefined when not known. */
    seen?: string;
  };
}

/**
 * How the text will be shown, which decides the escaping of values:
 * - `plain`: no markup, but mentions are still neutralised (WeCom/DingTalk/Feishu text messages).
 * - `markdown`: Markdown (WeCom/DingTalk markdown, Feishu post text): markup characters backslash-escaped.
 * - `slack`: Slack mrkdwn: `&`, `<`, `>` entity-escaped, formatting characters defused.
 */
export type EscapeKind = "plain" | "markdown" | "slack";

/** Longest value put into a message (file names are ≤ 255, paths are capped here). */
export const MAX_VALUE_LENGTH = 512;
export const MAX_URL_LENGTH = 4096;

const ZWSP = "\u200b";

/**
 * The default message: the first line is the guide's `[<namespace>/<pod>] core: <file>`; each
 * further line is dropped when all its placeholders are empty.
 */
export const DEFAULT_MESSAGE_TEMPLATE = [
  "[{pod.namespace}/{pod.name}] core: {corefile.filename}",
  "signal: {core.signal}",
  "executable: {core.executable}",
  "crash: {crash.fault}",
  "frames: {crash.frames}",
  "fingerprint: {crash.fingerprint}, {crash.seen}",
  "node: {pod.node}",
  "host: {host.ip}",
  "container: {pod.container}",
  "image: {pod.image}",
  "size: {corefile.size}",
  "truncated: {corefile.truncated}",
  "download: {corefile.url}",
].join("\n");

/** Every placeholder `renderMessage` knows. */
export const PLACEHOLDERS = [
  "pod.namespace",
  "pod.name",
  "pod.uid",
  "pod.node",
  "pod.container",
  "pod.image",
  "host.ip",
  "corefile.path",
  "corefile.filename",
  "corefile.url",
  "corefile.size",
  "corefile.bytes",
  "corefile.truncated",
  "core.signal",
  "core.executable",
  "crash.fault",
  "crash.frames",
  "crash.fingerprint",
  "crash.seen",
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const PLACEHOLDER = /\{([a-zA-Z]+\.[a-zA-Z]+)\}/g;

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return String(n);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

function signalText(signal: number | string | undefined): string {
  if (signal === undefined || signal === "") return "";
  if (typeof signal === "number") {
    const name = signalName(signal);
    return name ? `${name} (${signal})` : String(signal);
  }
  return signal;
}

function rawValue(vars: MessageVars, key: Placeholder): string {
  switch (key) {
    case "pod.namespace":
      return vars.pod.namespace ?? "";
    case "pod.name":
      return vars.pod.name ?? "";
    case "pod.uid":
      return vars.pod.uid ?? "";
    case "pod.node":
      return vars.pod.node ?? "";
    case "pod.container":
      return vars.pod.container ?? "";
    case "pod.image":
      return vars.pod.image ?? "";
    case "host.ip":
      return vars.host.ip ?? "";
    case "corefile.path":
      return vars.corefile.path;
    case "corefile.filename":
      return vars.corefile.filename;
    case "corefile.url":
      return vars.corefile.url ?? "";
    case "corefile.size":
      return vars.corefile.size === undefined ? "" : formatBytes(vars.corefile.size);
    case "corefile.bytes":
      return vars.corefile.size === undefined ? "" : String(vars.corefile.size);
    case "corefile.truncated":
      return vars.corefile.truncated ?? "";
    case "core.signal":
      return signalText(vars.core.signal);
    case "core.executable":
      return vars.core.executable ?? "";
    case "crash.fault":
      return vars.crash?.fault ?? "";
    case "crash.frames":
      return (vars.crash?.frames ?? []).map((f, i) => `#${i} ${f}`).join(", ");
    case "crash.fingerprint":
      return vars.crash?.fingerprint ?? "";
    case "crash.seen":
      return vars.crash?.fingerprint ? (vars.crash.seen ?? "seen count unknown") : "";
  }
}

function isPlaceholder(key: string): key is Placeholder {
  return (PLACEHOLDERS as readonly string[]).includes(key);
}

/** Values we produce ourselves (numbers, sizes) need no escaping beyond the generic pass. */
function value(vars: MessageVars, key: Placeholder, kind: EscapeKind): string {
  const raw = rawValue(vars, key);
  if (raw === "") return "";
  if (key === "corefile.url") return escapeUrl(kind, raw);
  return escapeFor(kind, raw);
}

function fill(line: string, vars: MessageVars, kind: EscapeKind): { text: string; empty: boolean } {
  let known = 0;
  let filled = 0;
  const text = line.replace(PLACEHOLDER, (whole, key: string) => {
    if (!isPlaceholder(key)) return whole;
    known++;
    const v = value(vars, key, kind);
    if (v !== "") filled++;
    return v;
  });
  return { text, empty: known > 0 && filled === 0 };
}

/**
 * Fills `template` (the operator's `messageTemplate`, trusted: its own markup is kept) with `vars`.
 * Values are escaped for `kind`. Unknown placeholders (`{pod.nmae}`) are left as written so that a
 * typo shows in the message; known placeholders without a value become empty. Without a template,
 * DEFAULT_MESSAGE_TEMPLATE is used and its lines without any value are dropped.
 */
export function renderMessage(
  template: string | undefined,
  vars: MessageVars,
  kind: EscapeKind = "plain",
): string {
  if (template !== undefined && template.trim() !== "") {
    return template
      .replace(/\r\n/g, "\n")
      .split("\n")
      .map((l) => fill(l, vars, kind).text)
      .join("\n")
      .trimEnd();
  }
  const lines = DEFAULT_MESSAGE_TEMPLATE.split("\n");
  const out = [fill(lines[0] ?? "", vars, kind).text];
  for (const line of lines.slice(1)) {
    const r = fill(line, vars, kind);
    if (!r.empty) out.push(r.text);
  }
  return out.join("\n");
}

function cap(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length <= max ? s : chars.slice(0, max - 1).join("") + "…";
}

/**
 * Makes a value from the pod's side (file name, executable, image, ...) inert in a `kind` message:
 * no control characters or bidi overrides, no line breaks, no @mentions (`@all`, `@here`, DingTalk
 * `@<mobile>`), no Feishu `<at>` tags, no Slack `<!channel>`/`<@U..>`/links, no Markdown links or
 * emphasis, and at most `max` characters.
 */
export function escapeFor(kind: EscapeKind, s: string, max = MAX_VALUE_LENGTH): string {
  let out = cap(s, max)
    .replace(/[\r\n\t]+/g, " ")
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, "\ufffd")
    // bidi controls and invisible formatting that could disguise the rest of the message
    .replace(/[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g, "");
  switch (kind) {
    case "slack":
      out = out
        .replace(/&/g, "&amp;")
        .replace(/</g, "&lt;")
        .replace(/>/g, "&gt;")
        .replace(/([*_~`|])/g, `$1${ZWSP}`);
      break;
    case "markdown":
      out = out
        .replace(/&/g, "&amp;")
        .replace(/</g, "&lt;")
        .replace(/>/g, "&gt;")
        .replace(/([\\`*_[\]()~|])/g, "\\$1")
        // block markup only counts at the start of a line, where a value may be placed
        .replace(/^([#+\-=])/, "\\$1")
        .replace(/^(\d+)\./, "$1\\.");
      break;
    case "plain":
      // Feishu text messages turn `<at user_id="all"></at>` into a mention.
      out = out.replace(/</g, `<${ZWSP}`);
      break;
  }
  // `@all`, `@here`, `@channel`, `@13800000000`: break every mention with a zero-width space.
  return out.replace(/[@＠]/g, (m) => `${m}${ZWSP}`);
}

const SAFE_URL = /^https?:\/\/[A-Za-z0-9\-._~%!$&'*+,;=:@/?#]+$/;

/** Our own presigned URLs pass unchanged (links must keep working); anything odd is escaped. */
export function escapeUrl(kind: EscapeKind, url: string): string {
  if (url.length > MAX_URL_LENGTH || !SAFE_URL.test(url) || /[@*]/.test(url)) {
    return escapeFor(kind, url, MAX_URL_LENGTH);
  }
  return kind === "slack" ? url.replace(/&/g, "&amp;") : url;
}
