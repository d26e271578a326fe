import { describe, expect, it } from "vitest";
import {
  COMPONENT_WATCHER,
  COMPONENT_WEBHOOK,
  CONFIGMAP,
  LABEL_COMPONENT,
  LABEL_NAME,
  NAMESPACE,
  NODE_DUMP_DIR,
  DEFAULT_CONTAINER_PATH,
  WATCHER_NAME,
  WEBHOOK_CONFIGURATION,
  WEBHOOK_NAME,
  TLS_SECRET,
  NOTIFY_SECRET,
  NOTIFY_SECRET_DIR,
} from "../../../src/names.js";
import { find, kustomize, validateObject, type K8sObject } from "./render.js";

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are plain JSON */

const targets = [
  "manifests",
  "manifests/overlays/cert-manager",
  "manifests/overlays/node-setup",
  "manifests/overlays/workload-identity",
  "manifests/overlays/monitoring",
];

describe.each(targets)("kubectl kustomize %s", (dir) => {
  const objects = kustomize(dir);

  it("renders objects that validate against the Kubernetes schemas", async () => {
    expect(objects.length).toBeGreaterThan(10);
    for (const obj of objects) {
      await expect(
        validateObject(obj),
        `${obj.kind}/${obj.metadata.name}`,
      ).resolves.toBeUndefined();
    }
  });

  it("labels every object app.kubernetes.io/name=coredog", () => {
    for (const obj of objects) expect(obj.metadata.labels?.[LABEL_NAME], obj.kind).toBe("coredog");
  });

  it("puts every namespaced object in coredog-system", () => {
    const clusterScoped = new Set([
      "Namespace",
      "ClusterRole",
      "ClusterRoleBinding",
      "MutatingWebhookConfiguration",
      "CustomResourceDefinition",
    ]);
    for (const obj of objects) {
      if (!clusterScoped.has(obj.kind)) expect(obj.metadata.namespace, obj.kind).toBe(NAMESPACE);
    }
  });
});

