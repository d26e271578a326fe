// The S3-compatible stores people use, end to end on the rig with the real kernel: a pod crashes, the watcher
// program stores the core, verifies it, deletes the local copy and announces it; the notice's presigned link
// downloads the same bytes. The rig's S3 server runs strict, like those stores: it refuses the AWS SDK's flexible
// checksums and aws-chunked bodies (Backblaze B2, COS, OSS, OBS) and, like OSS, path-style requests. The requests'
// headers are recorded, so the tests also check on the wire that none of that reached the store. When a refusal
// is forced (the checksum setting turned back on), `kubectl coredog doctor` and `status` show the store's own words.
// Last, the SDK's default credential chain: with the web-identity variables (IRSA) and no keys, the watcher's keys
// come from an STS stand-in on loopback, and the S3 server accepts only those keys (signatures checked).
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NODE_DUMP_DIR } from "../../src/names.js";
import { startRig, type Rig } from "../rig/index.js";
import { startS3, type RecordedRequest, type RigS3, type S3Strictness } from "../rig/s3.js";
import { makeLayout, startWatcherProc, type WatcherProc } from "../unit/watcher/harness.js";
import { coreKeys, expectSidecar } from "../unit/watcher/stored.js";

let rig: Rig;
const servers: RigS3[] = [];
const procs: WatcherProc[] = [];
const scratch: string[] = [];
let sts: Server | undefined;

const WATCHER_POD = "watcher-node-1";

