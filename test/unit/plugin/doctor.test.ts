// `doctor`'s checks over plain objects: each of the guide's six problems broken on purpose, and the
// check that must name the cause. Certificates are real, made with openssl in a temp dir.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type {
  V1ConfigMap,
  V1DaemonSet,
  V1MutatingWebhookConfiguration,
  V1Namespace,
  V1Pod,
} from "@kubernetes/client-node";
import fjp from "fast-json-patch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runChecks, verdict, type Check, type DoctorInput } from "../../../plugin/lib/doctor.js";
import { decide, injectionPatch } from "../../../src/injection.js";
import type { NodeState } from "../../../src/node-state.js";

let dir: string;
const pem: Record<"ca" | "otherCa" | "serving" | "expired" | "wrongHost", string> = {
  ca: "",
  otherCa: "",
  serving: "",
  expired: "",
  wrongHost: "",
};

function openssl(...args: string[]) {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

/** A certificate for `host` signed by ca.crt, valid from `start` to `end` (openssl ca's YYYYMMDDHHMMSSZ). */
function issue(name: string, host: string, start: string, end: string): string {
  openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${host}`,
  );
  writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=DNS:${host}\n`);
  openssl(
    "ca",
    "-batch",
    "-config",
    "ca.cnf",
    "-cert",
    "ca.crt",
    "-keyfile",
    "ca.key",
    "-in",
    `${name}.csr`,
    "-out",
    `${name}.crt`,
    "-startdate",
    start,
    "-enddate",
    end,
    "-extfile",
    `${name}.ext`,
    "-notext",
  );
  return readFileSync(path.join(dir, `${name}.crt`), "utf8");
}

const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "coredog-doctor-"));
  writeFileSync(path.join(dir, "index.txt"), "");
  writeFileSync(path.join(dir, "serial"), "01\n");
  writeFileSync(
    path.join(dir, "ca.cnf"),
    "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n" +
      "default_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n",
  );
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "other.key",
    "-out",
    "other.crt",
    "-days",
    "30",
    "-subj",
    "/CN=other-ca",
  );
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "3650",
    "-subj",
    "/CN=coredog-ca",
  );
  pem.ca = readFileSync(path.join(dir, "ca.crt"), "utf8");
  pem.otherCa = readFileSync(path.join(dir, "other.crt"), "utf8");
  const now = Date.now();
  const svc = "coredog-webhook.coredog-system.svc";
  pem.serving = issue(
    "serving",
    svc,
    stamp(new Date(now - 86_400_000)),
    stamp(new Date(now + 365 * 86_400_000)),
  );
  pem.expired = issue("expired", svc, "20200101000000Z", "20200201000000Z");
  pem.wrongHost = issue(
    "wrong",
    "api.example.com",
    stamp(new Date(now - 86_400_000)),
    stamp(new Date(now + 365 * 86_400_000)),
  );
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString("base64");
const ok = <T>(value: T) => ({ ok: true as const, value });

const SETTINGS = `StorageConfig:
  protocol: s3
  S3Endpoint: http://127.0.0.1:9000
  s3Region: us-east-1
  S3Bucket: crashes
DeleteLocalCorefile: true
NoticeChannel:
  - chan: slack
    webhookurl: https://hooks.example.com/x
`;

function webhookConfig(caBundle = pem.ca): V1MutatingWebhookConfiguration {
  return {
    metadata: { name: "coredog" },
    webhooks: [
      {
        name: "pods.coredog.io",
        admissionReviewVersions: ["v1"],
        sideEffects: "None",
        failurePolicy: "Ignore",
        clientConfig: {
          service: { name: "coredog-webhook", namespace: "coredog-system" },
          caBundle: b64(caBundle),
        },
        namespaceSelector: {
          matchExpressions: [
            {
              key: "kubernetes.io/metadata.name",
              operator: "NotIn",
              values: ["kube-system", "coredog-system"],
            },
          ],
        },
      },
    ],
  };
}

const ready = (name: string, node: string, annotations?: Record<string, string>): V1Pod => ({
  metadata: { name, namespace: "coredog-system", annotations },
  spec: { nodeName: node, containers: [{ name: "c", image: "coredog" }] },
  status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
});

function nodeState(over: Partial<NodeState> = {}): Record<string, string> {
  const state: NodeState = {
    node: "node-1",
    corePattern: "/corefile/core.%e.%p.%h.%t",
    filesWaiting: 0,
    bytesWaiting: 0,
    updatedAt: new Date().toISOString(),
    configuredPath: "/corefile",
    dumpDir: { mode: "1733", uid: 0, gid: 0 },
    ...over,
  };
  return { "coredog.io/node-state": JSON.stringify(state) };
}

