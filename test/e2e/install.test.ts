// The main end-to-end test: CoreDog installed from manifests/ on the rig, a workload enabled with
// `kubectl coredog enable`, a real crash, and the core in S3, an Event on the pod, a chat message.
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRig, type Rig } from "../rig/index.js";
import { canDumpCores } from "../rig/core-pattern.js";
import { crasherDeployment, installCoreDog, type Installed } from "./support/install.js";
import { expectSidecar } from "../unit/watcher/stored.js";

const sh = promisify(execFile);
const why = canDumpCores();
if (!why.ok) throw new Error(`this test needs real core dumps and cannot run here: ${why.why}`);

let rig: Rig;
let installed: Installed;

beforeAll(async () => {
  rig = await startRig({ coreDumps: true });
  installed = await installCoreDog(rig);
}, 180_000);

afterAll(async () => {
  await rig?.stop();
});

/** Runs a shell line from the guide with the rig's kubeconfig and PATH. */
async function guide(line: string): Promise<string> {
  const { stdout } = await sh("bash", ["-o", "pipefail", "-c", line], {
    env: { ...process.env, ...rig.env },
  });
  return stdout;
}

async function kubectl(...args: string[]): Promise<string> {
  const r = await rig.kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

interface PodSummary {
  metadata: { name: string };
  status: { phase: string };
}

async function watcherPods(): Promise<PodSummary[]> {
  const out = await kubectl(
    "get",
    "pods",
    "-n",
    "coredog-system",
    "-l",
    "app.kubernetes.io/component=watcher",
    "-o",
    "json",
  );
  return (JSON.parse(out) as { items: PodSummary[] }).items;
}

describe("CoreDog installed with kubectl apply -k manifests", () => {
  it("answers the guide's status commands", async () => {
    const all = await guide("kubectl get all -n coredog-system");
    expect(all).toMatch(/deployment\.apps\/coredog-webhook\s+2\/2/);
    expect(all).toMatch(/daemonset\.apps\/coredog-watcher/);
    expect(all).toMatch(/service\/coredog-webhook/);
    expect(
      await guide("kubectl get cm -n coredog-system coredog -o yaml | grep DeleteLocalCorefile"),
    ).toMatch(/DeleteLocalCorefile: true/);
    expect(
      await guide("kubectl get cm -n coredog-system coredog -o yaml | grep -A 5 NoticeChannel"),
    ).toMatch(/chan: slack/);
    expect(
      await guide("kubectl get pods -n coredog-system -l app.kubernetes.io/component=webhook"),
    ).toMatch(/coredog-webhook-\S+\s+1\/1\s+Running/);
    const mwc = JSON.parse(
      await kubectl("get", "mutatingwebhookconfiguration", "coredog", "-o", "json"),
    );
    expect(mwc.webhooks[0].clientConfig.caBundle).toBeTruthy();
  });

  it("takes a real crash from an enabled Deployment to S3, an Event and a chat message", async () => {
    await kubectl("create", "namespace", "shop");
    const created = await rig.kubectl(["apply", "-f", "-"], {
      input: crasherDeployment("shop", "crasher"),
    });
    expect(created.code, created.stderr).toBe(0);
    const enable = await rig.kubectl([
      "coredog",
      "enable",
      "deploy/crasher",
      "-n",
      "shop",
      "--restart",
    ]);
    expect(enable.code, enable.stderr).toBe(0);
    expect(enable.stdout).toMatch(/enabled: cores go to \/corefile/);

    const pod = await rig.waitFor(
      "an injected crasher pod",
      async () => {
        const list = JSON.parse(
          await kubectl("get", "pods", "-n", "shop", "-l", "app=crasher", "-o", "json"),
        );
        return list.items.find(
          (p: {
            spec: { volumes?: { name: string }[] };
            metadata: { deletionTimestamp?: string };
          }) =>
            !p.metadata.deletionTimestamp &&
            p.spec.volumes?.some((v) => v.name === "coredog-dumps"),
        ) as { metadata: { name: string; uid: string }; spec: { nodeName: string } } | undefined;
      },
      60_000,
    );
    const name = pod.metadata.name;
    const opted = await guide(
      `kubectl get pods -A -o json | jq -r '.items[] | select(.metadata.annotations["coredog.io/inject"] == "true") | "\\(.metadata.namespace)/\\(.metadata.name)"'`,
    );
    expect(opted.split("\n")).toContain(`shop/${name}`);

    const notice = await rig.receivers.waitFor(
      "slack",
      (r) => JSON.stringify(r.body).includes(`[shop/${name}] core: core.bash.`),
      60_000,
    );
    expect((notice.body as { text: string }).text).toMatch(
      new RegExp(`^\\[shop/${name}\\] core: core\\.bash\\.\\d+`),
    );

    const listed = await rig.s3.client.send(
      new ListObjectsV2Command({ Bucket: installed.bucket, Prefix: `corefiles/shop/${name}/` }),
    );
    const key = listed.Contents?.[0]?.Key;
    expect(key).toMatch(new RegExp(`^corefiles/shop/${name}/app/.+core\\.bash\\.\\d+`));
    const head = await rig.s3.client.send(
      new HeadObjectCommand({ Bucket: installed.bucket, Key: key }),
    );
    expect(head.Metadata).toMatchObject({ namespace: "shop", pod: name, uid: pod.metadata.uid });
    const object = await rig.s3.client.send(
      new GetObjectCommand({ Bucket: installed.bucket, Key: key }),
    );
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    expect(bytes.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    expect(bytes.readUInt16LE(16)).toBe(4); // ET_CORE
    await expectSidecar(rig.s3.client, installed.bucket, key!, {
      sha256: createHash("sha256").update(bytes).digest("hex"),
      size: bytes.length,
    });

    // Stop the crash loop, then check the node kept nothing.
    await kubectl("-n", "shop", "scale", "deployment", "crasher", "--replicas=0");
    const dir = join(rig.nodes[0]!.hostRoot, "data/coredog-system/dumps/shop", name);
    await rig.waitFor(
      "the node directory emptied",
      () => !existsSync(dir) || readdirSync(dir).filter((f) => f.startsWith("core")).length === 0,
      30_000,
    );

    const events = await kubectl(
      "get",
      "events",
      "-n",
      "shop",
      "--field-selector",
      `involvedObject.name=${name}`,
    );
    expect(events).toMatch(/CoreDumpUploaded/);

    const logs = await guide(
      `kubectl logs -n coredog-system -l app.kubernetes.io/component=watcher --tail=-1`,
    );
    expect(logs).toContain(`received fsnotify event: /corefile/shop/${name}/app/core.bash.`);
    expect(logs).toContain(`capture a file:/corefile/shop/${name}/app/core.bash.`);
    expect(logs).toContain("resolving pod info");
    expect(logs).toContain(`resolved pod from webhook path: shop/${name}`);
    expect(logs).toContain(`deleted local corefile: /corefile/shop/${name}/app/core.bash.`);
    expect(
      await guide(
        `kubectl logs -n coredog-system -l app.kubernetes.io/component=watcher --tail=-1 | grep -E "(upload|deleted)"`,
      ),
    ).toMatch(/upload/);
    expect(
      await guide(
        `kubectl logs -n coredog-system -l app.kubernetes.io/component=watcher --tail=-1 | grep -i notice`,
      ),
    ).toMatch(/notice sent/);
  }, 150_000);

  it("logs every skip reason of the guide's table with the pod's name", async () => {
    await kubectl("create", "namespace", "skips");
    const cases: [string, Record<string, string>, string][] = [
      ["skip-none", {}, "no annotations"],
      ["skip-missing", { other: "x" }, "annotation coredog.io/inject not found"],
      ["skip-false", { "coredog.io/inject": "false" }, "inject=false"],
      ["skip-nopath", { "coredog.io/inject": "true" }, "coredog.io/path is required but not set"],
      [
        "skip-etc",
        { "coredog.io/inject": "true", "coredog.io/path": "/etc" },
        "path=/etc is not allowed",
      ],
    ];
    for (const [name, annotations] of cases) {
      const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: "skips", annotations },
        spec: {
          restartPolicy: "Never",
          containers: [{ name: "c", image: "debian:12", command: ["/bin/true"] }],
        },
      };
      const r = await rig.kubectl(["create", "-f", "-"], { input: JSON.stringify(pod) });
      expect(r.code, r.stderr).toBe(0);
    }
    for (const [name, , reason] of cases) {
      const line = await rig.waitFor(
        `the webhook's log line for ${name}`,
        async () =>
          (
            await guide(
              `kubectl logs -n coredog-system -l app.kubernetes.io/component=webhook --tail=-1 | grep "${name}" || true`,
            )
          )
            .split("\n")
            .find((l) => l.includes(reason)),
        20_000,
      );
      expect(line).toContain(reason);
    }
  });

  it("lets the guide's debugging session into the watcher: bash, the directory, a test file refused", async () => {
    const watcher = (await watcherPods())[0]!.metadata.name;
    const ls = await guide(
      `kubectl exec -n coredog-system ${watcher} -- bash -c "ls -la /corefile/"`,
    );
    expect(ls).toMatch(/\.coredog/);
    const name = `test-${Date.now()}.txt`;
    await guide(
      `kubectl exec -n coredog-system ${watcher} -- bash -c 'echo "test" > /corefile/${name}'`,
    );
    const line = await rig.waitFor(
      "the watcher refusing the test file",
      async () =>
        (await guide(`kubectl logs -n coredog-system ${watcher} --tail=-1`))
          .split("\n")
          .find((l) => l.includes(`refused /corefile/${name}`)),
      30_000,
    );
    expect(line).toMatch(/error/);
    expect(existsSync(join(rig.nodes[0]!.hostRoot, "data/coredog-system/dumps", name))).toBe(true);
  });

  it("runs CoreDog's pods from the image that ships, as the manifests run them", async () => {
    const watcher = (await watcherPods())[0]!.metadata.name;
    const inWatcher = await guide(
      `kubectl exec -n coredog-system ${watcher} -- bash -c 'id -u; echo "$NODE_ENV"; pwd; ls /app; command -v coredog-controller; test -e ${join(process.cwd(), "package.json")} && echo checkout-visible; touch /app/x 2>&1 || true'`,
    );
    const [uid, nodeEnv, cwd, ...rest] = inWatcher.trim().split("\n");
    expect(uid).toBe("0"); // runAsUser: 0 in the DaemonSet
    expect(nodeEnv).toBe("production"); // the image's ENV
    expect(cwd).toBe("/app"); // the image's WORKDIR
    const listing = rest.join("\n");
    expect(listing).toContain("/app/bin/coredog-controller");
    for (const name of ["dist", "node_modules", "package.json"]) expect(listing).toContain(name);
    for (const name of ["test", "src", "controller", "tsconfig.json"])
      expect(rest).not.toContain(name);
    expect(listing).not.toContain("checkout-visible");
    expect(listing).toMatch(/Read-only file system/); // readOnlyRootFilesystem: true
    const webhook = JSON.parse(
      await kubectl(
        "get",
        "pods",
        "-n",
        "coredog-system",
        "-l",
        "app.kubernetes.io/component=webhook",
        "-o",
        "json",
      ),
    ).items[0].metadata.name as string;
    const inWebhook = await guide(
      `kubectl exec -n coredog-system ${webhook} -- bash -c 'id -u; ls /app/node_modules | wc -l'`,
    );
    const [webhookUid, modules] = inWebhook.trim().split("\n");
    expect(webhookUid).toBe("65532");
    // The bundles carry the libraries: only oclif's help plugin and what it needs are left.
    expect(Number(modules)).toBeLessThan(50);
  });

  it("runs the guide's emergency and restart commands", async () => {
    await guide(
      `kubectl patch mutatingwebhookconfiguration coredog --type=json -p='[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]'`,
    );
    const mwc = JSON.parse(
      await kubectl("get", "mutatingwebhookconfiguration", "coredog", "-o", "json"),
    );
    expect(mwc.webhooks[0].failurePolicy).toBe("Ignore");

    const before = (await watcherPods()).map((p) => p.metadata.name);
    await guide("kubectl rollout restart daemonset -n coredog-system coredog-watcher");
    await rig.waitFor(
      "a new watcher pod",
      async () => {
        const pods = await watcherPods();
        return pods.some((p) => !before.includes(p.metadata.name) && p.status.phase === "Running");
      },
      60_000,
    );
    await guide("kubectl rollout restart deployment -n coredog-system coredog-webhook");
  });
});