describe("the base install", () => {
  const objects = kustomize("manifests");

  it("has the guide's fixed names", () => {
    find(objects, "Namespace", NAMESPACE);
    find(objects, "Deployment", WEBHOOK_NAME);
    find(objects, "Service", WEBHOOK_NAME);
    find(objects, "DaemonSet", WATCHER_NAME);
    find(objects, "MutatingWebhookConfiguration", WEBHOOK_CONFIGURATION);
    find(objects, "ConfigMap", CONFIGMAP);
  });

  it("registers a webhook that can never block a pod", () => {
    const mwc = find(objects, "MutatingWebhookConfiguration", WEBHOOK_CONFIGURATION) as any;
    expect(mwc.webhooks).toHaveLength(1);
    const hook = mwc.webhooks[0];
    expect(hook.failurePolicy).toBe("Ignore");
    expect(hook.sideEffects).toBe("None");
    expect(hook.timeoutSeconds).toBeLessThanOrEqual(5);
    expect(hook.reinvocationPolicy).toBe("IfNeeded");
    expect(hook.rules).toEqual([
      expect.objectContaining({ operations: ["CREATE"], resources: ["pods"], apiGroups: [""] }),
    ]);
    expect(hook.clientConfig.service).toMatchObject({
      name: WEBHOOK_NAME,
      namespace: NAMESPACE,
      path: "/mutate",
    });
    const excluded = hook.namespaceSelector.matchExpressions.find(
      (e: any) => e.key === "kubernetes.io/metadata.name",
    );
    expect(excluded.operator).toBe("NotIn");
    expect(excluded.values).toEqual(expect.arrayContaining(["kube-system", NAMESPACE]));
  });

  it("runs the webhook highly available, non-root, read-only, probed over HTTPS", () => {
    const deploy = find(objects, "Deployment", WEBHOOK_NAME) as any;
    expect(deploy.spec.replicas).toBeGreaterThanOrEqual(2);
    const pod = deploy.spec.template.spec;
    expect(deploy.spec.template.metadata.labels[LABEL_COMPONENT]).toBe(COMPONENT_WEBHOOK);
    expect(pod.affinity.podAntiAffinity).toBeDefined();
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const c = pod.containers[0];
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(c.readinessProbe.httpGet).toMatchObject({ path: "/readyz", scheme: "HTTPS" });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: "/healthz", scheme: "HTTPS" });
    expect(c.resources.requests).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();
    expect(c.command.slice(0, 2)).toEqual(["coredog-controller", "webhook"]);
    const tls = pod.volumes.find((v: any) => v.secret);
    expect(tls.secret.secretName).toBe(TLS_SECRET);
    const pdb = find(objects, "PodDisruptionBudget", WEBHOOK_NAME) as any;
    expect(pdb.spec.selector.matchLabels[LABEL_COMPONENT]).toBe(COMPONENT_WEBHOOK);
  });

  it("runs a watcher on every node with the node directory at /corefile", () => {
    const ds = find(objects, "DaemonSet", WATCHER_NAME) as any;
    const pod = ds.spec.template.spec;
    expect(ds.spec.template.metadata.labels[LABEL_COMPONENT]).toBe(COMPONENT_WATCHER);
    expect(pod.tolerations).toEqual([{ operator: "Exists" }]);
    expect(pod.priorityClassName).toBeDefined();
    // it sees the node's processes: CoreDumping in /proc/<pid>/status is how it knows the kernel finished a core
    expect(pod.hostPID).toBe(true);
    const dumps = pod.volumes.find((v: any) => v.hostPath);
    expect(dumps.hostPath.path).toBe(NODE_DUMP_DIR);
    const c = pod.containers[0];
    const mount = c.volumeMounts.find((m: any) => m.name === dumps.name);
    expect(mount.mountPath).toBe(DEFAULT_CONTAINER_PATH);
    expect(c.command.slice(0, 2)).toEqual(["coredog-controller", "watcher"]);
    expect(c.command).toContain(`--dir=${DEFAULT_CONTAINER_PATH}`);
    const envNames = c.env.map((e: any) => e.name);
    expect(envNames).toEqual(expect.arrayContaining(["NODE_NAME", "HOST_IP"]));
    const fromSecret = c.env.filter((e: any) => e.valueFrom?.secretKeyRef);
    expect(fromSecret.map((e: any) => e.valueFrom.secretKeyRef.name)).toEqual([
      "coredog-storage",
      "coredog-storage",
    ]);
    expect(c.readinessProbe.httpGet.path).toBe("/readyz");
    expect(c.livenessProbe.httpGet.path).toBe("/healthz");
    expect(c.resources.limits.memory).toBeDefined();
  });

  it("grants least privilege", () => {
    const rules = (kind: string, name: string) => (find(objects, kind, name) as any).rules;
    expect(rules("ClusterRole", WEBHOOK_NAME)).toEqual([
      { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch"] },
    ]);
    const watcher = rules("ClusterRole", WATCHER_NAME);
    const verbsFor = (resource: string) =>
      watcher.filter((r: any) => r.resources.includes(resource)).flatMap((r: any) => r.verbs);
    expect(verbsFor("pods").sort()).toEqual(["get", "list", "watch"]);
    expect(verbsFor("events").sort()).toEqual(["create", "patch"]);
    for (const rule of watcher) {
      expect(rule.verbs).not.toContain("*");
      expect(rule.resources).not.toContain("*");
      expect(rule.resources).not.toContain("secrets");
    }
    expect(rules("Role", WATCHER_NAME)).toEqual([
      { apiGroups: [""], resources: ["pods"], verbs: ["patch"] },
    ]);
  });

  it("mounts Secret coredog-notify (optional) where the watcher and the webhook read robots' secrets", () => {
    for (const [kind, name] of [
      ["DaemonSet", WATCHER_NAME],
      ["Deployment", WEBHOOK_NAME],
    ] as const) {
      const pod = (find(objects, kind, name) as any).spec.template.spec;
      const vol = pod.volumes.find((v: any) => v.secret?.secretName === NOTIFY_SECRET);
      expect(vol.secret.optional).toBe(true);
      const mount = pod.containers[0].volumeMounts.find((m: any) => m.name === vol.name);
      expect(mount).toMatchObject({ mountPath: NOTIFY_SECRET_DIR, readOnly: true });
    }
  });

  it("defines CoreDump (namespaced, short name cdump, status subresource, printer columns, structural schema)", () => {
    const crd = find(objects, "CustomResourceDefinition", "coredumps.coredog.io") as any;
    expect(crd.spec.group).toBe("coredog.io");
    expect(crd.spec.scope).toBe("Namespaced");
    expect(crd.spec.names).toMatchObject({
      kind: "CoreDump",
      plural: "coredumps",
      shortNames: ["cdump"],
    });
    const [v] = crd.spec.versions;
    expect(v.name).toBe("v1alpha1");
    expect(v.subresources).toEqual({ status: {} });
    expect(v.additionalPrinterColumns.map((c: any) => c.name)).toEqual([
      "Pod",
      "Container",
      "Signal",
      "Fingerprint",
      "Size",
      "Workload",
      "Node",
      "Image",
      "Crashed",
    ]);
    const spec = v.schema.openAPIV3Schema.properties.spec;
    expect(spec.required).toEqual(["pod", "node", "crashedAt", "storage"]);
    expect(Object.keys(spec.properties.storage.properties)).toEqual(
      expect.arrayContaining(["key", "size", "sha256", "compression"]),
    );
    // Structural: every property says its type.
    const untyped: string[] = [];
    const walk = (o: any, path: string) => {
      if (!o.type) untyped.push(path);
      for (const [k, x] of Object.entries(o.properties ?? {})) walk(x, `${path}.${k}`);
      if (o.items) walk(o.items, `${path}[]`);
    };
    walk(v.schema.openAPIV3Schema, "");
    expect(untyped).toEqual([]);
    expect(find(objects, "CustomResourceDefinition", "coredumppulls.coredog.io")).toBeDefined();
  });

  it("aggregates CoreDump access into view, edit and admin; the watcher may create records, never read Secrets", () => {
    const role = find(objects, "ClusterRole", "coredog-coredumps-view") as any;
    for (const r of ["view", "edit", "admin"])
      expect(role.metadata.labels[`rbac.authorization.k8s.io/aggregate-to-${r}`]).toBe("true");
    expect(role.rules).toContainEqual({
      apiGroups: ["coredog.io"],
      resources: ["coredumps"],
      verbs: ["get", "list", "watch"],
    });
    const admin = find(objects, "ClusterRole", "coredog-coredumps-admin") as any;
    expect(Object.keys(admin.metadata.labels)).not.toContain(
      "rbac.authorization.k8s.io/aggregate-to-view",
    );
    const records = find(objects, "ClusterRole", "coredog-watcher-records") as any;
    expect(records.rules[0]).toEqual({
      apiGroups: ["coredog.io"],
      resources: ["coredumps"],
      verbs: ["create", "get", "list", "watch", "delete"],
    });
    for (const rule of records.rules) expect(rule.resources).not.toContain("secrets");
    const lease = find(objects, "Role", "coredog-watcher-lease") as any;
    expect(lease.rules[1].resourceNames).toEqual(["coredog-records"]);
  });

  it("ships settings the guide's greps find", () => {
    const cm = find(objects, "ConfigMap", CONFIGMAP) as any;
    const config: string = cm.data["config.yaml"];
    expect(config).toMatch(/^DeleteLocalCorefile: true$/m);
    const lines = config.split("\n");
    const at = lines.findIndex((l) => l.startsWith("NoticeChannel"));
    expect(at).toBeGreaterThanOrEqual(0);
    // `grep -A 5 NoticeChannel` shows how to add a channel.
    expect(lines.slice(at, at + 6).join("\n")).toMatch(/chan: .*\n.*webhookurl: /);
  });
});

