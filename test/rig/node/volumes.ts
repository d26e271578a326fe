// A pod's volumes on the node: hostPath (under the node's host root), emptyDir, and the content volumes
// (configMap, secret, projected, downwardAPI) rendered into per-pod directories with the kubelet's atomic layout
// and refreshed on demand; plus the per-container mounts (subPath, subPathExpr, readOnly).
import type { V1Container, V1KeyToPath, V1Pod, V1Volume } from "@kubernetes/client-node";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, posix } from "node:path";
import { writeAtomic, type Payload } from "./atomic-writer.js";
import { ConfigError, expandVars, fieldRefValue, type EnvSources } from "./env.js";
import type { Mount } from "./runner.js";
import { safeMakeDir } from "./safe-make-dir.js";

export interface VolumeSources extends EnvSources {
  saToken(
    namespace: string,
    serviceAccount: string,
    audience?: string,
    expirationSeconds?: number,
  ): Promise<string>;
  /** The API server's CA (PEM), for kube-root-ca.crt when that ConfigMap does not exist. */
  caPem(): string;
}

/** A volume cannot be set up (kubelet: FailedMount); the pod stays in ContainerCreating and is retried. */
export class MountError extends Error {}

export const SA_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
/** Host paths that stay the real host's, not the node's host root (kernel interfaces). */
const REAL_HOST_PATHS = ["/proc", "/sys", "/dev"];

function resolveHostPath(hostRoot: string, path: string): string {
  const p = posix.normalize(`/${path}`);
  if (REAL_HOST_PATHS.some((r) => p === r || p.startsWith(`${r}/`))) return p;
  return join(hostRoot, p);
}

function decode(v: string): Buffer {
  return Buffer.from(v, "base64");
}

function selectKeys(
  data: Map<string, Buffer>,
  items: V1KeyToPath[] | undefined,
  defaultMode: number,
  what: string,
  optional: boolean,
): Payload {
  const out: Payload = new Map();
  if (!items || items.length === 0) {
    for (const [k, v] of data) out.set(k, { data: v, mode: defaultMode });
    return out;
  }
  for (const it of items) {
    const v = data.get(it.key);
    if (v === undefined) {
      if (optional) continue;
      throw new MountError(`configmap/secret key "${it.key}" not found in ${what}`);
    }
    out.set(posix.normalize(it.path), { data: v, mode: it.mode ?? defaultMode });
  }
  return out;
}

export class PodVolumes {
  private readonly dirs = new Map<string, string>();
  private readonly content = new Map<string, V1Volume>();

  constructor(
    private pod: V1Pod,
    private readonly podDir: string,
    private readonly hostRoot: string,
    private readonly src: VolumeSources,
  ) {}

  get namespace(): string {
    return this.pod.metadata?.namespace ?? "default";
  }

  /** Creates every volume of the pod (throws MountError/ConfigError with a kubelet-like message). */
  async setup(): Promise<void> {
    for (const v of this.pod.spec?.volumes ?? []) {
      if (v.hostPath) this.dirs.set(v.name, this.setupHostPath(v));
      else if (v.emptyDir) {
        const d = join(this.podDir, "volumes", "kubernetes.io~empty-dir", v.name);
        mkdirSync(d, { recursive: true });
        chmodSync(d, 0o777); // as the kubelet makes it, writable whatever the container's user
        this.dirs.set(v.name, d);
      } else if (v.configMap || v.secret || v.projected || v.downwardAPI) {
        const kind = v.configMap
          ? "configmap"
          : v.secret
            ? "secret"
            : v.projected
              ? "projected"
              : "downward-api";
        const d = join(this.podDir, "volumes", `kubernetes.io~${kind}`, v.name);
        writeAtomic(d, await this.render(v));
        this.dirs.set(v.name, d);
        this.content.set(v.name, v);
      } else {
        throw new MountError(
          `volume "${v.name}": this rig supports hostPath, emptyDir, configMap, secret, projected, downwardAPI`,
        );
      }
    }
  }