describe("CoreDog's own pods without their image", () => {
  it("doctor and status name the pods that cannot pull it, and say how to fix it", async () => {
    const missing = "ghcr.io/coredog/coredog:9.9.9";
    // A version that was never built or pushed: the node cannot pull it (ErrImagePull, ImagePullBackOff).
    await kubectl(
      "-n",
      "coredog-system",
      "set",
      "image",
      "daemonset/coredog-watcher",
      `watcher=${missing}`,
    );
    try {
      await rig.waitFor(
        "a watcher pod that cannot pull its image",
        async () => {
          const pods = JSON.parse(
            await kubectl(
              "get",
              "pods",
              "-n",
              "coredog-system",
              "-l",
              "app.kubernetes.io/component=watcher",
              "-o",
              "json",
            ),
          ) as {
            items: {
              status?: { containerStatuses?: { state?: { waiting?: { reason?: string } } }[] };
            }[];
          };
          return pods.items.some((p) =>
            (p.status?.containerStatuses ?? []).some((s) =>
              ["ErrImagePull", "ImagePullBackOff"].includes(s.state?.waiting?.reason ?? ""),
            ),
          );
        },
        60_000,
      );
      const status = await guide("kubectl coredog status");
      expect(status).toMatch(
        /image:\s+1 pod\(s\) cannot pull ghcr\.io\/coredog\/coredog:9\.9\.9 \((ErrImagePull|ImagePullBackOff)\)/,
      );
      expect(status).toContain(
        "docker build -t REGISTRY/coredog:9.9.9 . && docker push REGISTRY/coredog:9.9.9",
      );
      const doctor = await guide("kubectl coredog doctor; echo exit=$?");
      expect(doctor).toMatch(
        /✗ watcher pods have their image: 1 pod\(s\) cannot pull ghcr\.io\/coredog\/coredog:9\.9\.9/,
      );
      expect(doctor).toMatch(/fix: build and push the image where the nodes can pull it/);
      expect(doctor).toContain("kustomize images: override");
      expect(doctor).toContain("exit=1");
    } finally {
      await kubectl(
        "-n",
        "coredog-system",
        "set",
        "image",
        "daemonset/coredog-watcher",
        "watcher=ghcr.io/coredog/coredog:0.1.0",
      );
    }
  });
});