const watcherDs = (nodeSelector?: Record<string, string>): V1DaemonSet => ({
  metadata: { name: "coredog-watcher", namespace: "coredog-system" },
  spec: {
    selector: {},
    template: { spec: { nodeSelector, containers: [{ name: "watcher", image: "coredog" }] } },
  },
});

const namespace = (name: string, labels: Record<string, string> = {}): V1Namespace => ({
  metadata: { name, labels: { "kubernetes.io/metadata.name": name, ...labels } },
});

function appPod(annotations: Record<string, string> | undefined, ns = "shop"): V1Pod {
  return {
    metadata: {
      name: "api-1",
      namespace: ns,
      uid: "u1",
      annotations,
      creationTimestamp: new Date(),
    },
    spec: { nodeName: "node-1", containers: [{ name: "app", image: "debian" }] },
    status: { phase: "Running" },
  };
}

const OPTED_IN = { "coredog.io/inject": "true", "coredog.io/path": "/corefile" };

/** The pod as the webhook patched it: the node directory really mounted. */
function injectedPod(ns = "shop"): V1Pod {
  const p = appPod(OPTED_IN, ns);
  const d = decide(p);
  if (!d.inject) throw new Error(d.reason);
  return fjp.applyPatch(structuredClone(p), injectionPatch(p, d)).newDocument;
}

function healthy(over: Partial<DoctorInput> = {}): DoctorInput {
  return {
    now: new Date(),
    pod: injectedPod(),
    podNamespace: ok(namespace("shop")),
    webhookConfig: ok(webhookConfig()),
    webhookPods: ok([ready("coredog-webhook-a", "node-1"), ready("coredog-webhook-b", "node-1")]),
    tlsSecret: ok({
      metadata: { name: "coredog-webhook-tls" },
      data: { "tls.crt": b64(pem.serving) },
    }),
    configMap: ok({
      metadata: { name: "coredog" },
      data: { "config.yaml": SETTINGS },
    } as V1ConfigMap),
    watcher: ok(watcherDs()),
    watcherPods: ok([ready("coredog-watcher-x", "node-1", nodeState())]),
    ...over,
  };
}

