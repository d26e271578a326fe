// Re-reads mounted files when they change: a watch on their directories (a Secret or ConfigMap volume
// swaps its `..data` symlink, so the file itself is never "modified"), debounced, plus a periodic check
// for what the events miss. Triggers that arrive while a check runs coalesce into one more run.
import { watch, type FSWatcher } from "node:fs";
import type { Logger } from "./log.js";
import { errorText } from "../src/error-text.js";

export interface FileWatch {
  /** Runs the check now (also on file events and every intervalMs). */
  check(): Promise<void>;
  stop(): void;
}

export function watchFiles(opts: {
  dirs: string[];
  /** Reads the files and acts on a change; must not throw. */
  onCheck: () => Promise<void>;
  log: Logger;
  /** What is watched, for the log: "certificate directory", "settings directory". */
  what: string;
  intervalMs?: number;
  debounceMs?: number;
}): FileWatch {
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let debounce: NodeJS.Timeout | undefined;

  function check(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await opts.onCheck();
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  const onEvent = () => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => void check(), opts.debounceMs ?? 100);
    debounce.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(opts.dirs)) {
    try {
      const w = watch(dir, { persistent: false }, onEvent);
      w.on("error", (err) =>
        opts.log.warn(
          { dir, error: err.message },
          `${opts.what} watch failed; relying on the periodic check`,
        ),
      );
      watchers.push(w);
    } catch (err) {
      opts.log.warn(
        { dir, error: errorText(err) },
        `cannot watch the ${opts.what}; relying on the periodic check`,
      );
    }
  }
  const timer = setInterval(() => void check(), opts.intervalMs ?? 10_000);
  timer.unref();

  return {
    check,
    stop() {
      stopped = true;
      clearInterval(timer);
      if (debounce) clearTimeout(debounce);
      for (const w of watchers) w.close();
    },
  };
}
