// The rig creates a missing subPath/subPathExpr directory exactly as the kubelet does (safe-make-dir.ts): the volume
// root's mode, special bits included, whatever the umask; existing paths untouched; symlinks refused. And what that
// means for a non-root process, checked with real credentials (setpriv).
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { safeMakeDir } from "./node/safe-make-dir.js";

let root: string;
let umask: number;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "rig-smd-"));
  chmodSync(root, 0o755); // the temp dir itself is 0700: let other users reach the volumes below it
  umask = process.umask();
});
afterEach(() => {
  process.umask(umask);
  rmSync(root, { recursive: true, force: true });
});

const mode = (p: string) => statSync(p).mode & 0o7777;

function volume(perm: number): string {
  const base = join(root, `vol-${perm.toString(8)}`);
  mkdirSync(base);
  chmodSync(base, perm);
  return base;
}

/** Runs bash as uid/gid 1000 (no groups), like a container with runAsUser/runAsGroup 1000. */
function asUser(script: string) {
  return spawnSync(
    "/usr/bin/setpriv",
    ["--reuid=1000", "--regid=1000", "--clear-groups", "--", "/bin/bash", "-c", script],
    { encoding: "utf8" },
  );
}

describe("safeMakeDir (the kubelet's SafeMakeDir)", () => {
  it.each([0o755, 0o1733, 0o2775, 0o777, 0o700])(
    "gives every created directory the root's mode %o, whatever the umask",
    (perm) => {
      process.umask(0o077);
      const base = volume(perm);
      safeMakeDir(base, "shop/api-1/app");
      for (const d of ["shop", "shop/api-1", "shop/api-1/app"]) {
        expect(mode(join(base, d)), d).toBe(perm);
        expect(statSync(join(base, d)).uid).toBe(process.getuid!());
      }
    },
  );

  it("leaves an existing directory as it is and creates only what is missing", () => {
    const base = volume(0o1733);
    mkdirSync(join(base, "shop/api-1"), { recursive: true });
    chmodSync(join(base, "shop/api-1"), 0o700);
    safeMakeDir(base, "shop/api-1/app");
    expect(mode(join(base, "shop/api-1"))).toBe(0o700);
    expect(mode(join(base, "shop/api-1/app"))).toBe(0o1733);
    writeFileSync(join(base, "shop/file"), "");
    expect(() => safeMakeDir(base, "shop/file")).not.toThrow(); // exists: the kubelet does not touch it
  });

  it("refuses a symlink on the way and creates nothing outside the volume", () => {
    const base = volume(0o1733);
    const outside = join(root, "outside");
    mkdirSync(outside);
    symlinkSync(outside, join(base, "shop"));
    expect(() => safeMakeDir(base, "shop/api-1/app")).toThrow(/symlink/);
    expect(existsSync(join(outside, "api-1"))).toBe(false);
    expect(() => safeMakeDir(base, "../escape")).toThrow(/outside/);
  });

  it("decides what a non-root container can do: nothing under 0755, create but not list under 1733", () => {
    if (process.getuid!() !== 0) throw new Error("this test needs root (setpriv)");
    const closed = volume(0o755);
    safeMakeDir(closed, "shop/api-1/app");
    const denied = asUser(`echo x > ${join(closed, "shop/api-1/app/core.1")}`);
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toMatch(/Permission denied/);

    const open = volume(0o1733);
    safeMakeDir(open, "shop/api-1/app");
    const dir = join(open, "shop/api-1/app");
    writeFileSync(join(dir, "core.root"), "root's", { mode: 0o600 });
    const r = asUser(
      `echo mine > ${dir}/core.mine && ls ${dir}; echo ls=$?; cat ${dir}/core.root; echo cat=$?; rm -f ${dir}/core.root; echo rm=$?; mv ${dir}/core.mine ${dir}/core.root; echo mv=$?`,
    );
    expect(r.stdout).toMatch(/ls=[1-9]/); // cannot list
    expect(r.stdout).toMatch(/cat=[1-9]/); // cannot read another user's core
    expect(r.stdout).toMatch(/rm=[1-9]/); // sticky: cannot remove it
    expect(r.stdout).toMatch(/mv=[1-9]/); // nor replace it
    expect(statSync(join(dir, "core.mine")).uid).toBe(1000);
  });
});
