// CoreDump records end to end: CoreDog installed from manifests/ on the rig, a real crash, the record in the
// pod's namespace, read with kubectl and with `kubectl coredog crashes`.
import { createHash } from "node:crypto";
import { GetObjectCommand } from "@aws-sdk/client-s3";
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
