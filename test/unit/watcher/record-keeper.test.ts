// The records' keeper against the rig's API server (real HTTPS, RBAC, the shipped definitions and roles) and its
// real S3 server: one Lease holder at a time, pull requests answered only for the request's own namespace, and
// retention deleting records with their objects and nothing else.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../controller/log.js";
import { markerName, markerPrefix } from "../../../controller/watcher/fingerprint-markers.js";
import { RecordKeeper } from "../../../controller/watcher/record-keeper.js";
import { createStorageAdmin } from "../../../controller/watcher/storage-admin.js";
import { buildCoreDump } from "../../../src/coredump.js";
import { parseSettings } from "../../../src/settings.js";
import { startApiServer, type ApiServer } from "../../rig/apiserver/index.js";
import { kubectl } from "../../rig/apiserver/testing.js";
import { startS3, type RigS3 } from "../../rig/s3.js";

const MANIFESTS = new URL("../../../manifests/base/", import.meta.url).pathname;
let api: ApiServer;
let s3: RigS3;
let dir: string;
let custom: CustomObjectsApi;
const lines: string[] = [];
const k = (args: string[], input?: string) => kubectl(api.kubeconfigPath, args, input);

function settings(extra = "") {
  const r = parseSettings(
    `StorageConfig:\n  protocol: s3\n  S3Endpoint: ${s3.endpoint}\n  S3Bucket: crashes\n  s3AccesskeyID: ${s3.accessKeyId}\n  s3SecretAccessKey: ${s3.secretAccessKey}\n  addressingStyle: path\nWatcher:\n  rescanSeconds: 1\n${extra}`,
  );
  if (!r.ok) throw new Error(r.errors.join("; "));
  return r.settings;
}

/** A keeper running as the watcher's ServiceAccount, with only the manifests' RBAC. */
function keeper(identity: string, extra = "") {
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  kc.users[0] = {
    ...kc.users[0]!,
    token: api.serviceAccountToken("coredog-system", "coredog-watcher"),
  };
  const s = settings(extra);
  return new RecordKeeper({
    kc,
    log: createLogger({ write: (l) => lines.push(l) }),
    settings: () => s,
    storage: (x) => createStorageAdmin(x.storage),
    identity,
    leaseNamespace: "coredog-system",
  });
}

async function record(ns: string, name: string, crashedAt: string, key: string) {
  const body = buildCoreDump({
    namespace: ns,
    pod: name,
    node: "node-a",
    capturedAt: new Date(crashedAt),
    filename: "core.x",
    key,
    bucket: "crashes",
    size: 4,
    sha256: "c".repeat(64),
    compression: "none",
  });
  body.metadata.name = name;
  await custom.createNamespacedCustomObject({
    group: "coredog.io",
    version: "v1alpha1",
    plural: "coredumps",
    namespace: ns,
    body,
  });
  await s3.client.send(new PutObjectCommand({ Bucket: "crashes", Key: key, Body: "core" }));
  await s3.client.send(
    new PutObjectCommand({ Bucket: "crashes", Key: `${key}.report.json`, Body: "{}" }),
  );
}

async function pull(ns: string, target: string) {
  const o = (await custom.createNamespacedCustomObject({
    group: "coredog.io",
    version: "v1alpha1",
    plural: "coredumppulls",
    namespace: ns,
    body: {
      apiVersion: "coredog.io/v1alpha1",
      kind: "CoreDumpPull",
      metadata: { generateName: "p-" },
      spec: { coreDump: target },
    },
  })) as { metadata: { name: string } };
  return o.metadata.name;
}

const status = async (ns: string, name: string) =>
  (
    (await custom.getNamespacedCustomObject({
      group: "coredog.io",
      version: "v1alpha1",
      plural: "coredumppulls",
      namespace: ns,
      name,
    })) as {
      status?: { url?: string; error?: string; expiresAt?: string };
    }
  ).status;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cd-keeper-"));
  api = await startApiServer({ dir });
  s3 = await startS3({ dir: join(dir, "s3") });
  await s3.createBucket("crashes");
  for (const f of [
    "namespace.yaml",
    "rbac.yaml",
    "coredump-crd.yaml",
    "coredumppull-crd.yaml",
    "coredump-rbac.yaml",
  ]) {
    const r = await k(["apply", "-f", join(MANIFESTS, f)]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  await k(["create", "ns", "shop"]);
  await k(["create", "ns", "other"]);
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  custom = kc.makeApiClient(CustomObjectsApi);
});