function check(checks: Check[], id: string): Check {
  const c = checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id} in ${checks.map((x) => x.id).join(", ")}`);
  return c;
}

function failing(input: DoctorInput, id: string, problem: number): Check {
  const checks = runChecks(input);
  const c = check(checks, id);
  expect(c.status).toBe("fail");
  expect(c.problem).toBe(problem);
  expect(verdict(checks)).toBe("problems");
  return c;
}

describe("doctor: a healthy set-up", () => {
  it("passes every check and says so", () => {
    const checks = runChecks(healthy());
    expect(checks.filter((c) => c.status === "fail")).toEqual([]);
    expect(verdict(checks)).toBe("ok");
    expect(check(checks, "ca-bundle").detail).toMatch(
      /valid for coredog-webhook\.coredog-system\.svc/,
    );
    expect(check(checks, "injected").detail).toBe("mounted in app");
  });
});

describe("doctor, problem 1: the pod did not get the volume", () => {
  it("no annotations", () => {
    const c = failing(healthy({ pod: appPod(undefined) }), "decision", 1);
    expect(c.detail).toContain("no annotations");
    expect(c.fix).toMatch(/kubectl coredog enable/);
  });

  it("inject=false", () => {
    const c = failing(
      healthy({ pod: appPod({ ...OPTED_IN, "coredog.io/inject": "false" }) }),
      "decision",
      1,
    );
    expect(c.detail).toContain("inject=false");
  });

  it("annotation coredog.io/inject not found", () => {
    const c = failing(healthy({ pod: appPod({ "coredog.io/path": "/corefile" }) }), "decision", 1);
    expect(c.detail).toContain("annotation coredog.io/inject not found");
  });

  it("path missing", () => {
    const c = failing(healthy({ pod: appPod({ "coredog.io/inject": "true" }) }), "decision", 1);
    expect(c.detail).toContain("coredog.io/path is required but not set");
  });

  it("an unsafe path", () => {
    const c = failing(
      healthy({ pod: appPod({ ...OPTED_IN, "coredog.io/path": "/etc" }) }),
      "decision",
      1,
    );
    expect(c.detail).toContain("path=/etc is not allowed");
    expect(c.fix).toMatch(/\/corefile/);
  });

  it("a namespace that enforces Pod Security restricted", () => {
    const input = healthy({
      pod: appPod(OPTED_IN),
      podNamespace: ok(namespace("shop", { "pod-security.kubernetes.io/enforce": "restricted" })),
    });
    const c = failing(input, "decision", 1);
    expect(c.detail).toMatch(/restricted/);
  });

  it("a pod created before it was enabled", () => {
    const c = failing(healthy({ pod: appPod(OPTED_IN) }), "injected", 1);
    expect(c.detail).toContain("created before it was enabled");
    expect(c.fix).toMatch(/recreate the pod/);
    expect(check(runChecks(healthy({ pod: appPod(OPTED_IN) })), "decision").status).toBe("pass");
  });

  it("a namespace the webhook's namespaceSelector excludes", () => {
    const input = healthy({
      pod: appPod(OPTED_IN, "kube-system"),
      podNamespace: ok(namespace("kube-system")),
    });
    const c = failing(input, "injected", 1);
    expect(c.detail).toContain("namespaceSelector excludes namespace kube-system");
  });
});

describe("doctor, problem 2: the core was not detected", () => {
  it("no watcher on the pod's node", () => {
    const input = healthy({ watcherPods: ok([ready("coredog-watcher-y", "node-2", nodeState())]) });
    const c = failing(input, "watcher", 2);
    expect(c.detail).toBe("no watcher pod on node node-1");
  });

  it("the watcher pod on the node is not ready", () => {
    const pod = ready("coredog-watcher-x", "node-1", nodeState());
    pod.status = { phase: "Running", conditions: [{ type: "Ready", status: "False" }] };
    const c = failing(healthy({ watcherPods: ok([pod]) }), "watcher", 2);
    expect(c.detail).toMatch(/not ready/);
  });

  it("the watchers are paused", () => {
    const c = failing(
      healthy({ watcher: ok(watcherDs({ "coredog.io/paused": "true" })) }),
      "watcher",
      2,
    );
    expect(c.detail).toContain("paused");
    expect(c.fix).toBe("kubectl coredog emergency watcher resume");
  });

  it("core_pattern does not match the pod's path", () => {
    const state = nodeState({ corePattern: "/var/crash/core.%e.%p" });
    const input = healthy({ watcherPods: ok([ready("coredog-watcher-x", "node-1", state)]) });
    const c = failing(input, "core-pattern", 2);
    expect(c.detail).toContain(
      'core_pattern is "/var/crash/core.%e.%p", the pod\'s directory is at /corefile',
    );
    expect(c.fix).toMatch(/sysctl -w kernel\.core_pattern=\/corefile\/core/);
  });

  it("a non-root pod whose node directory does not let it write", () => {
    const state = nodeState({ dumpDir: { mode: "0755", uid: 0, gid: 0 } });
    const pod = injectedPod();
    pod.spec!.securityContext = { runAsUser: 1000, runAsGroup: 1000 };
    const input = healthy({ pod, watcherPods: ok([ready("coredog-watcher-x", "node-1", state)]) });
    const c = failing(input, "dir-writable", 2);
    expect(c.detail).toContain(
      "is 0755 owned by 0:0: the kernel cannot create the cores of app (uid 1000, gid 1000)",
    );
    expect(c.fix).toMatch(/chmod 1733 \/data\/coredog-system\/dumps/);
    const fine = healthy({ pod });
    expect(runChecks(fine).find((x) => x.id === "dir-writable")?.status).toBe("pass");
  });

  it("core_pattern pipes cores to a program", () => {
    const state = nodeState({
      corePattern: "|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h",
    });
    const input = healthy({ watcherPods: ok([ready("coredog-watcher-x", "node-1", state)]) });
    const c = failing(input, "core-pattern", 2);
    expect(c.detail).toMatch(/pipes cores to a program/);
  });
});

describe("doctor, problem 4: local files are not cleaned up", () => {
  it("DeleteLocalCorefile: false", () => {
    const text = SETTINGS.replace("DeleteLocalCorefile: true", "DeleteLocalCorefile: false");
    const input = healthy({ configMap: ok({ data: { "config.yaml": text } } as V1ConfigMap) });
    const c = failing(input, "delete-local", 4);
    expect(c.detail).toContain("DeleteLocalCorefile is false");
  });

  it("the node's last upload failed", () => {
    const state = nodeState({
      lastError: { at: "2026-11-27T06:00:00Z", message: "upload failed: NoSuchBucket" },
    });
    const input = healthy({ watcherPods: ok([ready("coredog-watcher-x", "node-1", state)]) });
    const c = failing(input, "upload-error", 4);
    expect(c.detail).toContain("upload failed: NoSuchBucket");
  });

  it("the store refuses uploads: every node's refusal in the store's words, with what to change, also without a pod", () => {
    const b2 =
      "the store answered HTTP 400 InvalidArgument: Unsupported header 'x-amz-sdk-checksum-algorithm' received for this API call.";
    const oss =
      "the store answered HTTP 403 SecondLevelDomainForbidden: Please use virtual hosted style to access.";
    const pods = [
      ready(
        "coredog-watcher-x",
        "node-1",
        nodeState({ storageError: { at: "2026-11-27T06:00:00Z", message: b2 } }),
      ),
      ready(
        "coredog-watcher-y",
        "node-2",
        nodeState({ node: "node-2", storageError: { at: "2026-11-27T06:01:00Z", message: oss } }),
      ),
      ready("coredog-watcher-z", "node-3", nodeState({ node: "node-3" })),
    ];
    const checks = runChecks(healthy({ pod: undefined, watcherPods: ok(pods) }));
    const refused = checks.filter((c) => c.id === "store-accepts");
    expect(refused.map((c) => [c.status, c.detail])).toEqual([
      ["fail", `node-1 at 2026-11-27T06:00:00Z: ${b2}`],
      ["fail", `node-2 at 2026-11-27T06:01:00Z: ${oss}`],
    ]);
    expect(refused[0]!.fix).toMatch(/flexible checksums/);
    expect(refused[1]!.fix).toMatch(/addressingStyle: virtual/);
    expect(verdict(checks)).toBe("problems");
    const fine = runChecks(healthy({ pod: undefined, watcherPods: ok([pods[2]!]) })).find(
      (c) => c.id === "store-accepts",
    );
    expect(fine?.status).toBe("pass");
  });

  it("a limit acting on a node: which, since when, why, and what to do", () => {
    const limits = {
      dirBytes: 900,
      maxUseBytes: 1000,
      active: [
        {
          limit: "maxUse" as const,
          since: "2026-12-04T10:00:00Z",
          why: "MaxUse: 1100 bytes under the node directory, limit 1000",
        },
      ],
    };
    const pods = [
      ready("coredog-watcher-x", "node-1", nodeState({ limits })),
      ready(
        "coredog-watcher-y",
        "node-2",
        nodeState({ node: "node-2", limits: { dirBytes: 0, active: [] } }),
      ),
    ];
    const found = runChecks(healthy({ pod: undefined, watcherPods: ok(pods) })).filter(
      (c) => c.id === "limits",
    );
    expect(found.map((c) => [c.status, c.detail])).toEqual([
      [
        "warn",
        "node-1: maxUse since 2026-12-04T10:00:00Z: MaxUse: 1100 bytes under the node directory, limit 1000",
      ],
    ]);
    expect(found[0]!.fix).toMatch(/check storage \(kubectl coredog status\)/);
    const calm = runChecks(healthy({ pod: undefined, watcherPods: ok([pods[1]!]) })).find(
      (c) => c.id === "limits",
    );
    expect(calm?.status).toBe("pass");
  });

  it("settings that do not parse", () => {
    const input = healthy({
      configMap: ok({ data: { "config.yaml": "gc_type: shred\n" } } as V1ConfigMap),
    });
    const c = failing(input, "settings", 4);
    expect(c.detail).toMatch(/gc_type/i);
  });
});

describe("doctor, problem 5: no notification", () => {
  it("NoticeChannel empty", () => {
    const text = SETTINGS.replace(/NoticeChannel:[\s\S]*$/, "NoticeChannel: []\n");
    const input = healthy({ configMap: ok({ data: { "config.yaml": text } } as V1ConfigMap) });
    const c = failing(input, "notice-channels", 5);
    expect(c.detail).toContain("NoticeChannel is empty");
  });

  it("a keyword that filters this pod out", () => {
    const text = `${SETTINGS}    keyword: production\n`;
    const input = healthy({ configMap: ok({ data: { "config.yaml": text } } as V1ConfigMap) });
    const c = failing(input, "keyword", 5);
    expect(c.detail).toBe('filtered out by slack (keyword "production")');
    const passing = healthy({
      configMap: ok({ data: { "config.yaml": `${SETTINGS}    keyword: shop\n` } } as V1ConfigMap),
    });
    expect(check(runChecks(passing), "keyword").status).toBe("pass");
  });
});

describe("doctor, problem 5: robots that refuse CoreDog's messages", () => {
  const robots = (body: string, template = "") =>
    healthy({
      pod: undefined,
      configMap: ok({
        data: {
          "config.yaml": `NoticeChannel:\n  - chan: dingtalk\n    webhookurl: https://oapi.dingtalk.com/robot/send?access_token=t\n${body}${template}`,
        },
      } as V1ConfigMap),
    });

  it("warns about a DingTalk channel with neither a secret nor a template of its own", () => {
    const c = check(runChecks(robots("")), "robot-security");
    expect(c.status).toBe("warn");
    expect(c.fix).toMatch(/secretRef.*messageTemplate.*notify test --channel 0/);
    expect(
      check(runChecks(robots("    secretRef: {key: ding}\n")), "robot-security"),
    ).toMatchObject({ status: "pass", detail: "signed with key ding of Secret coredog-notify" });
    const keyword = check(
      runChecks(robots("", 'messageTemplate: "告警 {pod.name}"\n')),
      "robot-security",
    );
    expect(keyword.status).toBe("info");
    expect(keyword.detail).toContain('"告警"');
  });

  it("names each channel a watcher saw refused, and what to change", () => {
    const state = nodeState({
      noticeRefusals: [
        {
          at: "2026-12-04T10:00:00Z",
          channel: 1,
          chan: "feishu",
          kind: "ip",
          message:
            "refused by Feishu's security (ip): the Feishu robot has an IP allowlist [code 19022 \"Ip Not Allowed\"]; fix: add the nodes' egress (NAT) addresses to the robot's IP allowlist",
        },
      ],
    });
    const input = healthy({ watcherPods: ok([ready("coredog-watcher-x", "node-1", state)]) });
    const c = failing(input, "notice-refused", 5);
    expect(c.title).toBe("NoticeChannel[1] (feishu) is taken by the robot");
    expect(c.detail).toContain("node-1 at 2026-12-04T10:00:00Z: refused by Feishu's security (ip)");
    expect(c.detail).toContain("19022");
    expect(c.fix).toBe("add the nodes' egress (NAT) addresses to the robot's IP allowlist");
  });
});

