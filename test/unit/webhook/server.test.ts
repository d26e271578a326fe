// The HTTP layer on a real HTTPS server (127.0.0.1:0, openssl-made certificates).
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import jsonpatch from "fast-json-patch";
import type { V1Namespace, V1Pod } from "@kubernetes/client-node";
import { createLogger } from "../../../controller/log.js";
import { createMetrics } from "../../../controller/webhook/metrics.js";
import { createWebhookServer, type WebhookServer } from "../../../controller/webhook/server.js";
import type { NamespaceLookup } from "../../../controller/webhook/admission.js";
import {
  admissionReview,
  deploymentPod,
  logCollector,
  makeCA,
  makeCert,
  patchOf,
  send,
  tempDir,
  type TestCA,
} from "./helpers.js";

const namespaces = new Map<string, V1Namespace>([
  ["shop", { metadata: { name: "shop", labels: { "kubernetes.io/metadata.name": "shop" } } }],
  [
    "locked",
    {
      metadata: { name: "locked", labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
    },
  ],
  [
    "base",
    { metadata: { name: "base", labels: { "pod-security.kubernetes.io/enforce": "baseline" } } },
  ],
]);
/** Namespaces only a direct GET knows (the cache has not seen them yet). */
const fetchable = new Map<string, V1Namespace>([
  [
    "fresh-locked",
    {
      metadata: {
        name: "fresh-locked",
        labels: { "pod-security.kubernetes.io/enforce": "restricted" },
      },
    },
  ],
]);

let ca: TestCA;
let web: WebhookServer;
let port: number;
let ready = true;
let throwInLookup = false;
const logs = logCollector();
const internalErrors: string[] = [];
const metrics = createMetrics({ defaultMetrics: false });

const lookup: NamespaceLookup = {
  cached(name) {
    if (throwInLookup) throw new Error("lookup exploded");
    return namespaces.get(name);
  },
  async fetch(name) {
    if (name === "unreachable") throw new Error("connect ECONNREFUSED 127.0.0.1:6443");
    return fetchable.get(name);
  },
};

function namedPod(name: string, annotations?: Record<string, string>): V1Pod {
  const pod = deploymentPod(annotations ? { annotations } : {});
  pod.metadata = { ...pod.metadata, name, generateName: undefined, ownerReferences: undefined };
  return pod;
}

async function mutate(body: string, headers?: Record<string, string>) {
  return send(port, { ca: ca.pem, body, headers });
}

beforeAll(async () => {
  const dir = tempDir();
  ca = makeCA(dir);
  const cert = makeCert(ca, "serving");
  web = createWebhookServer(
    { cert: cert.cert, key: cert.key },
    {
      log: createLogger({ write: logs.write }),
      metrics,
      namespaces: lookup,
      notReady: () => (ready ? [] : ["namespace cache not synced"]),
      onInternalError: (err, pod) => internalErrors.push(`${err.message} ${pod}`),
      maxBodyBytes: 64 * 1024,
      headersTimeoutMs: 600,
      requestTimeoutMs: 1_200,
    },
  );
  ({ port } = await web.listen(0, "127.0.0.1"));
});

afterAll(async () => {
  await web?.close(1_000);
});

describe("POST /mutate", () => {
  it("injects into a Deployment's pod (v1): the patch applies and mounts the directory with subPathExpr", async () => {
    const pod = deploymentPod();
    const res = await mutate(admissionReview(pod, { uid: "uid-inject-1" }));
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json");
    const answer = res.json() as {
      apiVersion: string;
      kind: string;
      response: Record<string, unknown>;
    };
    expect(answer.apiVersion).toBe("admission.k8s.io/v1");
    expect(answer.kind).toBe("AdmissionReview");
    expect(answer.response).toMatchObject({
      uid: "uid-inject-1",
      allowed: true,
      patchType: "JSONPatch",
    });
    const ops = patchOf(answer)!;
    const patched = jsonpatch.applyPatch(
      structuredClone(pod),
      ops as jsonpatch.Operation[],
      true,
    ).newDocument;
    for (const c of patched.spec!.containers) {
      const m = c.volumeMounts!.find((v) => v.name === "coredog-dumps")!;
      expect(m.mountPath).toBe("/corefile");
      expect(m.subPathExpr).toMatch(
        /^\$\(COREDOG_POD_NAMESPACE\)\/\$\(COREDOG_POD_NAME\)\/[a-z0-9-]+$/,
      );
    }
    expect(patched.spec!.volumes!.find((v) => v.name === "coredog-dumps")!.hostPath!.path).toBe(
      "/data/coredog-system/dumps",
    );
    const line = logs.lines.find((l) => l.includes("inject core dump directory"))!;
    expect(line).toContain("level=info");
    expect(line).toContain(
      'msg="inject core dump directory at /corefile into shop/api-7d9f8b6c4-* (owner ReplicaSet/api-7d9f8b6c4)"',
    );
    expect(line).toContain("containers=app,sidecar");
    expect(line).toContain("path=/corefile");
  });

  it("answers v1beta1 in v1beta1", async () => {
    const res = await mutate(
      admissionReview(deploymentPod(), { version: "v1beta1", uid: "uid-beta" }),
    );
    expect(res.status).toBe(200);
    const answer = res.json() as {
      apiVersion: string;
      response: { uid: string; allowed: boolean };
    };
    expect(answer.apiVersion).toBe("admission.k8s.io/v1beta1");
    expect(answer.response.uid).toBe("uid-beta");
    expect(patchOf(answer)!.length).toBeGreaterThan(0);
  });

  it("takes the namespace from request.namespace when metadata.namespace is empty", async () => {
    const pod = deploymentPod({ namespace: "" });
    const res = await mutate(admissionReview(pod, { namespace: "locked", uid: "uid-ns" }));
    const answer = res.json() as { response: { warnings?: string[] } };
    expect(patchOf(answer)).toBeUndefined();
    expect(answer.response.warnings?.[0]).toContain(
      'namespace locked enforces Pod Security "restricted"',
    );
    expect(logs.text()).toContain('pod="locked/api-7d9f8b6c4-* (owner ReplicaSet/api-7d9f8b6c4)"');
  });

  it.each([
    ["no annotations", {}, "no annotations"],
    [
      "inject missing",
      { "coredog.io/path": "/corefile" },
      "annotation coredog.io/inject not found",
    ],
    [
      "inject=false",
      { "coredog.io/inject": "false", "coredog.io/path": "/corefile" },
      "inject=false",
    ],
    ["path missing", { "coredog.io/inject": "true" }, "coredog.io/path is required but not set"],
    [
      "path /etc",
      { "coredog.io/inject": "true", "coredog.io/path": "/etc" },
      "path=/etc is not allowed",
    ],
    [
      "container missing",
      {
        "coredog.io/inject": "true",
        "coredog.io/path": "/corefile",
        "coredog.io/container": "worker",
      },
      "worker",
    ],
    [
      "path /etc/api",
      { "coredog.io/inject": "true", "coredog.io/path": "/etc/api" },
      "path=/etc/api is not allowed",
    ],
  ])(
    "skips (%s) and logs the guide's text with the pod name",
    async (_label, annotations, text) => {
      const name = `my-pod-${_label.replace(/[^a-z]/g, "")}`;
      const res = await mutate(admissionReview(namedPod(name, annotations)));
      expect(res.status).toBe(200);
      const answer = res.json() as { response: { allowed: boolean; patch?: string } };
      expect(answer.response.allowed).toBe(true);
      expect(answer.response.patch).toBeUndefined();
      // What the guide does: kubectl logs ... | grep "my-pod" and read the reason.
      const mine = logs.lines.filter((l) => l.includes(name));
      expect(mine).toHaveLength(1);
      expect(mine[0]).toContain('msg="skip injection: ');
      expect(mine[0]).toContain(text);
      expect(mine[0]).toContain(`pod=shop/${name}`);
    },
  );

  it("skips a pod whose mount path collides with an existing mount", async () => {
    const pod = namedPod("collide-pod", {
      "coredog.io/inject": "true",
      "coredog.io/path": "/srv/data/",
    });
    pod.spec!.containers[1]!.volumeMounts!.push({ name: "config", mountPath: "/srv/data" });
    const res = await mutate(admissionReview(pod));
    expect(patchOf(res.json())).toBeUndefined();
    const line = logs.lines.find((l) => l.includes("collide-pod"))!;
    expect(line).toContain("code=mount-collision");
    expect(line).toContain(
      "mount path /srv/data is already used by volumeMount config in container sidecar",
    );
  });

  it("skips pods in namespaces enforcing baseline or restricted, also when only a direct GET knows them", async () => {
    for (const ns of ["base", "locked", "fresh-locked"]) {
      const res = await mutate(admissionReview(namedPod(`psa-${ns}`), { namespace: ns }));
      const answer = res.json() as { response: { patch?: string; warnings?: string[] } };
      expect(answer.response.patch).toBeUndefined();
      expect(answer.response.warnings?.[0]).toMatch(
        /enforces Pod Security "(baseline|restricted)"/,
      );
    }
    expect(
      logs.lines.filter(
        (l) => /psa-.*code=pod-security /.test(l) || /code=pod-security .*psa-/.test(l),
      ),
    ).toHaveLength(3);
  });

  it("when Pod Security cannot be checked, skips with a clear reason, warns, and reports an internal error", async () => {
    const before = internalErrors.length;
    const res = await mutate(
      admissionReview(namedPod("psa-unknown"), { namespace: "unreachable" }),
    );
    expect(res.status).toBe(200);
    const answer = res.json() as {
      response: { allowed: boolean; patch?: string; warnings?: string[] };
    };
    expect(answer.response.allowed).toBe(true);
    expect(answer.response.patch).toBeUndefined();
    expect(answer.response.warnings?.[0]).toContain(
      "pod security of namespace unreachable could not be checked",
    );
    const line = logs.lines.find((l) => l.includes("unreachable/psa-unknown"))!;
    expect(line).toContain("level=error");
    expect(line).toContain("could not be checked (connect ECONNREFUSED");
    expect(internalErrors.length).toBe(before + 1);
  });

  it("an internal error admits the pod with a warning and reports it", async () => {
    throwInLookup = true;
    try {
      const res = await mutate(admissionReview(namedPod("boom-pod"), { uid: "uid-boom" }));
      expect(res.status).toBe(200);
      const answer = res.json() as {
        response: { uid: string; allowed: boolean; warnings: string[] };
      };
      expect(answer.response).toMatchObject({ uid: "uid-boom", allowed: true });
      expect(answer.response.warnings[0]).toContain("internal error");
      expect(internalErrors.at(-1)).toContain("lookup exploded shop/boom-pod");
      expect(logs.lines.find((l) => l.includes("boom-pod"))).toContain("level=error");
    } finally {
      throwInLookup = false;
    }
  });

  it.each(["UPDATE", "DELETE", "CONNECT"])("allows %s without a patch", async (operation) => {
    const res = await mutate(admissionReview(deploymentPod(), { operation }));
    expect(res.status).toBe(200);
    const answer = res.json() as { response: Record<string, unknown> };
    expect(answer.response).toEqual({ uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true });
  });

  it("allows other kinds without a patch", async () => {
    const res = await mutate(
      admissionReview(
        { metadata: { name: "x" } },
        { kind: { group: "apps", version: "v1", kind: "Deployment" } },
      ),
    );
    expect((res.json() as { response: Record<string, unknown> }).response).toEqual({
      uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
      allowed: true,
    });
  });

  it("refuses a wrong content type with 415", async () => {
    const res = await mutate(admissionReview(deploymentPod()), { "content-type": "text/plain" });
    expect(res.status).toBe(415);
    expect(res.json()).toMatchObject({ kind: "Status", code: 415, reason: "UnsupportedMediaType" });
    const ok = await mutate(admissionReview(deploymentPod()), {
      "content-type": "application/json; charset=utf-8",
    });
    expect(ok.status).toBe(200);
  });

  it.each([
    ["empty body", "", /empty body/],
    ["malformed JSON", '{"apiVersion": "admission.k8s.io/v1", "kind": ', /malformed JSON/],
    ["not an object", "[1,2,3]", /AdmissionReview object/],
    [
      "wrong kind",
      JSON.stringify({ apiVersion: "v1", kind: "Pod" }),
      /expected kind AdmissionReview/,
    ],
    [
      "missing request",
      JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }),
      /without a request/,
    ],
    [
      "missing uid",
      JSON.stringify({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        request: { operation: "CREATE" },
      }),
      /without a uid/,
    ],
  ])("answers 400 with a Status for %s", async (_label, body, message) => {
    const res = await mutate(body);
    expect(res.status).toBe(400);
    const status = res.json() as { kind: string; code: number; message: string };
    expect(status.kind).toBe("Status");
    expect(status.code).toBe(400);
    expect(status.message).toMatch(message);
  });

  it("answers an allowing AdmissionReview for malformed JSON whose uid is recoverable", async () => {
    const good = admissionReview(deploymentPod(), { uid: "uid-truncated" });
    const res = await mutate(good.slice(0, good.length - 40));
    expect(res.status).toBe(200);
    const answer = res.json() as {
      apiVersion: string;
      response: { uid: string; allowed: boolean; warnings: string[] };
    };
    expect(answer.apiVersion).toBe("admission.k8s.io/v1");
    expect(answer.response.uid).toBe("uid-truncated");
    expect(answer.response.allowed).toBe(true);
    expect(answer.response.warnings[0]).toContain("could not be read");
  });

  it("refuses an oversized body with 413, declared or streamed", async () => {
    const big = JSON.stringify({ pad: "x".repeat(100 * 1024) });
    const declared = await mutate(big);
    expect(declared.status).toBe(413);
    expect(declared.json()).toMatchObject({ kind: "Status", code: 413 });
    const streamed = await new Promise<number>((resolve, reject) => {
      import("node:https").then(({ request }) => {
        const req = request(
          {
            host: "127.0.0.1",
            port,
            method: "POST",
            path: "/mutate",
            ca: ca.pem,
            agent: false,
            headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        for (let i = 0; i < 10; i++) req.write("y".repeat(16 * 1024));
        req.end();
      }, reject);
    });
    expect(streamed).toBe(413);
    // The server is still fine.
    expect((await mutate(admissionReview(deploymentPod()))).status).toBe(200);
  });

  it("answers 405 for other methods and 404 for unknown paths", async () => {
    const get = await send(port, { ca: ca.pem, method: "GET", path: "/mutate" });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe("POST");
    const put = await send(port, { ca: ca.pem, method: "POST", path: "/healthz", body: "{}" });
    expect(put.status).toBe(405);
    const nf = await send(port, { ca: ca.pem, method: "GET", path: "/nope" });
    expect(nf.status).toBe(404);
    expect(nf.json()).toMatchObject({ kind: "Status", code: 404 });
  });

  it("drops a slowloris client that never finishes its headers, and one that never finishes its body", async () => {
    const slow = (payload: string) =>
      new Promise<{ ms: number; data: string }>((resolve, reject) => {
        const t0 = Date.now();
        let data = "";
        const s = connect({ host: "127.0.0.1", port, ca: ca.pem, servername: "localhost" }, () =>
          s.write(payload),
        );
        s.on("data", (d: Buffer) => (data += d.toString()));
        s.on("close", () => resolve({ ms: Date.now() - t0, data }));
        s.on("error", reject);
      });
    const [headers, body] = await Promise.all([
      slow("POST /mutate HTTP/1.1\r\nHost: x\r\ncontent-type: appl"),
      slow(
        'POST /mutate HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"apiV',
      ),
    ]);
    expect(headers.ms).toBeLessThan(4_000);
    expect(body.ms).toBeLessThan(4_000);
    expect(body.data).toMatch(/^HTTP\/1\.1 408/);
  });
});

it("answers 431 to oversized headers", async () => {
  const res = await send(port, {
    ca: ca.pem,
    method: "GET",
    path: "/healthz",
    headers: { "x-big": "a".repeat(40 * 1024) },
  });
  expect(res.status).toBe(431);
  expect((await send(port, { ca: ca.pem, method: "GET", path: "/healthz" })).status).toBe(200);
});

describe("health and metrics", () => {
  it("serves /healthz, and /readyz following readiness", async () => {
    expect((await send(port, { ca: ca.pem, method: "GET", path: "/healthz" })).status).toBe(200);
    expect((await send(port, { ca: ca.pem, method: "GET", path: "/readyz" })).status).toBe(200);
    ready = false;
    const r = await send(port, { ca: ca.pem, method: "GET", path: "/readyz" });
    ready = true;
    expect(r.status).toBe(503);
    expect(r.body).toContain("namespace cache not synced");
  });

  it("counts requests, decisions, errors and latency", async () => {
    await mutate(admissionReview(deploymentPod()));
    await mutate("");
    const m = await send(port, { ca: ca.pem, method: "GET", path: "/metrics" });
    expect(m.status).toBe(200);
    expect(m.headers["content-type"]).toContain("text/plain");
    expect(m.body).toMatch(/coredog_webhook_requests_total\{path="\/mutate",code="200"\} [1-9]/);
    expect(m.body).toMatch(/coredog_webhook_requests_total\{path="\/mutate",code="400"\} [1-9]/);
    expect(m.body).toMatch(
      /coredog_webhook_decisions_total\{result="inject",reason="inject"\} [1-9]/,
    );
    expect(m.body).toMatch(
      /coredog_webhook_decisions_total\{result="skip",reason="path-unsafe"\} [1-9]/,
    );
    expect(m.body).toMatch(
      /coredog_webhook_decisions_total\{result="skip",reason="pod-security-unknown"\} [1-9]/,
    );
    expect(m.body).toMatch(/coredog_webhook_errors_total\{kind="bad-request"\} [1-9]/);
    expect(m.body).toMatch(/coredog_webhook_errors_total\{kind="internal"\} [1-9]/);
    expect(m.body).toMatch(/coredog_webhook_request_duration_seconds_count [1-9]/);
  });
});
