// A second, independent S3 implementation for the storage tests: Ceph's radosgw (Debian's 16.2) on a single-node
// cluster on loopback: one monitor (msgr v1, no cephx), one OSD on memstore (objects in memory, nothing on a
// disk), radosgw's beast frontend, and a user with fixed keys. Starts in about 15 s; .ci/run installs the packages.
// The daemons fork; they are stopped by the PIDs in their pid files.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface CephS3 {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The cluster's files (configuration, logs) for a failing test's message. */
  dir: string;
  stop(): Promise<void>;
}

export const CEPH_TOOLS = [
  "monmaptool",
  "ceph-mon",
  "ceph-osd",
  "ceph",
  "radosgw",
  "radosgw-admin",
];

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startCeph(opts: { timeoutMs?: number } = {}): Promise<CephS3> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const dir = mkdtempSync(join(tmpdir(), "rig-ceph-"));
  for (const d of ["run", "log", "mon", "osd0", "rgw"]) mkdirSync(join(dir, d));
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const fsid = crypto.randomUUID();
  const conf = join(dir, "ceph.conf");
  writeFileSync(
    conf,
    `[global]
fsid = ${fsid}
mon host = v1:127.0.0.1:${monPort}
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
ms bind ipv6 = false
ms bind msgr2 = false
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
pid file = ${dir}/run/$name.pid
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 1
osd objectstore = memstore
memstore device bytes = 1073741824
osd data = ${dir}/osd$id
mon data = ${dir}/mon
osd crush chooseleaf type = 0
osd crush update on start = false
osd class update on start = false
osd max object name len = 256
osd max object namespace len = 64
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw data = ${dir}/rgw
`,
  );
  const c = ["-c", conf];
  const step = async (cmd: string, args: string[]): Promise<string> => {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`ceph did not start in time (at ${cmd}); logs in ${dir}/log`);
    try {
      return (await run(cmd, args, { timeout: left })).stdout;
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? "";
      // A client's first command can leave before the monitor map has reached it; the monitor then refuses it
      // unexecuted ("wrong fsid", EPERM), so asking again is safe.
      if (cmd === "ceph" && stderr.includes("EPERM")) {
        await sleep(500);
        return step(cmd, args);
      }
      throw new Error(`${cmd} ${args.join(" ")} failed: ${stderr || (err as Error).message}`, {
        cause: err,
      });
    }
  };
  const cluster: CephS3 = {
    endpoint: `http://127.0.0.1:${rgwPort}`,
    region: "us-east-1",
    accessKeyId: "COREDOGCEPHKEY",
    secretAccessKey: "coredog-ceph-secret",
    dir,
    async stop() {
      const pids = ["client.rgw", "osd.0", "mon.a"]
        .map((n) => join(dir, "run", `${n}.pid`))
        .filter((f) => existsSync(f))
        .map((f) => Number(readFileSync(f, "utf8").trim()))
        .filter((p) => Number.isInteger(p) && p > 1);
      for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGTERM");
      for (let i = 0; i < 100 && pids.some(alive); i++) await sleep(100);
      for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await step("monmaptool", [
      "--create",
      "--addv",
      "a",
      `[v1:127.0.0.1:${monPort}]`,
      "--fsid",
      fsid,
      join(dir, "monmap"),
    ]);
    await step("ceph-mon", [...c, "--mkfs", "-i", "a", "--monmap", join(dir, "monmap")]);
    await step("ceph-mon", [...c, "-i", "a"]);
    await step("ceph", [...c, "--connect-timeout", "30", "osd", "create"]);
    // The OSD's own placement commands at start can reach the monitor before the OSD has the monitor map; they
    // then carry a zero fsid the monitor refuses ("wrong fsid"), and the OSD exits. The CLI places it instead.
    await step("ceph", [...c, "osd", "crush", "add", "osd.0", "1.0", "root=default", "host=rig"]);
    await step("ceph-osd", [...c, "-i", "0", "--mkfs"]);
    await step("ceph-osd", [...c, "-i", "0"]);
    await step("radosgw", [...c, "-n", "client.rgw"]);
    // radosgw creates its pools, then listens.
    for (;;) {
      const up = await fetch(cluster.endpoint).then(
        (r) => r.status > 0,
        () => false,
      );
      if (up) break;
      if (Date.now() > deadline)
        throw new Error(`radosgw did not answer in time; logs in ${dir}/log`);
      await sleep(250);
    }
    await step("radosgw-admin", [
      ...c,
      "user",
      "create",
      "--uid=coredog",
      "--display-name=coredog",
      `--access-key=${cluster.accessKeyId}`,
      `--secret-key=${cluster.secretAccessKey}`,
    ]);
    return cluster;
  } catch (err) {
    const log = join(dir, "log");
    const tail = existsSync(log)
      ? (await run("bash", ["-c", `tail -n 5 ${log}/*.log`]).catch(() => ({ stdout: "" }))).stdout
      : "";
    await cluster.stop();
    throw new Error(`${(err as Error).message}\n${tail}`, { cause: err });
  }
}
