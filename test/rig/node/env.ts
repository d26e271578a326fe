// A container's environment and command line as the kubelet builds them: envFrom, env (with $(VAR) expansion
// against what was defined before), downward-API fieldRefs, configMap/secret key refs, in-cluster variables.
import type { V1ConfigMap, V1Container, V1Pod, V1Secret } from "@kubernetes/client-node";

export interface EnvSources {
  getConfigMap(namespace: string, name: string): Promise<V1ConfigMap | null>;
  getSecret(namespace: string, name: string): Promise<V1Secret | null>;
}

/** A container cannot start because of its configuration (kubelet: CreateContainerConfigError). */
export class ConfigError extends Error {}

/** Kubernetes' $(VAR) expansion: $$ -> $, $(NAME) -> value when defined, else left as written. */
export function expandVars(s: string, env: Record<string, string | undefined>): string {
  return s.replace(
    /\$(\$|\(([A-Za-z_][A-Za-z0-9_.-]*)\))/g,
    (whole, what: string, name?: string) => {
      if (what === "$") return "$";
      const v = name === undefined ? undefined : env[name];
      return v === undefined ? whole : v;
    },
  );
}

function quoteMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map(
      (k) =>
        `${k}="${(m ?? {})[k]!.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`,
    )
    .join("\n");
}

/** The value of a downward-API fieldRef (env or volume), as the kubelet renders it. */
export function fieldRefValue(pod: V1Pod, fieldPath: string): string {
  const md = pod.metadata ?? {};
  const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (sub) return (sub[1] === "labels" ? md.labels : md.annotations)?.[sub[2]!] ?? "";
  switch (fieldPath) {
    case "metadata.name":
      return md.name ?? "";
    case "metadata.namespace":
      return md.namespace ?? "";
    case "metadata.uid":
      return md.uid ?? "";
    case "metadata.labels":
      return quoteMap(md.labels);
    case "metadata.annotations":
      return quoteMap(md.annotations);
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "default";
    case "status.hostIP":
      return pod.status?.hostIP ?? "";
    case "status.podIP":
      return pod.status?.podIP ?? "";
    case "status.hostIPs":
      return (pod.status?.hostIPs ?? []).map((i) => i.ip).join(",");
    case "status.podIPs":
      return (pod.status?.podIPs ?? []).map((i) => i.ip).join(",");
    default:
      throw new ConfigError(`unsupported fieldPath ${fieldPath}`);
  }
}

function decodeSecret(v: string): string {
  return Buffer.from(v, "base64").toString("utf8");
}

export interface EnvBase {
  PATH: string;
  apiHost: string;
  apiPort: string;
}

/** The container's full environment (as the process sees it). */
export async function containerEnv(
  pod: V1Pod,
  c: V1Container,
  base: EnvBase,
  src: EnvSources,
): Promise<Record<string, string>> {
  const ns = pod.metadata?.namespace ?? "default";
  const env: Record<string, string> = {
    PATH: base.PATH,
    HOSTNAME: pod.metadata?.name ?? "",
    HOME: "/root",
    KUBERNETES_SERVICE_HOST: base.apiHost,
    KUBERNETES_SERVICE_PORT: base.apiPort,
    KUBERNETES_SERVICE_PORT_HTTPS: base.apiPort,
    KUBERNETES_PORT: `tcp://${base.apiHost}:${base.apiPort}`,
    KUBERNETES_PORT_443_TCP: `tcp://${base.apiHost}:${base.apiPort}`,
    KUBERNETES_PORT_443_TCP_PROTO: "tcp",
    KUBERNETES_PORT_443_TCP_ADDR: base.apiHost,
    KUBERNETES_PORT_443_TCP_PORT: base.apiPort,
  };
  for (const from of c.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    if (from.configMapRef) {
      const cm = await src.getConfigMap(ns, from.configMapRef.name ?? "");
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) env[prefix + k] = v;
    }
    if (from.secretRef) {
      const s = await src.getSecret(ns, from.secretRef.name ?? "");
      if (!s) {
        if (from.secretRef.optional) continue;
        throw new ConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(s.data ?? {})) env[prefix + k] = decodeSecret(v);
      for (const [k, v] of Object.entries(s.stringData ?? {})) env[prefix + k] = v;
    }
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom === undefined) {
      env[e.name] = expandVars(e.value ?? "", env);
      continue;
    }
    const vf = e.valueFrom;
    if (vf.fieldRef) {
      env[e.name] = fieldRefValue(pod, vf.fieldRef.fieldPath);
    } else if (vf.configMapKeyRef) {
      const ref = vf.configMapKeyRef;
      const cm = await src.getConfigMap(ns, ref.name ?? "");
      const v = cm?.data?.[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ConfigError(
          cm
            ? `couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`
            : `configmap "${ref.name}" not found`,
        );
      }
      env[e.name] = v;
    } else if (vf.secretKeyRef) {
      const ref = vf.secretKeyRef;
      const s = await src.getSecret(ns, ref.name ?? "");
      const raw = s?.data?.[ref.key];
      const v = raw !== undefined ? decodeSecret(raw) : s?.stringData?.[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ConfigError(
          s
            ? `couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`
            : `secret "${ref.name}" not found`,
        );
      }
      env[e.name] = v;
    } else if (vf.resourceFieldRef) {
      env[e.name] = resourceValue(c, vf.resourceFieldRef.resource);
    }
  }
  return env;
}

function resourceValue(c: V1Container, resource: string): string {
  const [kind, name] = resource.split(".") as [string, string];
  const v = (kind === "limits" ? c.resources?.limits : c.resources?.requests)?.[name];
  if (v !== undefined) return String(v);
  return name === "cpu" ? "2" : "8589934592"; // node allocatable when unset, as the kubelet does
}

/** The argv the container runs: command + args with $(VAR) expanded; null when the image has no command. */
export function containerArgv(c: V1Container, env: Record<string, string>): string[] | null {
  const cmd = (c.command ?? []).map((s) => expandVars(s, env));
  const args = (c.args ?? []).map((s) => expandVars(s, env));
  if (cmd.length === 0) return null;
  return [...cmd, ...args];
}
