// The one settings file reloader of both programs, on a real file: the first read, a bad change that keeps the
// last good settings, a file that goes away and comes back unchanged.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { createLogger } from "../../../controller/log.js";
import { settingsFile, type SettingsEvent } from "../../../controller/settings-file.js";
import type { Settings } from "../../../src/settings.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "coredog-settingsfile-"));
  dirs.push(dir);
  const file = join(dir, "config.yaml");
  const events: SettingsEvent["kind"][] = [];
  const changes: Settings[] = [];
  const s = settingsFile({
    file,
    report: (e) => events.push(e.kind),
    onChange: (x) => changes.push(x),
    log: createLogger({ write: () => undefined }),
  });
  return { file, events, changes, s };
}

const uploads = (n: number | string) => `Watcher:\n  maxParallelUploads: ${n}\n`;

it("load() returns the errors when there is nothing good to run with; current() is undefined", async () => {
  const { file, events, s } = setup();
  expect(await s.load()).toEqual([expect.stringMatching(/^cannot read .*config\.yaml: /)]);
  expect(s.current()).toBeUndefined();
  writeFileSync(file, uploads("lots"));
  await s.check();
  expect(s.current()).toBeUndefined();
  expect(s.error).toMatch(/Watcher\.maxParallelUploads/);
  expect(events).toEqual(["unreadable", "invalid"]);
});

it("a bad change keeps the last good settings and sets error; a good one clears it", async () => {
  const { file, events, changes, s } = setup();
  writeFileSync(file, uploads(3));
  expect(await s.load()).toBeNull();
  expect(s.current()?.watcher.maxParallelUploads).toBe(3);
  expect(s.error).toBeUndefined();
  expect(changes).toEqual([]); // the first read is not a change

  writeFileSync(file, uploads("lots"));
  await s.check();
  expect(s.current()?.watcher.maxParallelUploads).toBe(3);
  expect(s.error).toMatch(/Watcher\.maxParallelUploads/);
  await s.check(); // same text: nothing new
  expect(events).toEqual(["loaded", "invalid"]);

  writeFileSync(file, uploads(5));
  await s.check();
  expect(s.current()?.watcher.maxParallelUploads).toBe(5);
  expect(s.error).toBeUndefined();
  expect(changes.map((c) => c.watcher.maxParallelUploads)).toEqual([3, 5]);
});

it("a file that goes away and comes back with the same text clears the error", async () => {
  const { file, events, s } = setup();
  writeFileSync(file, uploads(3));
  await s.load();
  rmSync(file);
  await s.check();
  await s.check();
  expect(s.error).toMatch(/^cannot read /);
  writeFileSync(file, uploads(3));
  await s.check();
  expect(s.error).toBeUndefined();
  expect(events).toEqual(["loaded", "unreadable", "loaded"]);
});

it("start() reloads on the directory's events", async () => {
  const { file, s } = setup();
  writeFileSync(file, uploads(3));
  await s.load();
  s.start();
  try {
    writeFileSync(file, uploads(7));
    await expect.poll(() => s.current()?.watcher.maxParallelUploads, { timeout: 5000 }).toBe(7);
  } finally {
    s.stop();
  }
});