afterAll(async () => {
  await s3?.stop();
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the records keeper", () => {
  it("holds the Lease alone; the other watcher waits", async () => {
    const a = keeper("watcher-a");
    const b = keeper("watcher-b");
    await a.once();
    await b.once();
    const lease = JSON.parse(
      (await k(["get", "lease", "-n", "coredog-system", "coredog-records", "-o", "json"])).stdout,
    );
    expect(lease.spec.holderIdentity).toBe("watcher-a");
    expect(lines.join("")).toContain(
      "records keeper: holding Lease coredog-system/coredog-records as watcher-a",
    );
    expect(lines.join("")).toContain(
      "records keeper: Lease coredog-system/coredog-records is held by another watcher",
    );
  });

  it("answers a pull with a working link, only for its own namespace's cores", async () => {
    await record("shop", "api-1", "2026-12-01T10:00:00Z", "corefiles/shop/api-1/app/1-core.x");
    await record("shop", "forged", "2026-12-01T10:00:00Z", "corefiles/other/db-1/app/1-core.x");
    const ok = await pull("shop", "api-1");
    const wrongNs = await pull("other", "api-1");
    const forged = await pull("shop", "forged");
    await keeper("watcher-a").once();
    const st = await status("shop", ok);
    expect(Date.parse(st!.expiresAt!)).toBeGreaterThan(Date.now());
    const res = await fetch(st!.url!);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("core");
    expect((await status("other", wrongNs))!.error).toBe(
      "CoreDump api-1 does not exist in namespace other",
    );
    expect((await status("shop", forged))!.error).toContain(
      "points outside namespace shop's cores",
    );
    expect((await status("shop", forged))!.url).toBeUndefined();
  });

  it("applies retention: records past the limits go with their objects, nothing else does", async () => {
    await record("shop", "old-1", "2020-01-01T00:00:00Z", "corefiles/shop/old-1/app/1-core.x");
    await s3.client.send(
      new PutObjectCommand({ Bucket: "crashes", Key: "corefiles/shop/unrelated", Body: "x" }),
    );
    await keeper("watcher-a", "Retention:\n  maxAge: 365d\n").once();
    const names = (
      (await custom.listClusterCustomObject({
        group: "coredog.io",
        version: "v1alpha1",
        plural: "coredumps",
      })) as {
        items: { metadata: { name: string } }[];
      }
    ).items.map((i) => i.metadata.name);
    expect(names.sort()).toEqual(["api-1", "forged"]);
    const keys = (await s3.client.send(new ListObjectsV2Command({ Bucket: "crashes" })))
      .Contents!.map((o) => o.Key)
      .sort();
    expect(keys).not.toContain("corefiles/shop/old-1/app/1-core.x");
    expect(keys).not.toContain("corefiles/shop/old-1/app/1-core.x.report.json");
    expect(keys).toContain("corefiles/shop/unrelated");
    await s3.client.send(
      new HeadObjectCommand({ Bucket: "crashes", Key: "corefiles/shop/api-1/app/1-core.x" }),
    );
    expect(lines.join("")).toContain(
      "retention: deleted CoreDump shop/old-1 and s3://crashes/corefiles/shop/old-1/app/1-core.x (with its report) (older than 8760h)",
    );
  });

  it("applies retention to fingerprint markers too: those older than maxAge go, newer ones and other objects stay", async () => {
    const prefix = markerPrefix(settings().storage.storeDir, "f".repeat(64));
    const old = `${prefix}${markerName("corefiles/shop/gone/1-core", new Date("2020-01-01T00:00:00Z"))}`;
    const recent = `${prefix}${markerName("corefiles/shop/api-1/app/1-core.x", new Date())}`;
    const other = `${prefix}notes.txt`;
    for (const Key of [old, recent, other])
      await s3.client.send(new PutObjectCommand({ Bucket: "crashes", Key, Body: "{}" }));
    lines.length = 0;
    await keeper("watcher-a", "Retention:\n  maxAge: 365d\n").once();
    const keys = (
      await s3.client.send(new ListObjectsV2Command({ Bucket: "crashes", Prefix: prefix }))
    ).Contents!.map((o) => o.Key);
    expect(keys.sort()).toEqual([recent, other].sort());
    expect(lines.join("")).toContain("retention: deleted 1 fingerprint marker older than 8760h");
    // Without maxAge nothing ages out.
    await s3.client.send(new PutObjectCommand({ Bucket: "crashes", Key: old, Body: "{}" }));
    await keeper("watcher-a", "Retention:\n  maxPerFingerprint: 5\n").once();
    await s3.client.send(new HeadObjectCommand({ Bucket: "crashes", Key: old }));
  });
});
