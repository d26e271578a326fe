// The watcher gives the node directory 1733 and brings the kubelet's namespace/pod/container directories made
// before to it; it follows no symlink, leaves what root does not own, its journal and files alone.
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { ensureDirModes } from "../../../controller/watcher/dir-modes.js";
import { createLogger } from "../../../controller/log.js";
import { DUMP_DIR_MODE } from "../../../src/names.js";

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});
const mode = (p: string) => statSync(p).mode & 0o7777;

it("sets 1733 on the node directory and the directories below it, and nothing else", async () => {
  if (process.getuid!() !== 0) throw new Error("this test needs root (chown)");
  root = mkdtempSync(join(tmpdir(), "cdw-modes-"));
  const dumps = join(root, "dumps");
  const outside = join(root, "outside");
  for (const d of ["shop/api-1/app", "shop/api-1/app/nested", "old/legacy", ".journal", outside])
    mkdirSync(d.startsWith("/") ? d : join(dumps, d), { recursive: true, mode: 0o755 });
  for (const d of [
    "",
    "shop",
    "shop/api-1",
    "shop/api-1/app",
    "shop/api-1/app/nested",
    "old",
    "old/legacy",
    ".journal",
  ])
    chmodSync(join(dumps, d), 0o755);
  chmodSync(outside, 0o700);
  writeFileSync(join(dumps, "shop/api-1/app/core.1"), "x", { mode: 0o600 });
  writeFileSync(join(dumps, "old/legacy/core.2"), "x", { mode: 0o600 });
  symlinkSync(outside, join(dumps, "shop/api-1/link")); // planted where a container directory would be
  mkdirSync(join(dumps, "shop/other"), { mode: 0o700 });
  chownSync(join(dumps, "shop/other"), 1000, 1000); // not the kubelet's

  const lines: string[] = [];
  const access = await ensureDirModes(
    dumps,
    join(dumps, ".journal"),
    createLogger({ write: (l) => lines.push(l) }),
  );

  expect(access).toEqual({ mode: "1733", uid: 0, gid: 0 });
  for (const d of ["", "shop", "shop/api-1", "shop/api-1/app", "old", "old/legacy"])
    expect(mode(join(dumps, d)), d || "root").toBe(DUMP_DIR_MODE);
  expect(mode(join(dumps, "shop/api-1/app/nested"))).toBe(0o755); // deeper: a pod's own, never touched
  expect(mode(join(dumps, ".journal"))).toBe(0o755);
  expect(mode(outside)).toBe(0o700); // the symlink was not followed
  expect(mode(join(dumps, "shop/other"))).toBe(0o700);
  expect(mode(join(dumps, "shop/api-1/app/core.1"))).toBe(0o600);
  expect(lines.some((l) => l.includes("set mode 1733 on") && l.includes("(was 0755)"))).toBe(true);
  expect(lines.some((l) => l.includes("owned by uid 1000, not root"))).toBe(true);

  // Idempotent: nothing more to do, nothing logged.
  lines.length = 0;
  await ensureDirModes(
    dumps,
    join(dumps, ".journal"),
    createLogger({ write: (l) => lines.push(l) }),
  );
  expect(lines.filter((l) => l.includes("set mode"))).toEqual([]);
});