  /** Re-renders content volumes from the current objects (the kubelet's periodic sync); true if anything changed. */
  async refresh(pod: V1Pod): Promise<boolean> {
    this.pod = pod;
    let changed = false;
    for (const [name, v] of this.content) {
      try {
        if (writeAtomic(this.dirs.get(name)!, await this.render(v))) changed = true;
      } catch {
        // Objects deleted meanwhile: the kubelet keeps the last content.
      }
    }
    return changed;
  }

  private setupHostPath(v: V1Volume): string {
    const hp = v.hostPath!;
    const p = resolveHostPath(this.hostRoot, hp.path);
    const type = hp.type ?? "";
    const isDir = (): boolean => existsSync(p) && statSync(p).isDirectory();
    switch (type) {
      case "DirectoryOrCreate":
      case "":
        if (!existsSync(p)) mkdirSync(p, { recursive: true, mode: 0o755 });
        break;
      case "Directory":
        if (!isDir())
          throw new MountError(`hostPath type check failed: ${hp.path} is not a directory`);
        break;
      case "FileOrCreate":
        if (!existsSync(p)) {
          mkdirSync(dirname(p), { recursive: true });
          writeFileSync(p, "", { mode: 0o644 });
        }
        break;
      case "File":
        if (!existsSync(p) || isDir())
          throw new MountError(`hostPath type check failed: ${hp.path} is not a file`);
        break;
      default:
        if (!existsSync(p))
          throw new MountError(`hostPath type check failed: ${hp.path} does not exist (${type})`);
    }
    return p;
  }

  private async render(v: V1Volume): Promise<Payload> {
    const ns = this.namespace;
    if (v.configMap) {
      const c = v.configMap;
      return this.configMapPayload(
        ns,
        c.name ?? "",
        c.items,
        c.defaultMode ?? 0o644,
        c.optional ?? false,
      );
    }
    if (v.secret) {
      const s = v.secret;
      return this.secretPayload(
        ns,
        s.secretName ?? "",
        s.items,
        s.defaultMode ?? 0o644,
        s.optional ?? false,
      );
    }
    if (v.downwardAPI) {
      return this.downwardPayload(v.downwardAPI.items ?? [], v.downwardAPI.defaultMode ?? 0o644);
    }
    const out: Payload = new Map();
    const mode = v.projected!.defaultMode ?? 0o644;
    for (const s of v.projected!.sources ?? []) {
      let part: Payload = new Map();
      if (s.configMap) {
        part = await this.configMapPayload(
          ns,
          s.configMap.name ?? "",
          s.configMap.items,
          mode,
          s.configMap.optional ?? false,
        );
      } else if (s.secret) {
        part = await this.secretPayload(
          ns,
          s.secret.name ?? "",
          s.secret.items,
          mode,
          s.secret.optional ?? false,
        );
      } else if (s.downwardAPI) {
        part = this.downwardPayload(s.downwardAPI.items ?? [], mode);
      } else if (s.serviceAccountToken) {
        const t = s.serviceAccountToken;
        const sa = this.pod.spec?.serviceAccountName ?? "default";
        const token = await this.src.saToken(ns, sa, t.audience, t.expirationSeconds);
        part.set(posix.normalize(t.path), { data: Buffer.from(token), mode });
      }
      for (const [k, f] of part) out.set(k, f);
    }
    return out;
  }

  private async configMapPayload(
    ns: string,
    name: string,
    items: V1KeyToPath[] | undefined,
    mode: number,
    optional: boolean,
  ): Promise<Payload> {
    const cm = await this.src.getConfigMap(ns, name);
    if (!cm) {
      if (name === "kube-root-ca.crt") {
        return selectKeys(
          new Map([["ca.crt", Buffer.from(this.src.caPem())]]),
          items,
          mode,
          name,
          optional,
        );
      }
      if (optional) return new Map();
      throw new MountError(`configmap "${name}" not found`);
    }
    const data = new Map<string, Buffer>();
    for (const [k, val] of Object.entries(cm.data ?? {})) data.set(k, Buffer.from(val));
    for (const [k, val] of Object.entries(cm.binaryData ?? {})) data.set(k, decode(val));
    return selectKeys(data, items, mode, `ConfigMap ${ns}/${name}`, optional);
  }

