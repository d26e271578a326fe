import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  rmSync,
  utimesSync,
  writeFileSync,
  existsSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { findArgs, parseListing } from "../../../plugin/lib/purge.js";
import { parseDuration } from "../../../src/duration.js";

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the purge pod's find(1) for real, on a temp dir standing in for the pod's /dumps mount. */
function runFind(olderThan: number | undefined, remove: boolean, notNewerThan?: Date): string {
  const args = findArgs(olderThan, remove, notNewerThan).map((a) => a.replace(/^\/dumps/, dir));
  return execFileSync("find", args, { encoding: "utf8" });
}

function layout() {
  dir = mkdtempSync(path.join(tmpdir(), "coredog-purge-"));
  mkdirSync(path.join(dir, "shop/api-1/worker"), { recursive: true });
  mkdirSync(path.join(dir, ".coredog"), { recursive: true });
  writeFileSync(path.join(dir, "shop/api-1/core.app.1.h.1"), Buffer.alloc(2048));
  // each container's own directory (the pod's directory directly: pods admitted before)
  writeFileSync(path.join(dir, "shop/api-1/worker/core.bash.7.h.3"), Buffer.alloc(30));
  writeFileSync(path.join(dir, "shop/api-1/core.app.2.h.2"), Buffer.alloc(10));
  writeFileSync(path.join(dir, ".coredog/journal.json"), "{}");
  symlinkSync("/etc/passwd", path.join(dir, "shop/api-1/core.link"));
  const old = new Date(Date.now() - 3 * 3600_000);
  utimesSync(path.join(dir, "shop/api-1/core.app.1.h.1"), old, old);
}

describe("purge", () => {
  it("lists regular files with sizes, not the journal, not symlinks", () => {
    layout();
    const files = parseListing("node-1", runFind(undefined, false));
    expect(files.map((f) => [f.path, f.bytes]).sort()).toEqual([
      ["/data/coredog-system/dumps/shop/api-1/core.app.1.h.1", 2048],
      ["/data/coredog-system/dumps/shop/api-1/core.app.2.h.2", 10],
      ["/data/coredog-system/dumps/shop/api-1/worker/core.bash.7.h.3", 30],
    ]);
    expect(files[0]!.node).toBe("node-1");
    expect(files[0]!.modified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
  });

  it("deletes only files older than asked, and keeps the journal", () => {
    layout();
    const deleted = parseListing("n", runFind(60, true));
    expect(deleted.map((f) => f.path)).toEqual([
      "/data/coredog-system/dumps/shop/api-1/core.app.1.h.1",
    ]);
    expect(existsSync(path.join(dir, "shop/api-1/core.app.1.h.1"))).toBe(false);
    expect(existsSync(path.join(dir, "shop/api-1/core.app.2.h.2"))).toBe(true);
    runFind(undefined, true);
    expect(existsSync(path.join(dir, "shop/api-1/worker/core.bash.7.h.3"))).toBe(false);
    expect(existsSync(path.join(dir, "shop/api-1/worker"))).toBe(true); // the container's directory stays
    expect(existsSync(path.join(dir, ".coredog/journal.json"))).toBe(true);
    expect(existsSync("/etc/passwd")).toBe(true);
  });

  it("after a listing, deletes only what the listing could have shown, not a core written since", () => {
    layout();
    const listedAt = new Date(Date.now() - 60_000);
    const fresh = path.join(dir, "shop/api-1/core.app.2.h.2"); // written after the listing began
    const deleted = parseListing("n", runFind(undefined, true, listedAt));
    expect(deleted.map((f) => f.path)).toEqual([
      "/data/coredog-system/dumps/shop/api-1/core.app.1.h.1",
    ]);
    expect(existsSync(fresh)).toBe(true);
  });

  it("reads durations", () => {
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("2d")).toBe(172_800_000);
    expect(parseDuration("soon")).toBeNull();
    expect(parseDuration("10")).toBeNull();
  });
});