describe("overlays", () => {
  it.each(targets.slice(1))("%s keeps the base objects' labels", (dir) => {
    const base = kustomize("manifests");
    const overlay = kustomize(dir);
    for (const obj of base) {
      const same = find(overlay, obj.kind, obj.metadata.name);
      expect(same.metadata.labels, `${obj.kind}/${obj.metadata.name}`).toEqual(obj.metadata.labels);
    }
  });

  it("cert-manager issues the serving certificate and injects the CA", () => {
    const objects = kustomize("manifests/overlays/cert-manager");
    const cert = find(objects, "Certificate", WEBHOOK_NAME) as any;
    expect(cert.spec.secretName).toBe(TLS_SECRET);
    expect(cert.spec.dnsNames).toContain(`${WEBHOOK_NAME}.${NAMESPACE}.svc`);
    const mwc = find(objects, "MutatingWebhookConfiguration", WEBHOOK_CONFIGURATION) as any;
    expect(mwc.metadata.annotations["cert-manager.io/inject-ca-from"]).toBe(
      `${NAMESPACE}/${WEBHOOK_NAME}`,
    );
  });

  it("workload-identity annotates the watcher's ServiceAccount for IRSA; the watcher runs as it, keys stay optional", () => {
    const objects: K8sObject[] = kustomize("manifests/overlays/workload-identity");
    const sa = find(objects, "ServiceAccount", "coredog-watcher") as any;
    expect(sa.metadata.annotations["eks.amazonaws.com/role-arn"]).toMatch(
      /^arn:aws:iam::\d+:role\//,
    );
    const pod = (find(objects, "DaemonSet", WATCHER_NAME) as any).spec.template.spec;
    expect(pod.serviceAccountName).toBe("coredog-watcher");
    const env = pod.containers[0].env as any[];
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
      expect(env.find((e) => e.name === name)?.valueFrom.secretKeyRef.optional).toBe(true);
    }
  });

  it("node-setup makes the watcher set core_pattern, privileged", () => {
    const objects: K8sObject[] = kustomize("manifests/overlays/node-setup");
    const c = (find(objects, "DaemonSet", WATCHER_NAME) as any).spec.template.spec.containers[0];
    expect(c.command).toContain("--configure-core-pattern");
    expect(c.securityContext.privileged).toBe(true);
  });
});
