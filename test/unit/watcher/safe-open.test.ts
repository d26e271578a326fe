// Reading a core leaves its access time alone (an atime update is a journal write, which waits behind a stalled
// commit on the core's filesystem); /tmp here is mounted relatime, where an ordinary read of a file written after
// it was last read updates its atime.
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openCore, openForReading } from "../../../controller/watcher/safe-open.js";
import { coreHead } from "./core-fixture.js";

const dir = mkdtempSync(join(tmpdir(), "cdw-safe-open-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A core last read long before it was written: any atime-updating read moves its atime. */
function staleCore(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, coreHead({}, 4096));
  utimesSync(path, new Date(1_000_000), new Date(2_000_000));
  return path;
}

async function readAll(fh: Awaited<ReturnType<typeof open>>): Promise<void> {
  const buf = Buffer.alloc(4096);
  await fh.read(buf, 0, buf.length, 0);
  await fh.close();
}

describe("reading a core", () => {
  it("an ordinary read updates the atime here (the check below can fail)", async () => {
    const path = staleCore("plain");
    await readAll(await open(path, "r"));
    expect(statSync(path).atimeMs).toBeGreaterThan(2_000_000);
  });

  it("openForReading and openCore leave the atime as it was", async () => {
    const a = staleCore("core.a.1");
    await readAll(await openForReading(a));
    expect(statSync(a).atimeMs).toBe(1_000_000);
    const b = staleCore("core.b.2");
    const core = await openCore(b, b);
    await core.read(0, 4096);
    await core.fh.close();
    expect(statSync(b).atimeMs).toBe(1_000_000);
  });
});
