// The rig as a whole: `npm run rig` by hand (lines, kubectl against it, clean SIGTERM exit), and a real crash:
// a pod's SIGSEGV leaves a real ELF core in the node directory through hostPath + subPathExpr.
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  closeSync,
  readdirSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { CORE_PATTERN, CORE_PATTERN_FILE, NODE_DUMP_DIR } from "../../src/names.js";
import { canDumpCores } from "./core-pattern.js";
import { startRig, type Rig } from "./index.js";
import { Registry } from "./node/holds.js";

const CHECKOUT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const scratch = mkdtempSync(join(tmpdir(), "rig-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Processes whose command line or cwd mentions `needle`. */
function processesMentioning(needle: string): string[] {
  const out = spawnSync("ps", ["-eo", "pid,args", "--no-headers"], { encoding: "utf8" }).stdout;
  return out.split("\n").filter((l) => l.includes(needle) && !l.includes("ps -eo"));
}

function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(dir));
}

describe("npm run rig", () => {
  it("prints its lines, serves kubectl, and exits 0 on SIGTERM leaving nothing behind", async () => {
    const kubeconfig = join(scratch, "kubeconfig");
    const t0 = Date.now();
    const child = spawn(
      "npm",
      ["run", "--silent", "rig", "--", "--kubeconfig", kubeconfig, "--nodes", "2"],
      {
        cwd: CHECKOUT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
    try {
      await new Promise<void>((res, rej) => {
        const timer = setTimeout(
          () => rej(new Error(`no "rig ready" within 30s; stdout:\n${out}\nstderr:\n${err}`)),
          30_000,
        );
        child.stdout.on("data", () => {
          if (/^rig ready$/m.test(out)) {
            clearTimeout(timer);
            res();
          }
        });
        child.on("exit", () =>
          rej(new Error(`rig exited early; stdout:\n${out}\nstderr:\n${err}`)),
        );
      });
      console.log(`npm run rig: ready after ${Date.now() - t0}ms`);
      const hostroot = /^hostroot (\S+)$/m.exec(out)?.[1];
      const s3 = /^s3 (http\S+)$/m.exec(out)?.[1];
      expect(hostroot).toBeDefined();
      expect(existsSync(hostroot!)).toBe(true);
      expect(s3).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
      expect(out).toMatch(/^s3-access-key \S+$/m);
      expect(out).toMatch(/^s3-secret-key \S+$/m);
      expect(out).toMatch(/^node node-2 hostroot \S+$/m);
      const rigDir = /^dir (\S+)$/m.exec(out)![1]!;

      const ns = spawnSync("kubectl", ["--kubeconfig", kubeconfig, "get", "ns"], {
        encoding: "utf8",
      });
      expect(ns.status, ns.stderr).toBe(0);
      expect(ns.stdout).toMatch(/^default\s+Active/m);
      const nodes = spawnSync("kubectl", ["--kubeconfig", kubeconfig, "get", "nodes"], {
        encoding: "utf8",
      });
      expect(nodes.stdout).toMatch(/^node-1\s+Ready/m);
      expect(nodes.stdout).toMatch(/^node-2\s+Ready/m);
      // A pod runs, so stopping has a process and mounts to clean up.
      const run = spawnSync(
        "kubectl",
        [
          "--kubeconfig",
          kubeconfig,
          "run",
          "sleeper",
          "--image=busybox",
          "--restart=Never",
          "--command",
          "--",
          "/bin/sh",
          "-c",
          `sleep 3600 # ${rigDir}`,
        ],
        { encoding: "utf8" },
      );
      expect(run.status, run.stderr).toBe(0);
      const wait = spawnSync(
        "kubectl",
        [
          "--kubeconfig",
          kubeconfig,
          "wait",
          "--for=condition=Ready",
          "pod/sleeper",
          "--timeout=30s",
        ],
        { encoding: "utf8" },
      );
      expect(wait.status, wait.stderr).toBe(0);
      expect(processesMentioning(`sleep 3600 # ${rigDir}`).length).toBeGreaterThan(0);

      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(processesMentioning(rigDir)).toEqual([]);
      expect(mountsUnder(rigDir)).toEqual([]);
      expect(existsSync(rigDir)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

describe("every exit path cleans up", () => {
  /** Starts the fixture rig process, waits for its pod, ends it the given way; returns its dir and exit. */
  async function runChild(how: "SIGTERM" | "SIGINT" | "throw") {
    const args = ["--import", "tsx", "test/rig/fixtures/rig-child.ts", "--core-dumps"];
    const child = spawn(process.execPath, args, {
      cwd: CHECKOUT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
      child.on("exit", (code, signal) => res({ code, signal })),
    );
    try {
      const dir = await new Promise<string>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`fixture not ready: ${out}\n${err}`)), 30_000);
        child.stdout.on("data", () => {
          const m = /^ready (\S+)$/m.exec(out);
          if (m) {
            clearTimeout(timer);
            res(m[1]!);
          }
        });
        void exit.then(() => {
          rej(new Error(`fixture exited early: ${out}\n${err}`));
        });
      });
      expect(processesMentioning(`sleep 3600 # ${dir}`).length).toBeGreaterThan(0);
      child.kill(how === "throw" ? "SIGUSR2" : how);
      return { dir, ...(await exit), err };
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  }

  it("SIGTERM, SIGINT and an uncaught exception leave no process, mount, dir or core_pattern behind", async () => {
    const before = readFileSync(CORE_PATTERN_FILE, "utf8").trim();
    const results = await Promise.all([runChild("SIGTERM"), runChild("SIGINT"), runChild("throw")]);
    expect(results[0]!.signal).toBe("SIGTERM");
    expect(results[1]!.signal).toBe("SIGINT");
    expect(results[2]!.code).not.toBe(0);
    expect(results[2]!.err).toContain("fixture: uncaught exception");
    for (const r of results) {
      expect(processesMentioning(r.dir)).toEqual([]);
      expect(mountsUnder(r.dir)).toEqual([]);
      expect(existsSync(r.dir)).toBe(false);
    }
    if (new Registry("core-pattern").holders("kernel").length === 0) {
      expect(readFileSync(CORE_PATTERN_FILE, "utf8").trim()).toBe(
        before === CORE_PATTERN ? "core" : before,
      );
    }
  });
});

describe("a crashing pod on the full rig", () => {
  const can = canDumpCores();
  it("leaves a real ELF core in <hostRoot>/data/coredog-system/dumps/<ns>/<pod>/ and shows the signal", async () => {
    // CI runs as root: a machine that cannot dump cores fails here with the reason.
    expect(can.ok, can.why).toBe(true);
    const before = readFileSync(CORE_PATTERN_FILE, "utf8").trim();
    let rig: Rig | undefined;
    try {
      rig = await startRig({ coreDumps: true, s3: false, receivers: false });
      expect(readFileSync(CORE_PATTERN_FILE, "utf8").trim()).toBe(CORE_PATTERN);
      const r = await rig.kubectl(["apply", "-f", "-"], {
        input: `apiVersion: v1
kind: Pod
metadata:
  name: crasher
  namespace: default
spec:
  restartPolicy: Never
  containers:
    - name: main
      image: debian
      # Kubernetes expands $(VAR) in commands and reduces $$ to $: "$$$$" reaches bash as "$$".
      command: ["/bin/bash", "-c", "ulimit -c unlimited; kill -SEGV $$$$"]
      env:
        - name: NS
          valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
        - name: POD
          valueFrom: { fieldRef: { fieldPath: metadata.name } }
      volumeMounts:
        - name: dumps
          mountPath: /corefile
          subPathExpr: $(NS)/$(POD)
  volumes:
    - name: dumps
      hostPath: { path: ${NODE_DUMP_DIR}, type: DirectoryOrCreate }
`,
      });
      expect(r.code, r.stderr).toBe(0);
      const pod = await rig.waitFor("crasher to fail", async () => {
        const p = await rig!.kubectl(["get", "pod", "crasher", "-o", "json"]);
        const j = JSON.parse(p.stdout) as {
          status: {
            phase: string;
            containerStatuses?: { state: { terminated?: Record<string, unknown> } }[];
          };
        };
        return j.status.phase === "Failed" ? j : undefined;
      });
      expect(pod.status.containerStatuses?.[0]?.state.terminated).toMatchObject({
        signal: 11,
        exitCode: 139,
      });

      const dir = join(rig.nodes[0]!.hostRoot, NODE_DUMP_DIR, "default", "crasher");
      const files = await rig.waitFor("the core file", () => {
        const f = existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith("core.")) : [];
        return f.length ? f : undefined;
      });
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^core\.bash\.\d+\.[^.]+\.\d+$/);
      const fd = openSync(join(dir, files[0]!), "r");
      const head = Buffer.alloc(18);
      readSync(fd, head, 0, 18, 0);
      closeSync(fd);
      expect(head.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46])); // \x7fELF
      expect(head.readUInt16LE(16)).toBe(4); // e_type ET_CORE
    } finally {
      await rig?.stop();
    }
    // Restored, unless another rig on this machine (a parallel test run) still holds it.
    const otherHolders = new Registry("core-pattern").holders("kernel").length;
    const after = readFileSync(CORE_PATTERN_FILE, "utf8").trim();
    if (otherHolders === 0) expect(after).toBe(before === CORE_PATTERN ? "core" : before);
    else expect(after).toBe(CORE_PATTERN);
  });
});