describe("doctor, problem 6: the webhook does not work", () => {
  it("the configuration is missing", () => {
    const c = failing(healthy({ webhookConfig: ok(null) }), "webhook-config", 6);
    expect(c.detail).toMatch(/not found/);
    expect(c.fix).toMatch(/webhook restore/);
  });

  it("no webhook pod is ready", () => {
    const down = ready("coredog-webhook-a", "node-1");
    down.status = {
      phase: "Running",
      conditions: [{ type: "Ready", status: "False" }],
      containerStatuses: [
        {
          name: "webhook",
          image: "coredog",
          imageID: "",
          ready: false,
          restartCount: 5,
          state: { waiting: { reason: "CrashLoopBackOff" } },
        },
      ],
    };
    const c = failing(healthy({ webhookPods: ok([down]) }), "webhook-pods", 6);
    expect(c.detail).toBe("0/1 ready, 1 in CrashLoopBackOff");
    expect(c.fix).toMatch(/generate-cert\.sh/);
  });

  it("a caBundle that did not sign the serving certificate", () => {
    const c = failing(healthy({ webhookConfig: ok(webhookConfig(pem.otherCa)) }), "ca-bundle", 6);
    expect(c.detail).toContain("not signed by any CA in the caBundle");
  });

  it("no caBundle at all", () => {
    const cfg = webhookConfig();
    delete cfg.webhooks![0]!.clientConfig.caBundle;
    const c = failing(healthy({ webhookConfig: ok(cfg) }), "ca-bundle", 6);
    expect(c.detail).toMatch(/no caBundle/);
  });

  it("an expired serving certificate", () => {
    const secret = { data: { "tls.crt": b64(pem.expired) } };
    const c = failing(healthy({ tlsSecret: ok(secret) }), "ca-bundle", 6);
    expect(c.detail).toMatch(/expired on Feb {1,2}1 00:00:00 2020 GMT/);
  });

  it("a serving certificate for another name", () => {
    const c = failing(
      healthy({ tlsSecret: ok({ data: { "tls.crt": b64(pem.wrongHost) } }) }),
      "ca-bundle",
      6,
    );
    expect(c.detail).toContain("not valid for coredog-webhook.coredog-system.svc");
  });

  it("what cannot be read is a warning with the reason, not a verdict", () => {
    const checks = runChecks(
      healthy({
        webhookConfig: { ok: false, reason: "forbidden: cannot get mutatingwebhookconfigurations" },
      }),
    );
    const c = check(checks, "webhook-config");
    expect(c.status).toBe("warn");
    expect(c.detail).toContain("forbidden");
  });
});
