// The rig's API server: HTTPS on 127.0.0.1 with its own CA, token auth, RBAC, admission webhooks, list/watch.
import { createServer } from "node:https";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { ServerResponse } from "node:http";
import { ExecProxy, isExecPath } from "./exec.js";
import { makePki } from "./pki.js";
import { Authorizer, bootstrapClusterRoles, Tokens } from "./rbac.js";
import { ApiHandler } from "./handler.js";
import { Store } from "./store.js";

export { Store } from "./store.js";
export type { KubeObject, ObjectMeta, WatchEvent, WatchEventType, ResourceRef } from "./store.js";
export { StatusError } from "./status.js";

export interface ApiServerOptions {
  /** Rig state dir: pki/ and kubeconfig are written there. */
  dir: string;
  /** Default <dir>/logs; /api/v1/namespaces/NS/pods/P/log serves <logsDir>/<ns>/<pod>/<container>.log. */
  logsDir?: string;
  /** How many changes watches can resume across (older resourceVersions get 410 Expired). Default 20000. */
  watchHistory?: number;
  /** Debug log of requests and webhook failures (default: silent unless RIG_APISERVER_DEBUG is set). */
  log?: (msg: string) => void;
}

export interface ApiServer {
  url: string;
  caPem: string;
  kubeconfigPath: string;
  adminToken: string;
  tokenFor(user: string, groups?: string[]): string;
  kubeconfigFor(user: string, groups?: string[]): string;
  serviceAccountToken(namespace: string, sa: string): string;
  store: Store;
  stop(): Promise<void>;
}

function kubeconfigText(url: string, caPem: string, user: string, token: string): string {
  const ca = Buffer.from(caPem).toString("base64");
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: rig",
    "  cluster:",
    `    server: ${url}`,
    `    certificate-authority-data: ${ca}`,
    "users:",
    `- name: ${JSON.stringify(user)}`,
    "  user:",
    `    token: ${token}`,
    "contexts:",
    "- name: rig",
    "  context:",
    "    cluster: rig",
    `    user: ${JSON.stringify(user)}`,
    "    namespace: default",
    "current-context: rig",
    "preferences: {}",
    "",
  ].join("\n");
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  mkdirSync(opts.dir, { recursive: true });
  const logsDir = opts.logsDir ?? join(opts.dir, "logs");
  mkdirSync(logsDir, { recursive: true });
  const pki = makePki(join(opts.dir, "pki"), [
    "IP:127.0.0.1",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
  ]);
  const store = new Store(opts.watchHistory);
  const tokens = new Tokens();
  const authorizer = new Authorizer(store);
  const adminToken = tokens.issue("kubernetes-admin", ["system:masters"]);
  const streams = new Set<ServerResponse>();
  const log =
    opts.log ??
    (process.env.RIG_APISERVER_DEBUG ? (m: string) => console.error(`[apiserver] ${m}`) : () => {});
  let port = 0;
  const handler = new ApiHandler({
    store,
    tokens,
    authorizer,
    logsDir,
    caPem: pki.caPem,
    address: () => `127.0.0.1:${port}`,
    log,
    streams,
  });

  const execProxy = new ExecProxy({ store, tokens, authorizer, kubeletToken: adminToken, log });
  const server = createServer(
    {
      cert: pki.certPem,
      key: pki.keyPem,
      ca: pki.caPem,
      // Upgrades to pods/exec are proxied to the node; any other request takes the normal path.
      shouldUpgradeCallback: (req) => isExecPath(req.url),
    },
    handler.handle,
  );
  server.on("upgrade", execProxy.handleUpgrade);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;

  // Bootstrap objects kube-apiserver and kube-controller-manager create.
  for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
    store.create("namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: ns, labels: { "kubernetes.io/metadata.name": ns } },
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Active" },
    });
    handler.populateNamespace(ns);
  }
  for (const cr of bootstrapClusterRoles())
    store.create("clusterroles.rbac.authorization.k8s.io", cr);
  store.create("services", {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "kubernetes",
      namespace: "default",
      labels: { component: "apiserver", provider: "kubernetes" },
    },
    spec: {
      type: "ClusterIP",
      clusterIP: "10.96.0.1",
      clusterIPs: ["10.96.0.1"],
      ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: port }],
      sessionAffinity: "None",
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      internalTrafficPolicy: "Cluster",
    },
    status: { loadBalancer: {} },
  });
  store.create("endpoints", {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "kubernetes", namespace: "default" },
    subsets: [
      { addresses: [{ ip: "127.0.0.1" }], ports: [{ name: "https", port, protocol: "TCP" }] },
    ],
  });

  // A terminating namespace goes away when its last pod is deleted.
  const stopNsWatch = store.watch(
    "pods",
    { resourceVersion: store.currentResourceVersion() },
    (ev) => {
      if (ev.type !== "DELETED" || !ev.object.metadata.namespace) return;
      const ns = ev.object.metadata.namespace;
      setImmediate(() => {
        try {
          handler.finishNamespace(ns);
        } catch {
          // Raced with another deletion.
        }
      });
    },
  );

  const kubeconfigPath = join(opts.dir, "kubeconfig");
  writeFileSync(kubeconfigPath, kubeconfigText(url, pki.caPem, "kubernetes-admin", adminToken), {
    mode: 0o600,
  });
  let n = 0;

  return {
    url,
    caPem: pki.caPem,
    kubeconfigPath,
    adminToken,
    store,
    tokenFor: (user, groups = []) => tokens.issue(user, groups),
    kubeconfigFor(user, groups = []) {
      const token = tokens.issue(user, groups);
      const safe = user.replace(/[^A-Za-z0-9_.-]/g, "_");
      const path = join(opts.dir, `kubeconfig-${safe}-${++n}`);
      writeFileSync(path, kubeconfigText(url, pki.caPem, user, token), { mode: 0o600 });
      return path;
    },
    serviceAccountToken: (namespace, sa) =>
      tokens.issue(`system:serviceaccount:${namespace}:${sa}`, [
        "system:serviceaccounts",
        `system:serviceaccounts:${namespace}`,
      ]),
    async stop() {
      stopNsWatch();
      for (const r of streams) r.end();
      streams.clear();
      execProxy.stop();
      await new Promise<void>((resolve) => {
        // Connections that become idle after close() would otherwise linger for keepAliveTimeout.
        const sweep = setInterval(() => server.closeAllConnections(), 20);
        server.close(() => {
          clearInterval(sweep);
          resolve();
        });
        server.closeAllConnections();
      });
    },
  };
}
