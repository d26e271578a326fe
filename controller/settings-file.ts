// The settings file (config.yaml of the ConfigMap `coredog`), for both programs: read once with `load()`, then
// reloaded after `start()` when it changes (watchFiles: a ConfigMap volume swaps its `..data` symlink, so the
// file's directory is watched, and checked periodically). A bad or unreadable file never replaces good settings:
// `error` says what is wrong and `current()` stays the last good settings.
// What happens is reported as events, not logged here: each program words its own lines (the operator's guide
// greps both programs' wordings).
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { errorText } from "../src/error-text.js";
import { parseSettings, type Settings } from "../src/settings.js";
import { watchFiles, type FileWatch } from "./file-watch.js";
import type { Logger } from "./log.js";

/** `kept`: good settings from before stay in force (false on a first read that fails). */
export type SettingsEvent =
  | { kind: "loaded"; settings: Settings; first: boolean; warnings: string[] }
  | { kind: "unreadable"; message: string; kept: boolean }
  | { kind: "invalid"; errors: string[]; kept: boolean };

export interface SettingsFile {
  /** The first read: the errors when there are no good settings to run with, else null. */
  load(): Promise<string[] | null>;
  /** Reloads from now on, on the directory's events and every intervalMs. */
  start(): void;
  /** Reads the file now; nothing happens when its text is the same. */
  check(): Promise<void>;
  /** The last good settings; undefined until a good read. */
  current(): Settings | undefined;
  /** What is wrong with the file now (unreadable or invalid); undefined while it is good. */
  readonly error: string | undefined;
  stop(): void;
}

export function settingsFile(opts: {
  /** undefined: no file, the defaults and the environment only; nothing to watch. */
  file: string | undefined;
  report: (event: SettingsEvent) => void;
  /** After a reload (not the first read) that changed the settings or the error, while settings are in force. */
  onChange?: (settings: Settings) => void;
  /** For the watch's own warnings. */
  log: Logger;
  intervalMs?: number;
  debounceMs?: number;
}): SettingsFile {
  const { file, report } = opts;
  let settings: Settings | undefined;
  let problems: string[] = [];
  let lastText: string | undefined;
  let watch: FileWatch | undefined;
  let stopped = false;

  /** Reads the file; true when the settings or the problem changed. */
  async function read(): Promise<boolean> {
    let text = "";
    if (file !== undefined) {
      try {
        text = await readFile(file, "utf8");
      } catch (err) {
        const message = errorText(err);
        const problem = `cannot read ${file}: ${message}`;
        lastText = undefined; // when the file is back, it is read in full even if its text is the same
        if (problems.length === 1 && problems[0] === problem) return false;
        problems = [problem];
        report({ kind: "unreadable", message, kept: settings !== undefined });
        return true;
      }
    }
    if (text === lastText) return false;
    lastText = text;
    const result = parseSettings(text, process.env);
    if (!result.ok) {
      problems = result.errors;
      report({ kind: "invalid", errors: result.errors, kept: settings !== undefined });
      return true;
    }
    const first = settings === undefined;
    settings = result.settings;
    problems = [];
    report({ kind: "loaded", settings, first, warnings: result.warnings });
    return true;
  }

  async function reload(): Promise<void> {
    if ((await read()) && settings) opts.onChange?.(settings);
  }

  return {
    async load() {
      await read();
      return settings ? null : problems;
    },
    start() {
      if (file === undefined || watch || stopped) return;
      watch = watchFiles({
        dirs: [dirname(file)],
        onCheck: reload,
        log: opts.log,
        what: "settings directory",
        intervalMs: opts.intervalMs,
        debounceMs: opts.debounceMs,
      });
    },
    check: () => (watch ? watch.check() : reload()),
    current: () => settings,
    get error() {
      return problems.length > 0 ? problems.join("; ") : undefined;
    },
    stop() {
      stopped = true;
      watch?.stop();
    },
  };
}
