// The settings file, reloaded without a restart. ConfigMap volumes update by swapping the `..data` symlink in the
// file's directory, so the directory is watched (and polled as a fallback). A bad change is logged as an error
// naming the key and the last good settings stay.
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { parseSettings, type Settings } from "../../src/settings.js";
import type { Logger } from "../log.js";
import { errorText } from "../../src/errortext.js";

export class SettingsSource {
  private current: Settings | undefined;
  private lastText: string | undefined;
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  /** Set while the file is bad or unreadable. */
  error: string | undefined;

  constructor(
    private readonly file: string | undefined,
    private readonly log: Logger,
    private readonly onChange: (s: Settings) => void = () => undefined,
    private readonly pollMs = 5000,
  ) {}

  /** Loads the file once. Returns the errors when there is nothing good to run with. */
  async load(): Promise<string[] | null> {
    const text =
      this.file === undefined ? "" : await readFile(this.file, "utf8").catch((e: Error) => e);
    if (text instanceof Error) return [`cannot read ${this.file}: ${text.message}`];
    const r = parseSettings(text, process.env);
    if (!r.ok) return r.errors;
    for (const w of r.warnings) this.log.warn(`settings warning: ${w}`);
    this.current = r.settings;
    this.lastText = text;
    return null;
  }

  get(): Settings {
    if (!this.current) throw new Error("settings not loaded");
    return this.current;
  }

  start(): void {
    if (this.file === undefined) return;
    try {
      this.watcher = watch(dirname(this.file), () => this.schedule());
      this.watcher.on("error", () => undefined);
    } catch {
      // the poll below still notices changes
    }
    this.poll = setInterval(() => void this.reload(), this.pollMs);
    this.poll.unref();
  }

  private schedule(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(), 200);
    this.debounce.unref();
  }

  async reload(): Promise<void> {
    if (this.file === undefined) return;
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (err) {
      if (this.error === undefined) {
        this.error = `cannot read ${this.file}: ${errorText(err)}`;
        this.log.error(`settings error: ${this.error}; keeping the last good settings`);
      }
      return;
    }
    if (text === this.lastText) return;
    this.lastText = text;
    const r = parseSettings(text, process.env);
    if (!r.ok) {
      this.error = r.errors.join("; ");
      this.log.error(
        `settings error in ${this.file}: ${this.error}; keeping the last good settings`,
      );
      this.onChange(this.get());
      return;
    }
    for (const w of r.warnings) this.log.warn(`settings warning: ${w}`);
    this.current = r.settings;
    this.error = undefined;
    this.log.info(`settings reloaded from ${this.file}`);
    this.onChange(r.settings);
  }

  stop(): void {
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.debounce);
  }
}