const kubectl = async (args: string[], input?: string) => {
  const r = await rig.kubectl(args, input === undefined ? {} : { input });
  expect(r.code, `kubectl ${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r.stdout;
};

beforeAll(async () => {
  rig = await startRig({ coreDumps: true });
  await kubectl(["create", "namespace", "shop"]);
  await kubectl(["create", "namespace", "coredog-system"]);
  // The watcher's own pod (a stand-in the node runs, labelled like the DaemonSet's pods) carries the node state
  // that doctor and status read.
  await kubectl(
    ["apply", "-f", "-"],
    `apiVersion: v1
kind: Pod
metadata:
  name: ${WATCHER_POD}
  namespace: coredog-system
  labels: { app.kubernetes.io/name: coredog, app.kubernetes.io/component: watcher }
spec:
  containers:
    - { name: w, image: busybox, command: ["/bin/sh", "-c", "sleep 3600"] }
`,
  );
}, 120_000);

afterAll(async () => {
  for (const p of procs) await p.stop();
  for (const s of servers) await s.stop();
  await new Promise((r) => (sts ? sts.close(r) : r(undefined)));
  await rig?.stop();
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

async function strictS3(strict: S3Strictness[]): Promise<RigS3> {
  const s3 = await startS3({ strict });
  servers.push(s3);
  await s3.createBucket("crashes");
  return s3;
}

const podYaml = (name: string) => `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: shop
spec:
  restartPolicy: Never
  containers:
    - name: app
      image: debian:12
      command: ["/bin/bash", "-c", "ulimit -c unlimited; kill -SEGV $$$$"]
      env:
        - name: COREDOG_POD_NAMESPACE
          valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
        - name: COREDOG_POD_NAME
          valueFrom: { fieldRef: { fieldPath: metadata.name } }
      volumeMounts:
        - name: coredog-dumps
          mountPath: /corefile
          subPathExpr: $(COREDOG_POD_NAMESPACE)/$(COREDOG_POD_NAME)
  volumes:
    - name: coredog-dumps
      hostPath: { path: ${NODE_DUMP_DIR}, type: DirectoryOrCreate }
`;

const dumps = () => join(rig.nodes[0]!.hostRoot, NODE_DUMP_DIR);

/** Starts a watcher program with this StorageConfig body (indented two spaces) and crashes the pod. */
async function crashWith(
  pod: string,
  storage: string,
  env: Record<string, string> = {},
): Promise<WatcherProc> {
  // One watcher at a time on the node directory (a failed test leaves its watcher running otherwise).
  for (const p of procs) await p.stop();
  const layout = makeLayout("cdw-stores-");
  scratch.push(layout.root);
  writeFileSync(
    layout.config,
    `StorageConfig:
${storage}  StoreDir: corefiles
DeleteLocalCorefile: true
NoticeChannel:
  - chan: slack
    webhookurl: ${rig.receivers.url("slack")}
messageTemplate: "[{pod.namespace}/{pod.name}] core: {corefile.filename} {corefile.url}"
Watcher:
  quietSeconds: 0.5
  rescanSeconds: 5
`,
  );
  const watcher = startWatcherProc(
    { ...layout, dir: dumps(), journal: join(layout.root, "journal") },
    undefined,
    {
      args: ["--node-name", rig.nodes[0]!.name, "--kubeconfig", rig.kubeconfig],
      env: { POD_NAME: WATCHER_POD, POD_NAMESPACE: "coredog-system", ...env },
    },
  );
  procs.push(watcher);
  await watcher.waitFor(/initial scan/, 60_000);
  await kubectl(["apply", "-f", "-"], podYaml(pod));
  return watcher;
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** crash -> stored -> verified -> deleted -> the notice's link downloads the stored bytes. */
async function expectStoredAndLinked(s3: RigS3, watcher: WatcherProc, pod: string): Promise<void> {
  await watcher.waitFor(
    new RegExp(`deleted local corefile: .*/shop/${pod}/core\\.bash\\.`),
    90_000,
  );
  expect(watcher.count(/upload of .* failed/)).toBe(0);
  const listed = await coreKeys(s3.client, "crashes", `corefiles/shop/${pod}/`);
  expect(listed).toHaveLength(1);
  const key = listed[0]!;
  const head = await s3.client.send(new HeadObjectCommand({ Bucket: "crashes", Key: key }));
  const bytes = await (
    await s3.client.send(new GetObjectCommand({ Bucket: "crashes", Key: key }))
  ).Body!.transformToByteArray();
  expect(Buffer.from(bytes).readUInt16LE(16)).toBe(4); // ET_CORE, from the kernel
  expect(head.Metadata).toMatchObject({ namespace: "shop", pod });
  expect(head.Metadata).not.toHaveProperty("sha256");
  await expectSidecar(s3.client, "crashes", key, { sha256: sha(bytes), size: bytes.length });
  const podDir = join(dumps(), "shop", pod);
  expect(existsSync(podDir) ? readdirSync(podDir).filter((f) => f.startsWith("core")) : []).toEqual(
    [],
  );
  const notice = await rig.receivers.waitFor(
    "slack",
    (r) => JSON.stringify(r.body).includes(`[shop/${pod}] core: core.bash.`),
    30_000,
  );
  // Slack's text escapes & as &amp;.
  const url = /(https?:\/\/[^\s"\\]+)/
    .exec(JSON.stringify(notice.body))?.[1]
    ?.replace(/&amp;/g, "&");
  expect(url, "the notice carries a link").toBeDefined();
  const res = await fetch(url!);
  const downloaded = new Uint8Array(await res.arrayBuffer());
  expect(res.status, new TextDecoder().decode(downloaded).slice(0, 300)).toBe(200);
  expect(sha(downloaded)).toBe(sha(bytes));
}

/** Nothing the strict stores refuse reached them; and the requests are there to be judged (not vacuous). */
function expectNoFlexibleChecksums(requests: RecordedRequest[]): void {
  expect(requests.filter((r) => r.method === "PUT").length).toBeGreaterThanOrEqual(1);
  expect(requests.filter((r) => r.method === "GET").length).toBeGreaterThanOrEqual(1); // the link
  for (const r of requests) {
    const names = [
      ...Object.keys(r.headers),
      ...[...new URL(r.url, "http://x").searchParams.keys()].map((k) => k.toLowerCase()),
    ];
    const flexible = names.filter(
      (n) =>
        n.startsWith("x-amz-checksum") ||
        n === "x-amz-sdk-checksum-algorithm" ||
        n === "x-amz-trailer",
    );
    expect(flexible, `${r.method} ${r.url}`).toEqual([]);
    expect(String(r.headers["content-encoding"] ?? "")).not.toMatch(/aws-chunked/);
    expect(String(r.headers["x-amz-content-sha256"] ?? "")).not.toMatch(/^STREAMING-/);
  }
}

describe("strict S3-compatible stores", () => {
  /** StorageConfig lines for a store: its protocol and endpoint, then the rig's region, bucket and keys. */
  const storage = (
    s3: RigS3,
    protocol: string,
    endpoint: string,
    extra = "",
  ) => `  protocol: ${protocol}
  S3Endpoint: ${endpoint}
  s3Region: ${s3.region}
  S3Bucket: crashes
  s3AccesskeyID: ${s3.accessKeyId}
  s3SecretAccessKey: ${s3.secretAccessKey}
${extra}`;

  it.each([
    {
      store:
        "a store refusing flexible checksums and aws-chunked (B2, MinIO/Ceph before 2025), path style",
      pod: "crasher-b2",
      strict: ["no-flexible-checksums"] as S3Strictness[],
      protocol: "s3",
      // Path style: every request goes to the endpoint's own host.
      endpoint: (s3: RigS3) => s3.endpoint,
    },
    {
      store: "COS (virtual-hosted by default, no flexible checksums)",
      pod: "crasher-cos",
      strict: ["no-flexible-checksums"] as S3Strictness[],
      protocol: "cos",
      endpoint: (s3: RigS3) => s3.vhostEndpoint,
    },
    {
      store: "OSS (refuses path style and flexible checksums)",
      pod: "crasher-oss",
      strict: ["virtual-hosted-only", "no-flexible-checksums"] as S3Strictness[],
      protocol: "oss",
      endpoint: (s3: RigS3) => s3.vhostEndpoint,
    },
  ])(
    "$store: stored, verified, deleted, linked",
    async ({ pod, strict, protocol, endpoint }) => {
      const s3 = await strictS3(strict);
      const watcher = await crashWith(pod, storage(s3, protocol, endpoint(s3)));
      await expectStoredAndLinked(s3, watcher, pod);
      await watcher.stop();
      expectNoFlexibleChecksums(s3.requests);
      const host = new URL(endpoint(s3)).host;
      // Virtual-hosted stores get the bucket in the host name, path-style ones the endpoint's host as it is.
      const expected = protocol === "s3" ? host : `crashes.${host}`;
      expect(new Set(s3.requests.map((r) => r.host))).toEqual(new Set([expected]));
    },
    180_000,
  );

  it("a refusal forced by the settings (checksums on, path style on OSS) is shown by doctor and status in the store's words", async () => {
    const s3 = await strictS3(["virtual-hosted-only", "no-flexible-checksums"]);
    const watcher = await crashWith(
      "crasher-forced",
      storage(s3, "oss", s3.vhostEndpoint, "  requestChecksumCalculation: WHEN_SUPPORTED\n"),
    );
    await watcher.waitFor(/upload of .*crasher-forced.* failed/, 90_000);
    expect(watcher.lines.join("\n")).toMatch(
      /HTTP 400 InvalidArgument: Unsupported header 'x-amz-(sdk-checksum-algorithm|checksum-algorithm|checksum-crc32)' received for this API call/,
    );
    const doctor = await rig.waitFor(
      "doctor to show the store's refusal",
      async () => {
        const r = await rig.kubectl(["coredog", "doctor"], { env: { NO_COLOR: "1" } });
        return /Unsupported header/.test(r.stdout) ? r : undefined;
      },
      30_000,
    );
    expect(doctor.stdout).toMatch(
      new RegExp(`${rig.nodes[0]!.name}.*HTTP 400 InvalidArgument: Unsupported header 'x-amz-`),
    );
    expect(doctor.code).not.toBe(0);
    const status = await rig.kubectl(["coredog", "status"], { env: { NO_COLOR: "1" } });
    expect(status.stdout).toMatch(/Unsupported header 'x-amz-/);
    // The core stays on the node: nothing is deleted before a verified upload.
    expect(
      readdirSync(join(dumps(), "shop", "crasher-forced")).some((f) => f.startsWith("core")),
    ).toBe(true);

    // The same store, now addressed path-style: OSS's own refusal.
    await watcher.stop();
    const again = await crashWith(
      "crasher-forced-2",
      storage(s3, "oss", s3.vhostEndpoint, "  addressingStyle: path\n"),
    );
    await again.waitFor(/upload of .* failed.*SecondLevelDomainForbidden/, 90_000);
    const doctor2 = await rig.waitFor(
      "doctor to show OSS's refusal",
      async () => {
        const r = await rig.kubectl(["coredog", "doctor"], { env: { NO_COLOR: "1" } });
        return /SecondLevelDomainForbidden/.test(r.stdout) ? r : undefined;
      },
      30_000,
    );
    expect(doctor2.stdout).toMatch(
      /HTTP 403 SecondLevelDomainForbidden: Please use virtual hosted style to access/,
    );
    await again.stop();
  }, 240_000);
});

