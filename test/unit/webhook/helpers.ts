// Test helpers for the webhook: openssl-made certificates, HTTPS requests, AdmissionReviews.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest, type Agent } from "node:https";
import type { TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";

export function tempDir(prefix = "coredog-webhook-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

export interface TestCA {
  dir: string;
  certFile: string;
  keyFile: string;
  pem: Buffer;
}

export function makeCA(dir: string, name = "ca"): TestCA {
  openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=coredog test ${name}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
    ],
    dir,
  );
  return {
    dir,
    certFile: join(dir, `${name}.crt`),
    keyFile: join(dir, `${name}.key`),
    pem: readFileSync(join(dir, `${name}.crt`)),
  };
}

export interface TestCert {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
  serial: string;
}

/** A serving certificate signed by `ca` for 127.0.0.1, localhost and the webhook Service names. */
export function makeCert(
  ca: TestCA,
  name: string,
  sans = ["IP:127.0.0.1", "DNS:localhost", "DNS:coredog-webhook.coredog-system.svc"],
): TestCert {
  const dir = ca.dir;
  writeFileSync(
    join(dir, `${name}.ext`),
    `subjectAltName=${sans.join(",")}\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    [
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-subj",
      `/CN=${name}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
    ],
    dir,
  );
  openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      ca.certFile,
      "-CAkey",
      ca.keyFile,
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.crt`,
    ],
    dir,
  );
  const serial = execFileSync("openssl", ["x509", "-noout", "-serial", "-in", `${name}.crt`], {
    cwd: dir,
  })
    .toString()
    .trim()
    .replace(/^serial=/, "");
  return {
    certFile: join(dir, `${name}.crt`),
    keyFile: join(dir, `${name}.key`),
    cert: readFileSync(join(dir, `${name}.crt`)),
    key: readFileSync(join(dir, `${name}.key`)),
    serial,
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): unknown;
  peerSerial?: string;
}

export function send(
  port: number,
  opts: {
    ca: Buffer;
    method?: string;
    path?: string;
    body?: string | Buffer;
    headers?: Record<string, string>;
    agent?: Agent | false;
    timeoutMs?: number;
  },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        method: opts.method ?? "POST",
        path: opts.path ?? "/mutate",
        ca: opts.ca,
        agent: opts.agent ?? false,
        headers: {
          ...(opts.body !== undefined ? { "content-type": "application/json" } : {}),
          ...opts.headers,
        },
        timeout: opts.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const peer = (res.socket as TLSSocket).getPeerCertificate?.();
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: () => JSON.parse(body) as unknown,
            peerSerial: peer?.serialNumber,
          });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("client timeout")));
    req.on("error", reject);
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

export function deploymentPod(
  overrides: { annotations?: Record<string, string>; namespace?: string } = {},
): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: "api-7d9f8b6c4-",
      namespace: overrides.namespace ?? "",
      labels: { app: "api", "pod-template-hash": "7d9f8b6c4" },
      annotations: overrides.annotations ?? {
        "coredog.io/inject": "true",
        "coredog.io/path": "/corefile",
      },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: "api-7d9f8b6c4",
          uid: "0b4c6f9e-1c1d-4c44-9b1b-6a0f8f7d8a11",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      containers: [
        {
          name: "app",
          image: "ghcr.io/example/api:1.4.2",
          env: [
            { name: "LOG_LEVEL", value: "info" },
            { name: "DB_HOST", value: "postgres.shop.svc" },
          ],
          ports: [{ containerPort: 8080, name: "http" }],
          volumeMounts: [
            { name: "config", mountPath: "/etc/api" },
            {
              name: "kube-api-access-x7k2p",
              mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
              readOnly: true,
            },
          ],
          resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
        },
        {
          name: "sidecar",
          image: "ghcr.io/example/proxy:2.0.0",
          args: ["--upstream", "127.0.0.1:8080"],
          volumeMounts: [
            {
              name: "kube-api-access-x7k2p",
              mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
              readOnly: true,
            },
          ],
        },
      ],
      volumes: [
        { name: "config", configMap: { name: "api-config" } },
        {
          name: "kube-api-access-x7k2p",
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
              {
                configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] },
              },
            ],
          },
        },
      ],
      serviceAccountName: "default",
      restartPolicy: "Always",
    },
  };
}

export function admissionReview(
  pod: unknown,
  opts: {
    version?: "v1" | "v1beta1";
    uid?: string;
    namespace?: string;
    operation?: string;
    kind?: unknown;
  } = {},
): string {
  const namespace = opts.namespace ?? "shop";
  return JSON.stringify({
    apiVersion: `admission.k8s.io/${opts.version ?? "v1"}`,
    kind: "AdmissionReview",
    request: {
      uid: opts.uid ?? "705ab4f5-6393-11e8-b7cc-42010a800002",
      kind: opts.kind ?? { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      requestKind: { group: "", version: "v1", kind: "Pod" },
      requestResource: { group: "", version: "v1", resource: "pods" },
      namespace,
      operation: opts.operation ?? "CREATE",
      userInfo: {
        username: "system:serviceaccount:kube-system:replicaset-controller",
        groups: ["system:serviceaccounts"],
      },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
    },
  });
}

/** Decodes the base64 JSON patch of an AdmissionReview answer. */
export function patchOf(answer: unknown): unknown[] | undefined {
  const r = (answer as { response?: { patch?: string } }).response;
  if (r?.patch === undefined) return undefined;
  return JSON.parse(Buffer.from(r.patch, "base64").toString()) as unknown[];
}

/** Collects logger output lines. */
export function logCollector(): {
  write: (line: string) => void;
  lines: string[];
  text: () => string;
} {
  const lines: string[] = [];
  return {
    lines,
    write: (chunk: string) => {
      for (const l of chunk.split("\n")) if (l !== "") lines.push(l);
    },
    text: () => lines.join("\n"),
  };
}
