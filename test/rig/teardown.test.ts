// The rig tears down without leaving work behind that could fail later: in-flight reconciles finish before the
// controllers report stopped, and a log line written after the rig's folder is gone is dropped, not thrown.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WorkQueue } from "./controllers/queue.js";
import { openFileLog } from "./file-log.js";

describe("rig teardown", () => {
  it("a file log records until closed, then drops writes; a write into a removed folder does not throw", () => {
    const dir = mkdtempSync(join(tmpdir(), "coredog-filelog-"));
    const path = join(dir, "controllers.log");
    const log = openFileLog(path);
    log("first");
    expect(readFileSync(path, "utf8")).toMatch(/ first\n$/);
    rmSync(dir, { recursive: true, force: true });
    expect(() => log("after the folder is gone")).not.toThrow();
    expect(existsSync(dir)).toBe(false);
    log.close();
    expect(() => log("after close")).not.toThrow();
  });

  it("WorkQueue.stop() resolves only after the reconcile in flight has finished and logged", async () => {
    const lines: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const queue = new WorkQueue(
      "test",
      async () => {
        await gate;
        throw new Error("the API server went away");
      },
      (msg) => lines.push(msg),
    );
    queue.add("ns/a");
    await new Promise((r) => setImmediate(r));
    let stopped = false;
    const stopping = queue.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
    expect(queue.idle).toBe(true);
    // The failure after stop is not logged (the queue stopped), and nothing is retried.
    expect(lines).toEqual([]);
  });
});