  private async secretPayload(
    ns: string,
    name: string,
    items: V1KeyToPath[] | undefined,
    mode: number,
    optional: boolean,
  ): Promise<Payload> {
    const s = await this.src.getSecret(ns, name);
    if (!s) {
      if (optional) return new Map();
      throw new MountError(`secret "${name}" not found`);
    }
    const data = new Map<string, Buffer>();
    for (const [k, val] of Object.entries(s.data ?? {})) data.set(k, decode(val));
    for (const [k, val] of Object.entries(s.stringData ?? {})) data.set(k, Buffer.from(val));
    return selectKeys(data, items, mode, `Secret ${ns}/${name}`, optional);
  }

  private downwardPayload(
    items: {
      path: string;
      fieldRef?: { fieldPath: string };
      resourceFieldRef?: { resource: string };
      mode?: number;
    }[],
    mode: number,
  ): Payload {
    const out: Payload = new Map();
    for (const it of items) {
      let value = "";
      if (it.fieldRef) value = fieldRefValue(this.pod, it.fieldRef.fieldPath);
      else if (it.resourceFieldRef)
        value = it.resourceFieldRef.resource.includes("cpu") ? "2" : "8589934592";
      out.set(posix.normalize(it.path), { data: Buffer.from(value), mode: it.mode ?? mode });
    }
    return out;
  }

  /** Whether a container mounts something at the service-account path itself. */
  static mountsServiceAccount(c: V1Container): boolean {
    return (c.volumeMounts ?? []).some((m) => posix.normalize(m.mountPath) === SA_MOUNT_PATH);
  }

  /** The bind mounts of one container, with subPath/subPathExpr resolved (created when missing, like the kubelet). */
  mountsFor(c: V1Container, env: Record<string, string>): Mount[] {
    const out: Mount[] = [];
    for (const m of c.volumeMounts ?? []) {
      const base = this.dirs.get(m.name);
      if (base === undefined)
        throw new ConfigError(`volumeMount "${m.name}" refers to no volume of the pod`);
      let sub = m.subPath ?? "";
      if (m.subPathExpr) sub = expandVars(m.subPathExpr, env);
      let source = base;
      if (sub) {
        const norm = posix.normalize(sub);
        if (norm.startsWith("..") || posix.isAbsolute(norm)) {
          throw new ConfigError(`subPath "${sub}" must be a relative path not going up`);
        }
        source = join(base, norm);
        // The kubelet creates it with the volume root's mode (not 0755): what a non-root container can do there.
        try {
          safeMakeDir(base, norm);
        } catch (err) {
          throw new ConfigError(
            `failed to create subPath directory for volumeMount "${m.name}" of container "${c.name}": ${(err as Error).message}`,
          );
        }
        // Content volumes: bind the file itself (resolving ..data symlinks), as the kubelet does; it is not updated.
        source = realpathSync(source);
        if (!source.startsWith(realpathSync(base)))
          throw new ConfigError(`subPath "${sub}" leaves its volume`);
      }
      out.push({
        source,
        target: m.mountPath,
        readOnly: (m.readOnly ?? false) || this.content.has(m.name),
      });
    }
    return out;
  }

  /** A node-owned volume for the in-cluster credentials, used when the pod does not carry kube-api-access. */
  async serviceAccountMount(): Promise<Mount> {
    const d = join(this.podDir, "volumes", "kubernetes.io~projected", "rig-kube-api-access");
    const v: V1Volume = {
      name: "rig-kube-api-access",
      projected: {
        defaultMode: 0o644,
        sources: [
          { serviceAccountToken: { path: "token", expirationSeconds: 3607 } },
          { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
          {
            downwardAPI: {
              items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }],
            },
          },
        ],
      },
    };
    writeAtomic(d, await this.render(v));
    this.dirs.set(v.name, d);
    this.content.set(v.name, v);
    return { source: d, target: SA_MOUNT_PATH, readOnly: true };
  }

  /** Removes the pod's volume dirs (hostPath data stays, as on a node). */
  cleanup(): void {
    rmSync(join(this.podDir, "volumes"), { recursive: true, force: true });
  }
}
