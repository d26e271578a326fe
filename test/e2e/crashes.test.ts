// CoreDump records end to end: CoreDog installed from manifests/ on the rig, a real crash, the record in the
// pod's namespace, read with kubectl and with `kubectl coredog crashes`.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRig, type Rig } from "../rig/index.js";
import { canDumpCores } from "../rig/core-pattern.js";
import { crasherDeployment, installCoreDog, type Installed } from "./support/install.js";

const why = canDumpCores();
if (!why.ok) throw new Error(`this test needs real core dumps and cannot run here: ${why.why}`);

let rig: Rig;
let installed: Installed;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- records are plain JSON here
let record: any;

async function kubectl(...args: string[]): Promise<string> {
  const r = await rig.kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  rig = await startRig({ coreDumps: true });
  installed = await installCoreDog(rig, { extraSettings: "" });
  // Keep the kernel's file on the node (to compare the pulled core with it) and compress in storage.
  const config = installed.configYaml
    .replace("DeleteLocalCorefile: true", "DeleteLocalCorefile: false")
    .replace("StoreDir: corefiles", "StoreDir: corefiles\n  compression: zstd");
  await kubectl(
    "-n",
    "coredog-system",
    "patch",
    "configmap",
    "coredog",
    "--type",
    "merge",
    "-p",
    JSON.stringify({ data: { "config.yaml": config } }),
  );
  await rig.waitFor(
    "the watchers to read the new settings",
    async () =>
      (
        await kubectl(
          "logs",
          "-n",
          "coredog-system",
          "-l",
          "app.kubernetes.io/component=watcher",
          "--tail=-1",
        )
      ).includes("settings reloaded"),
    60_000,
  );
  await kubectl("create", "namespace", "shop");
  const created = await rig.kubectl(["apply", "-f", "-"], {
    input: crasherDeployment("shop", "crasher", 2),
  });
  if (created.code !== 0) throw new Error(created.stderr);
  const enable = await rig.kubectl([
    "coredog",
    "enable",
    "deploy/crasher",
    "-n",
    "shop",
    "--restart",
  ]);
  if (enable.code !== 0) throw new Error(enable.stderr);
  record = await rig.waitFor(
    "a CoreDump record in shop",
    async () => JSON.parse(await kubectl("get", "coredumps", "-n", "shop", "-o", "json")).items[0],
    90_000,
  );
  // One crash is enough: stop the loop.
  await kubectl("-n", "shop", "scale", "deployment", "crasher", "--replicas=0");
}, 240_000);

afterAll(async () => {
  await rig?.stop();
});

