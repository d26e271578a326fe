// The README's first command must keep working: `npm run demo` (after its build step) on the rig.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);

describe("npm run demo", () => {
  it("shows every step of a real crash and exits 0", async () => {
    const { stdout } = await run("npx", ["tsx", "test/demo/main.ts"], {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1" },
      timeout: 150_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    for (const step of [
      "Install CoreDog from manifests/",
      "Enable it with the kubectl plugin",
      "The new pod got the node directory",
      "It crashes; the kernel writes the core; the watcher takes it",
      "The object in storage",
      "The notification",
      "The Event on the pod",
      "Clean up",
    ]) {
      expect(stdout).toContain(step);
    }
    expect(stdout).toMatch(/resolved pod from webhook path: demo\/crasher-/);
    expect(stdout).toMatch(/s3:\/\/crashes\/corefiles\/demo\/crasher-\S+core\.bash\.\d+/);
    expect(stdout).toMatch(/\[demo\/crasher-\S+\] core: core\.bash\./);
    expect(stdout).toMatch(/CoreDumpUploaded/);
    expect(stdout).toMatch(/demo finished in \d+\.\ds/);
    expect(stdout).not.toContain("\u001b["); // NO_COLOR
  }, 180_000);
});
