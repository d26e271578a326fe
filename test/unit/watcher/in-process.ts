// The watcher started in this process (startWatcher) with a recording Reporter and a captured log.
import { writeFileSync } from "node:fs";
import { createLogger } from "../../../controller/log.js";
import { parseWatcherArgs } from "../../../controller/watcher/args.js";
import {
  startWatcher,
  type RunningWatcher,
  type WatcherDeps,
} from "../../../controller/watcher/main.js";
import type { LimitEventKind } from "../../../controller/watcher/events.js";
import type { CoreReport, Reporter } from "../../../controller/watcher/types.js";
import type { Layout } from "./harness.js";

export class TestReporter implements Reporter {
  readonly captures: CoreReport[] = [];
  readonly uploads: CoreReport[] = [];
  readonly failures: { report: CoreReport; error: Error }[] = [];
  readonly alerts: string[] = [];
  readonly limits: {
    report: CoreReport;
    kind: LimitEventKind;
    message: string;
    notice: boolean;
  }[] = [];
  captured(r: CoreReport) {
    this.captures.push(r);
  }
  uploaded(r: CoreReport) {
    this.uploads.push(r);
  }
  failed(report: CoreReport, error: Error) {
    this.failures.push({ report, error });
  }
  alert(m: string) {
    this.alerts.push(m);
  }
  limited(report: CoreReport, kind: LimitEventKind, message: string, notice: boolean) {
    this.limits.push({ report, kind, message, notice });
  }
  async stop() {}
}

export interface InProcess {
  w: RunningWatcher;
  lines: string[];
  reporter: TestReporter;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  count(re: RegExp): number;
}

export async function startInProcess(
  layout: Layout,
  yaml: string,
  deps: WatcherDeps = {},
  reporter = new TestReporter(),
): Promise<InProcess> {
  writeFileSync(layout.config, yaml);
  const parsed = parseWatcherArgs(
    [
      "--dir",
      layout.dir,
      "--node-name",
      "node-1",
      "--config",
      layout.config,
      "--listen",
      "127.0.0.1:0",
      "--journal",
      layout.journal,
    ],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.error);
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l.trimEnd()) });
  const w = await startWatcher(parsed.options, {
    log,
    reporter,
    kc: null,
    settingsPollMs: 300,
    ...deps,
  });
  return {
    w,
    lines,
    reporter,
    count: (re) => lines.filter((l) => re.test(l)).length,
    async waitFor(re, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines.find((l) => re.test(l));
        if (hit) return hit;
        if (Date.now() > end)
          throw new Error(`timed out waiting for ${re}; log:\n${lines.slice(-25).join("\n")}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}