describe("credentials from the SDK's default chain", () => {
  it("with AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN and no keys, the keys come from STS AssumeRoleWithWebIdentity", async () => {
    const token = `eyJ.${randomBytes(16).toString("hex")}.sig`;
    const role = "arn:aws:iam::123456789012:role/coredog-watcher";
    const keys = {
      accessKeyId: `ASIA${randomBytes(8).toString("hex").toUpperCase()}`,
      secretAccessKey: randomBytes(20).toString("base64"),
      sessionToken: randomBytes(24).toString("base64"),
    };
    const calls: URLSearchParams[] = [];
    sts = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        const form = new URLSearchParams(body);
        calls.push(form);
        if (
          form.get("Action") !== "AssumeRoleWithWebIdentity" ||
          form.get("RoleArn") !== role ||
          form.get("WebIdentityToken") !== token
        ) {
          res.writeHead(400, { "content-type": "text/xml" });
          res.end(
            `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>bad token</Message></Error></ErrorResponse>`,
          );
          return;
        }
        const expires = new Date(Date.now() + 3600_000).toISOString();
        res.writeHead(200, { "content-type": "text/xml" });
        res.end(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:coredog-system:coredog-watcher</SubjectFromWebIdentityToken>
    <AssumedRoleUser><Arn>${role}/coredog</Arn><AssumedRoleId>AROA:coredog</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${keys.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${keys.secretAccessKey}</SecretAccessKey>
      <SessionToken>${keys.sessionToken}</SessionToken>
      <Expiration>${expires}</Expiration>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>${randomBytes(8).toString("hex")}</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`);
      });
    });
    await new Promise<void>((r) => sts!.listen(0, "127.0.0.1", r));
    const stsUrl = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;

    const s3 = await strictS3(["no-flexible-checksums"]);
    s3.requireKeys(keys);
    const tokenDir = makeLayout("cdw-irsa-").root;
    scratch.push(tokenDir);
    const tokenFile = join(tokenDir, "token");
    writeFileSync(tokenFile, token);
    const watcher = await crashWith(
      "crasher-irsa",
      `  protocol: s3
  S3Endpoint: ${s3.endpoint}
  s3Region: ${s3.region}
  S3Bucket: crashes
`,
      {
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_ROLE_ARN: role,
        AWS_ROLE_SESSION_NAME: "coredog",
        AWS_ENDPOINT_URL_STS: stsUrl,
        AWS_ACCESS_KEY_ID: "",
        AWS_SECRET_ACCESS_KEY: "",
      },
    );
    await expectStoredAndLinked(s3, watcher, "crasher-irsa");
    await watcher.stop();
    expect(calls.length).toBeGreaterThanOrEqual(1);
    // Every request the watcher made was signed with the STS keys (the server refuses anything else).
    const signedBy = new Set(
      s3.requests.map(
        (r) =>
          /Credential=([^/]+)\//.exec(String(r.headers.authorization ?? ""))?.[1] ??
          new URL(r.url, "http://x").searchParams.get("X-Amz-Credential")?.split("/")[0],
      ),
    );
    expect(signedBy).toEqual(new Set([keys.accessKeyId]));
  }, 180_000);
});
