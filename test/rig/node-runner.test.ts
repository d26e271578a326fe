import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  closeSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORE_PATTERN } from "../../src/names.js";
import { acquireCorePattern, canDumpCores, corePatternState } from "./core-pattern.js";
import { runContainer } from "./node/runner.js";

const ROOT = join(import.meta.dirname, "..", "..");
const TSX = join(ROOT, "node_modules", "tsx", "dist", "loader.mjs");
const PATH = "/usr/bin:/bin";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, fn: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a tsx fixture; resolves lines from its stdout one by one. */
function fixture(name: string, args: string[] = []) {
  const child = spawn(
    process.execPath,
    ["--import", TSX, join(ROOT, "test/rig/node/fixtures", name), ...args],
    {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    child,
    next: async () => (await lines.next()).value as string,
    send: (s: string) => child.stdin!.write(`${s}\n`),
  };
}

describe("container runner (real processes, mount namespaces)", () => {
  const check = canDumpCores();
  let dir: string;
  beforeAll(() => {
    if (!check.ok)
      throw new Error(`this test needs root, a writable core_pattern and unshare: ${check.why}`);
    dir = mkdtempSync(join(tmpdir(), "rig-runner-"));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("runs the command in its own mount namespace with bind mounts, env, working dir and a log", async () => {
    const vol = join(dir, "vol");
    mkdirSync(vol);
    writeFileSync(join(vol, "in.txt"), "from-host");
    const target = `/rig-test-${randomBytes(4).toString("hex")}`;
    const log = join(dir, "logs", "a.log");
    const h = runContainer({
      command: [
        "/bin/sh",
        "-c",
        'echo "foo=$FOO pwd=$(pwd)"; cat in.txt; echo; echo written > out.txt; echo err >&2; sleep 0.3',
      ],
      env: { PATH, FOO: "bar" },
      workingDir: target,
      mounts: [{ source: vol, target }],
      logFile: log,
    });
    await until("mount in the container", () => {
      try {
        return readFileSync(`/proc/${h.pid}/mountinfo`, "utf8").includes(target);
      } catch {
        return false;
      }
    });
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(target); // private to the container
    expect(existsSync(target)).toBe(true); // the mount point exists on the shared host "/"
    const exit = await h.exited;
    expect(exit.exitCode).toBe(0);
    expect(exit.signal).toBeUndefined();
    expect(readFileSync(log, "utf8").split("\n")).toEqual([
      `foo=bar pwd=${target}`,
      "from-host",
      "err",
      "",
    ]);
    expect(readFileSync(join(vol, "out.txt"), "utf8")).toBe("written\n");
    expect(existsSync(target)).toBe(false); // created by the node, removed afterwards
  });

  it("honours readOnly, nested mount points and file mounts", async () => {
    const a = join(dir, "ro");
    const b = join(dir, "nested");
    const f = join(dir, "file.conf");
    mkdirSync(a);
    mkdirSync(b);
    writeFileSync(f, "conf-content");
    const target = `/rig-test-${randomBytes(4).toString("hex")}`;
    const log = join(dir, "logs", "b.log");
    const h = runContainer({
      command: [
        "/bin/sh",
        "-c",
        `cat ${target}/etc/app.conf; echo; touch ${target}/x && echo wrote-ro; echo n > ${target}/sub/n.txt && echo wrote-nested`,
      ],
      env: { PATH },
      mounts: [
        { source: b, target: `${target}/sub` },
        { source: a, target, readOnly: true },
        { source: f, target: `${target}/etc/app.conf`, readOnly: true },
      ],
      logFile: log,
    });
    expect((await h.exited).exitCode).toBe(0);
    const out = readFileSync(log, "utf8");
    expect(out).toContain("conf-content");
    expect(out).toMatch(/Read-only file system/);
    expect(out).not.toContain("wrote-ro");
    expect(out).toContain("wrote-nested");
    expect(readFileSync(join(b, "n.txt"), "utf8")).toBe("n\n");
    expect(existsSync(target)).toBe(false);
  });

  it("mounts sources that a shallower mount target hides (an emptyDir on /tmp over the rig's own dirs)", async () => {
    // The rig's pod dirs live under /tmp; the watcher's manifest mounts an emptyDir at /tmp and a
    // configMap deeper: the shallow mount goes first and must not hide the deeper mount's source.
    const empty = join(dir, "empty-tmp");
    const conf = join(dir, "conf");
    mkdirSync(empty);
    mkdirSync(conf);
    writeFileSync(join(conf, "config.yaml"), "hidden-source-ok");
    const target = `/rig-test-${randomBytes(4).toString("hex")}`;
    const log = join(dir, "logs", "shadow.log");
    const h = runContainer({
      command: ["/bin/sh", "-c", `cat ${target}/etc/config.yaml; ls /tmp`],
      env: { PATH },
      mounts: [
        { source: conf, target: `${target}/etc` },
        { source: empty, target: "/tmp" },
      ],
      logFile: log,
    });
    expect((await h.exited).exitCode).toBe(0);
    const out = readFileSync(log, "utf8");
    expect(out).toContain("hidden-source-ok");
    expect(out).not.toContain("rig-runner-");
  });

  it("runs as runAsUser/runAsGroup after setting up the mounts as root", async () => {
    const vol = join(dir, "userdir");
    mkdirSync(vol);
    const log = join(dir, "logs", "user.log");
    const h = runContainer({
      command: [
        "/bin/sh",
        "-c",
        "id -u; id -g; touch /rig-user-test-vol/x 2>/dev/null || echo denied",
      ],
      env: { PATH },
      mounts: [{ source: vol, target: "/rig-user-test-vol" }],
      logFile: log,
      user: { uid: 65532, gid: 65533 },
    });
    expect((await h.exited).exitCode).toBe(0);
    expect(readFileSync(log, "utf8")).toBe("65532\n65533\ndenied\n");
  });

  it("stops gracefully with SIGTERM, or kills with SIGKILL after the grace period", async () => {
    const polite = runContainer({
      command: ["/bin/sh", "-c", "trap 'echo bye; exit 0' TERM; while :; do sleep 0.05; done"],
      env: { PATH },
      mounts: [],
      logFile: join(dir, "logs", "polite.log"),
    });
    await new Promise((r) => setTimeout(r, 200));
    const e1 = await polite.stop(3000);
    expect(e1.exitCode).toBe(0);
    expect(readFileSync(join(dir, "logs", "polite.log"), "utf8")).toContain("bye");

    const stubborn = runContainer({
      command: ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"],
      env: { PATH },
      mounts: [],
      logFile: join(dir, "logs", "stubborn.log"),
    });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    const e2 = await stubborn.stop(500);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(e2).toMatchObject({ exitCode: 137, signal: 9, signalName: "SIGKILL" });
  });

  it("a crash leaves a real ELF core through core_pattern in the bound host directory; core_pattern is restored", async () => {
    const before = corePatternState();
    const expectedAfter = (s: { holders: string[] }) =>
      s.holders.length > 0 ? CORE_PATTERN : (before.original ?? before.value);
    const release = await acquireCorePattern();
    let dumps: string;
    try {
      expect(readFileSync("/proc/sys/kernel/core_pattern", "utf8").trim()).toBe(CORE_PATTERN);
      const hostRoot = join(dir, "root");
      dumps = join(hostRoot, "data/coredog-system/dumps/default/crasher");
      mkdirSync(dumps, { recursive: true });
      const log = join(dir, "logs", "crash.log");
      const h = runContainer({
        command: ["/bin/sh", "-c", "echo pid=$$; ulimit -c unlimited; kill -SEGV $$"],
        env: { PATH },
        mounts: [{ source: dumps, target: "/corefile" }],
        logFile: log,
      });
      const exit = await h.exited;
      expect(exit).toMatchObject({ exitCode: 139, signal: 11, signalName: "SIGSEGV" });
      const pid = /pid=(\d+)/.exec(readFileSync(log, "utf8"))![1];
      const files = readdirSync(dumps);
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(new RegExp(`^core\\.sh\\.${pid}\\.[^.]+\\.\\d+$`));
      const fd = openSync(join(dumps, files[0]!), "r");
      const head = Buffer.alloc(18);
      readSync(fd, head, 0, 18, 0);
      closeSync(fd);
      expect(head.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46])); // \x7fELF
      expect(head.readUInt16LE(16)).toBe(4); // e_type ET_CORE
    } finally {
      await release();
    }
    const after = corePatternState();
    expect(after.value).toBe(expectedAfter(after));
  });

  it("containers, and everything they started, die with the process that started them", async () => {
    const log = join(dir, "logs", "orphan.log");
    const f = fixture("run-and-wait.ts", [log]);
    const line = await f.next();
    const pid = Number(/^pid (\d+)$/.exec(line)![1]);
    await until("the container's child", () => /child \d+/.test(readFileSync(log, "utf8")));
    const child = Number(/child (\d+)/.exec(readFileSync(log, "utf8"))![1]);
    expect(alive(pid) && alive(child)).toBe(true);
    f.child.kill("SIGKILL");
    await until(
      "container gone after its parent was SIGKILLed (PR_SET_PDEATHSIG)",
      () => !alive(pid),
    );
    await until(
      "the container's background child gone too (cgroup watchdog)",
      () => !alive(child),
      5000,
    );
  });
});

describe("core_pattern reference counting across processes", () => {
  it("keeps the pattern while any holder lives and restores the original after the last one, even if killed", async () => {
    if (!canDumpCores().ok) throw new Error(`needs root: ${canDumpCores().why}`);
    const before = corePatternState();
    const original = before.original ?? before.value;
    const a = fixture("hold-core-pattern.ts");
    const b = fixture("hold-core-pattern.ts");
    expect(await a.next()).toBe("held");
    expect(await b.next()).toBe("held");
    const keyA = `${a.child.pid}-`;
    const keyB = `${b.child.pid}-`;
    let s = corePatternState();
    expect(s.value).toBe(CORE_PATTERN);
    expect(
      s.holders.some((h) => h.startsWith(keyA)) && s.holders.some((h) => h.startsWith(keyB)),
    ).toBe(true);
    expect(s.original).toBe(original);

    a.send("release");
    expect(await a.next()).toBe("released");
    s = corePatternState();
    expect(s.value).toBe(CORE_PATTERN); // b still holds it
    expect(s.holders.some((h) => h.startsWith(keyA))).toBe(false);

    // b dies without releasing: its watchdog (or the next caller) restores the value.
    b.child.kill("SIGKILL");
    await until(
      "core_pattern restored after the last holder was killed",
      () => {
        const st = corePatternState();
        if (st.holders.some((h) => h.startsWith(keyB))) return false;
        return st.value === (st.holders.length > 0 ? CORE_PATTERN : original);
      },
      10_000,
    );
  });
});