describe("a real crash gives a CoreDump record", () => {
  it("in the pod's namespace, with the core's facts, not owned by the pod", async () => {
    expect(record.metadata.ownerReferences).toBeUndefined();
    expect(record.spec.pod.name).toMatch(/^crasher-/);
    expect(record.spec).toMatchObject({
      container: "app",
      image: "debian:12",
      workload: { kind: "Deployment", name: "crasher" },
      signal: { number: 11, name: "SIGSEGV" },
      executable: expect.stringMatching(/bash/),
    });
    expect(record.spec.node).toBe(rig.nodes[0]!.name);
    expect(record.spec.fingerprint.id).toMatch(/^[0-9a-f]{64}$/);
    expect(record.spec.frames?.length).toBeGreaterThan(0);
    expect(record.spec.fault.description).toMatch(/SIGSEGV/);
    // The stored object is the record's: size and sha256 match what is in the bucket.
    const obj = await rig.s3.client.send(
      new GetObjectCommand({ Bucket: installed.bucket, Key: record.spec.storage.key }),
    );
    const bytes = Buffer.from(await obj.Body!.transformToByteArray());
    expect(record.spec.storage.storedBytes).toBe(bytes.length);
    if (record.spec.storage.compression === "none") {
      expect(record.spec.storage.size).toBe(bytes.length);
      expect(record.spec.storage.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    }
    // The crashed pod is gone (the Deployment was scaled to 0): its record stays.
    await rig.waitFor(
      "the crashed pod gone",
      async () =>
        (await rig.kubectl(["get", "pod", "-n", "shop", record.spec.pod.name])).code !== 0,
      60_000,
    );
    expect(
      await kubectl("get", "cdump", "-n", "shop", record.metadata.name, "-o", "name"),
    ).toContain(record.metadata.name);
  });

  it("reads well with kubectl get and describe", async () => {
    const table = await kubectl("get", "coredumps", "-n", "shop");
    expect(table.split("\n")[0]).toMatch(
      /^NAME\s+POD\s+CONTAINER\s+SIGNAL\s+FINGERPRINT\s+SIZE\s+CRASHED/,
    );
    expect(table).toContain(record.spec.fingerprint.short);
    const described = await kubectl("describe", "cdump", "-n", "shop", record.metadata.name);
    expect(described).toMatch(/Kind:\s+CoreDump/);
    expect(described).toContain(record.spec.storage.key);
  });
});

const sh = promisify(execFile);

describe("kubectl coredog crashes, show and pull", () => {
  it("lists the records newest first, with -A, --since, -l and -o json", async () => {
    const out = await kubectl("coredog", "crashes", "-n", "shop");
    expect(out.split("\n")[0]).toMatch(
      /^NAME\s+CRASHED\s+POD\s+CONTAINER\s+SIGNAL\s+FINGERPRINT\s+SIZE$/,
    );
    expect(out).toContain(record.metadata.name);
    const all = await kubectl("coredog", "crashes", "-A", "-o", "wide");
    expect(all.split("\n")[0]).toMatch(
      /^NAMESPACE\s+NAME\s+.*WORKLOAD\s+NODE\s+IMAGE\s+TOP FRAME$/,
    );
    expect(all).toContain("deployment/crasher");
    const json = JSON.parse(await kubectl("coredog", "crashes", "-A", "-o", "json"));
    const times = json.items.map((r: { spec: { crashedAt: string } }) =>
      Date.parse(r.spec.crashedAt),
    );
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const none = await rig.kubectl(["coredog", "crashes", "-n", "shop", "--since", "1s"]);
    expect(none.code).toBe(0);
    expect(none.stderr).toContain("No crashes found in shop namespace.");
    const sel = await kubectl(
      "coredog",
      "crashes",
      "-n",
      "shop",
      "-l",
      "coredog.io/workload=crasher",
      "-o",
      "json",
    );
    expect(JSON.parse(sel).items.length).toBe(json.items.length);
    const bad = await rig.kubectl(["coredog", "crashes", "--since", "soon"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('error: --since "soon" is not a duration');
  });

  it("--group folds by fingerprint: count, first and last seen, workloads, top frame", async () => {
    const out = await kubectl("coredog", "crashes", "-A", "--group");
    expect(out.split("\n")[0]).toMatch(
      /^FINGERPRINT\s+COUNT\s+FIRST SEEN\s+LAST SEEN\s+SIGNAL\s+WORKLOADS\s+TOP FRAME$/,
    );
    const groups = JSON.parse(
      await kubectl("coredog", "crashes", "-A", "--group", "-o", "json"),
    ).items;
    const g = groups.find((x: { id: string }) => x.id === record.spec.fingerprint.id);
    expect(g.workloads).toEqual(["shop/deployment/crasher"]);
    expect(g.topFrame).toBe(record.spec.frames[0]);
    expect(out).toMatch(new RegExp(`${record.spec.fingerprint.short}\\s+${g.count}\\s`));
  });

  it("crashes show prints the whole record and the whole crash report", async () => {
    const out = await kubectl("coredog", "crashes", "show", record.metadata.name, "-n", "shop");
    expect(out).toMatch(/Signal:\s+SIGSEGV \(11\)/);
    expect(out).toContain(record.spec.fingerprint.id);
    expect(out).toContain("Backtrace (crashing thread):");
    expect(out).toContain(`kubectl coredog pull ${record.metadata.name} -n shop`);
    // The whole crash report, read from the sidecar beside the core through a short-lived link.
    expect(out).toContain("Crash report (schema 1");
    expect(out).toMatch(/Registers:\n {2}\S+/);
    expect(out).toMatch(/\brip\s+0x[0-9a-f]+/);
    expect(out).toContain("Backtrace (crashing thread, whole):");
    expect(out.match(/^ {2}#\d+ 0x[0-9a-f]+ \S+.* ← crash site$/gm)).toHaveLength(1);
    expect(out).toMatch(/Modules:\n(.*\n)*.*build-id [0-9a-f]{40}/);
    const json = JSON.parse(
      await kubectl("coredog", "crashes", "show", record.metadata.name, "-n", "shop", "-o", "json"),
    );
    expect(json.record.metadata.name).toBe(record.metadata.name);
    expect(json.report.core.sha256).toBe(record.spec.storage.sha256);
    expect(json.report.crash.fingerprint.id).toBe(record.spec.fingerprint.id);
    const missing = await rig.kubectl(["coredog", "crashes", "show", "nope", "-n", "shop"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("error: CoreDump nope does not exist in namespace shop");
  });

  it("pull writes the kernel's core byte for byte, and gdb opens it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cd-pulled-"));
    const out = join(dir, "crash.core");
    const r = await rig.kubectl(["coredog", "pull", record.metadata.name, "-n", "shop", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(record.spec.storage.compression).toBe("zstd");
    const onNode = join(
      rig.nodes[0]!.hostRoot,
      "data/coredog-system/dumps/shop",
      record.spec.pod.name,
      "app",
      record.spec.filename,
    );
    expect(readFileSync(out).equals(readFileSync(onNode))).toBe(true);
    expect(r.stderr).toContain(
      `wrote ${out} (${record.spec.storage.size} bytes, size and sha256 verified)`,
    );
    const gdbLine = r.stdout.trim().split("\n").at(-1)!;
    expect(gdbLine).toBe(`gdb ${record.spec.executable} ${out}`);
    const gdb = await sh("gdb", [
      "-batch",
      "-nx",
      "-ex",
      "info threads",
      record.spec.executable,
      out,
    ]);
    expect(gdb.stdout + gdb.stderr).toMatch(/Program terminated with signal SIGSEGV/);
    // The request was answered and cleaned up.
    expect(
      (await kubectl("get", "coredumppulls", "-n", "shop", "-o", "json")).includes('"items": []'),
    ).toBe(true);
  });

  it("a user bound to view in shop lists and pulls there, and is refused in another namespace", async () => {
    await kubectl("create", "namespace", "elsewhere");
    await kubectl(
      "create",
      "rolebinding",
      "alice-view",
      "-n",
      "shop",
      "--clusterrole=view",
      "--user=alice",
    );
    const env = { KUBECONFIG: rig.kubeconfigFor("alice") };
    const as = (args: string[]) => rig.kubectl(args, { env });
    expect((await as(["get", "cdump", "-n", "shop", "-o", "name"])).stdout).toContain(
      record.metadata.name,
    );
    expect((await as(["coredog", "crashes", "-n", "shop"])).stdout).toContain(record.metadata.name);
    const secret = await as(["get", "secret", "coredog-storage", "-n", "coredog-system"]);
    expect(secret.stderr).toContain("forbidden");
    const dir = mkdtempSync(join(tmpdir(), "cd-alice-"));
    const ok = await as([
      "coredog",
      "pull",
      record.metadata.name,
      "-n",
      "shop",
      "-o",
      join(dir, "a.core"),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(
      createHash("sha256")
        .update(readFileSync(join(dir, "a.core")))
        .digest("hex"),
    ).toBe(record.spec.storage.sha256);
    const list = await as(["coredog", "crashes", "-n", "elsewhere"]);
    expect(list.code).not.toBe(0);
    expect(list.stderr).toContain('User "alice" cannot list resource "coredumps"');
    const pull = await as([
      "coredog",
      "pull",
      record.metadata.name,
      "-n",
      "elsewhere",
      "-o",
      join(dir, "b.core"),
    ]);
    expect(pull.code).not.toBe(0);
    expect(pull.stderr.trim().split("\n")[0]).toMatch(/^error: /);
    expect(readdirSync(dir)).toEqual(["a.core"]);
    const absent = await as(["coredog", "pull", "nope", "-n", "shop", "-o", join(dir, "c.core")]);
    expect(absent.stderr).toContain("error: CoreDump nope does not exist in namespace shop");
  });

  it("pull of a record whose object is gone: one sentence, non-zero, no file", async () => {
    const body = JSON.parse(
      await kubectl("get", "cdump", "-n", "shop", record.metadata.name, "-o", "json"),
    );
    body.metadata = { name: "gone-1", namespace: "shop" };
    body.spec.storage.key = `corefiles/shop/${record.spec.pod.name}/app/never-stored.zst`;
    await rig.kubectl(["create", "-f", "-"], { input: JSON.stringify(body) });
    const dir = mkdtempSync(join(tmpdir(), "cd-gone-"));
    const r = await rig.kubectl([
      "coredog",
      "pull",
      "gone-1",
      "-n",
      "shop",
      "-o",
      join(dir, "x.core"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")[0]).toBe(
      "error: the core of CoreDump shop/gone-1 is no longer in storage (NoSuchKey)",
    );
    expect(readdirSync(dir)).toEqual([]);
    // A record pointing into another namespace's cores is not signed.
    body.metadata = { name: "cross-1", namespace: "shop" };
    body.spec.storage.key = "corefiles/kube-system/secret-pod/app/core";
    await rig.kubectl(["create", "-f", "-"], { input: JSON.stringify(body) });
    const cross = await rig.kubectl([
      "coredog",
      "pull",
      "cross-1",
      "-n",
      "shop",
      "-o",
      join(dir, "y.core"),
    ]);
    expect(cross.stderr).toContain("points outside namespace shop's cores");
    expect(readdirSync(dir)).toEqual([]);
    await kubectl("delete", "cdump", "-n", "shop", "gone-1", "cross-1");
  });
});

describe("retention", () => {
  it("deletes records past maxPerFingerprint with their objects, logs them, and deletes nothing else", async () => {
    const bucket = installed.bucket;
    await rig.s3.client.send(
      new PutObjectCommand({ Bucket: bucket, Key: "corefiles/unrelated/keep-me", Body: "x" }),
    );
    const before = JSON.parse(await kubectl("get", "cdump", "-n", "shop", "-o", "json")).items as {
      metadata: { name: string };
      spec: { crashedAt: string; fingerprint: { id: string }; storage: { key: string } };
    }[];
    // Two records of the same fingerprint: a copy of the real one, older, with its own stored object.
    const older = structuredClone(before[0]!) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    older.metadata = { name: "older-1", namespace: "shop" };
    older.spec.crashedAt = "2026-01-01T00:00:00Z";
    older.spec.storage.key = `${before[0]!.spec.storage.key}.older`;
    await rig.s3.client.send(
      new PutObjectCommand({ Bucket: bucket, Key: older.spec.storage.key, Body: "core" }),
    );
    await rig.s3.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${older.spec.storage.key}.report.json`,
        Body: "{}",
      }),
    );
    await rig.kubectl(["create", "-f", "-"], { input: JSON.stringify(older) });
    const keep = new Map<string, string>(); // newest per fingerprint
    for (const r of [...before].sort(
      (a, b) => Date.parse(b.spec.crashedAt) - Date.parse(a.spec.crashedAt),
    ))
      if (!keep.has(r.spec.fingerprint.id)) keep.set(r.spec.fingerprint.id, r.metadata.name);
    const config =
      (await kubectl(
        "get",
        "cm",
        "-n",
        "coredog-system",
        "coredog",
        "-o",
        "jsonpath={.data.config\\.yaml}",
      )) + "Retention:\n  maxPerFingerprint: 1\n";
    await kubectl(
      "-n",
      "coredog-system",
      "patch",
      "configmap",
      "coredog",
      "--type",
      "merge",
      "-p",
      JSON.stringify({ data: { "config.yaml": config } }),
    );
    await rig.waitFor(
      "retention to delete older-1",
      async () => (await rig.kubectl(["get", "cdump", "-n", "shop", "older-1"])).code !== 0,
      90_000,
    );
    const after = JSON.parse(await kubectl("get", "cdump", "-n", "shop", "-o", "json")).items.map(
      (r: { metadata: { name: string } }) => r.metadata.name,
    );
    expect(after.sort()).toEqual([...keep.values()].sort());
    const keys = (
      await rig.s3.client.send(new ListObjectsV2Command({ Bucket: bucket }))
    ).Contents!.map((o) => o.Key);
    expect(keys).not.toContain(older.spec.storage.key);
    expect(keys).not.toContain(`${older.spec.storage.key}.report.json`);
    expect(keys).toContain("corefiles/unrelated/keep-me");
    for (const name of after) {
      const r = before.find((b) => b.metadata.name === name)!;
      await rig.s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: r.spec.storage.key }));
    }
    const logs = await kubectl(
      "logs",
      "-n",
      "coredog-system",
      "-l",
      "app.kubernetes.io/component=watcher",
      "--tail=-1",
    );
    expect(logs).toContain(
      `retention: deleted CoreDump shop/older-1 and s3://${bucket}/${older.spec.storage.key} (with its report) (more than 1 cores of fingerprint`,
    );
  });
});
