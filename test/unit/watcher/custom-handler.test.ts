import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { customHandlerEnv, runCustomHandler } from "../../../controller/watcher/custom-handler.js";
import { capturingLogger, coreReport, crashReportFixture } from "../notify/fixtures.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "coredog-ch-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function cfg(script: string, timeoutSeconds = 10) {
  return { enabled: true, timeoutSeconds, skipDefaultNotify: false, script };
}

/** Alive and not a zombie. */
async function running(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

describe("custom handler", () => {
  it("gives the script the crash report's fingerprint, fault line and count, empty without a report", () => {
    const crash = crashReportFixture();
    expect(customHandlerEnv(coreReport({ report: crash, seenBefore: 2 }))).toMatchObject({
      COREDUMP_FINGERPRINT: crash.fingerprint.id,
      COREDUMP_FAULT: "SIGSEGV: address not mapped (SEGV_MAPERR) at 0x0 (NULL pointer)",
      COREDUMP_SEEN_BEFORE: "2",
    });
    expect(customHandlerEnv(coreReport())).toMatchObject({
      COREDUMP_FINGERPRINT: "",
      COREDUMP_FAULT: "",
      COREDUMP_SEEN_BEFORE: "",
    });
  });

  it("runs the script with bash and the original CoreDog env vars", async () => {
    const { log, lines } = capturingLogger();
    const out = join(dir, "env.txt");
    const names = [
      "COREDUMP_FILE",
      "COREDUMP_URL",
      "COREDUMP_FILENAME",
      "COREDUMP_MD5",
      "COREDUMP_SIZE",
      "COREDUMP_EXECUTABLE",
      "POD_NAME",
      "POD_NAMESPACE",
      "POD_UID",
      "POD_NODE_IP",
      "POD_IMAGE",
      "POD_CONTAINER",
      "HOST_IP",
      "COREDUMP_SHA256",
      "COREDUMP_SIGNAL",
    ];
    const script = `#!/bin/bash\n${names.map((n) => `echo "${n}=$${n}" >> ${out}`).join("\n")}\necho "AWS=\${AWS_SECRET_ACCESS_KEY:-none}" >> ${out}\necho "handled $POD_NAMESPACE/$POD_NAME"\n`;
    process.env.AWS_SECRET_ACCESS_KEY = "do-not-leak";
    const report = coreReport();
    const res = await runCustomHandler(cfg(script), report, log);
    delete process.env.AWS_SECRET_ACCESS_KEY;
    expect(res).toMatchObject({ ran: true, exitCode: 0, timedOut: false });
    const env = Object.fromEntries(
      (await readFile(out, "utf8"))
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    expect(env).toEqual({
      COREDUMP_FILE: report.path,
      COREDUMP_URL: report.url,
      COREDUMP_FILENAME: report.filename,
      COREDUMP_MD5: report.md5,
      COREDUMP_SIZE: "123456",
      COREDUMP_EXECUTABLE: "/usr/bin/api",
      POD_NAME: "api-7d9f-abcde",
      POD_NAMESPACE: "shop",
      POD_UID: "5f0c-uid",
      POD_NODE_IP: "10.0.0.5",
      POD_IMAGE: "registry.example/api:1.2",
      POD_CONTAINER: "app",
      HOST_IP: "10.0.0.5",
      COREDUMP_SHA256: report.sha256,
      COREDUMP_SIGNAL: "SIGSEGV",
      AWS: "none",
    });
    expect(customHandlerEnv(report).POD_UID).toBe("5f0c-uid");
    const done = lines.find((l) => l.includes("custom handler finished"));
    expect(done).toContain("handled shop/api-7d9f-abcde");
  });

  it("kills the whole process group on timeout, grandchildren included", async () => {
    const { log, lines } = capturingLogger();
    const pidFile = join(dir, "grandchild.pid");
    // a background grandchild that ignores SIGTERM, and a script that never ends
    const script = `trap '' TERM\n(trap '' TERM; exec sleep 60) &\necho $! > ${pidFile}\nsleep 60\n`;
    const t0 = Date.now();
    const res = await runCustomHandler(cfg(script, 1), coreReport(), log, { killGraceMs: 300 });
    const took = Date.now() - t0;
    expect(res.timedOut).toBe(true);
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(5000);
    const grandchild = Number((await readFile(pidFile, "utf8")).trim());
    expect(grandchild).toBeGreaterThan(1);
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      alive = await running(grandchild);
      if (alive) await new Promise((r) => setTimeout(r, 50));
    }
    expect(alive).toBe(false);
    expect(lines.some((l) => l.includes("custom handler error: timed out after 1s"))).toBe(true);
  });

  it("bounds the output it keeps and logs a failing exit code as an error", async () => {
    const { log, lines } = capturingLogger();
    const res = await runCustomHandler(
      cfg("head -c 200000 /dev/zero | tr '\\0' 'x'; echo oops >&2; exit 3"),
      coreReport(),
      log,
      { maxOutputBytes: 1024 },
    );
    expect(res.exitCode).toBe(3);
    expect(res.stdout.length).toBeLessThan(1100);
    expect(res.stdout).toContain("more bytes");
    expect(res.stderr.trim()).toBe("oops");
    expect(lines.some((l) => l.includes("custom handler error: exit code 3"))).toBe(true);
  });

  it("does nothing when disabled", async () => {
    const { log } = capturingLogger();
    const res = await runCustomHandler({ ...cfg("exit 1"), enabled: false }, coreReport(), log);
    expect(res.ran).toBe(false);
  });

  it("is killed, group and all, when the watcher stops", async () => {
    const { log } = capturingLogger();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const t0 = Date.now();
    const res = await runCustomHandler(cfg("sleep 30 & sleep 30"), coreReport(), log, {
      signal: ac.signal,
    });
    expect(Date.now() - t0).toBeLessThan(15_000); // the stop, not the 30 s sleeps
    expect(res.error).toContain("stopped");
  });
});
