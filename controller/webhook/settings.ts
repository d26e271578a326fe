// The settings file (ConfigMap `coredog`, config.yaml): loaded at start, reloaded when it changes.
// A bad file never replaces good settings: the error names the key, the last good ones stay.
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { parseSettings, type Settings } from "../../src/settings.js";
import { watchFiles } from "../filewatch.js";
import type { Logger } from "../log.js";

export interface SettingsWatcher {
  current(): Settings | undefined;
  check(): Promise<void>;
  stop(): void;
}

export function watchSettings(opts: {
  file: string;
  log: Logger;
  onChange?: (s: Settings) => void;
  intervalMs?: number;
  debounceMs?: number;
}): SettingsWatcher {
  const { file, log } = opts;
  let settings: Settings | undefined;
  let lastText: string | undefined;

  async function once(): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (lastText !== `\0error:${e.code}`) {
        lastText = `\0error:${e.code}`;
        log.error(
          { file, error: e.message },
          settings
            ? `error reading settings ${file}: ${e.message}; keeping the last good settings`
            : `error reading settings ${file}: ${e.message}; running without alert channels until it is fixed`,
        );
      }
      return;
    }
    if (text === lastText) return;
    lastText = text;
    const result = parseSettings(text, process.env);
    if (!result.ok) {
      log.error(
        { file, errors: result.errors },
        `error in settings ${file}: ${result.errors.join("; ")}; ${settings ? "keeping the last good settings" : "running without alert channels until it is fixed"}`,
      );
      return;
    }
    // Warnings are about other parts (storage is the watcher's); not the webhook's business.
    for (const w of result.warnings) log.debug({ file }, `settings ${file}: ${w}`);
    const first = settings === undefined;
    settings = result.settings;
    log.info(
      {
        file,
        noticeChannels: settings.noticeChannels.length,
        alertOnError: settings.webhook.alertOnError,
      },
      first ? "loaded settings" : "reloaded settings",
    );
    opts.onChange?.(settings);
  }

  // The directory: a ConfigMap volume replaces its `..data` symlink, the file name stays.
  const files = watchFiles({
    dirs: [dirname(file)],
    onCheck: once,
    log,
    what: "settings directory",
    intervalMs: opts.intervalMs,
    debounceMs: opts.debounceMs,
  });
  return { current: () => settings, check: files.check, stop: files.stop };
}
