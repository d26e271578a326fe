// Access to the cluster the way kubectl finds it: --kubeconfig, $KUBECONFIG, ~/.kube/config, --context.
// @kubernetes/client-node is imported lazily: it costs most of a command's start-up time.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import type * as k8s from "./k8s-client.js";
import { UserError } from "./errors.js";
import { errorText } from "../../src/error-text.js";

export type K8s = typeof k8s;

export interface ClusterOptions {
  kubeconfig?: string;
  context?: string;
}

export interface Cluster {
  k8s: K8s;
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  batch: k8s.BatchV1Api;
  admission: k8s.AdmissionregistrationV1Api;
  objects: k8s.KubernetesObjectApi;
  custom: k8s.CustomObjectsApi;
  server: string;
  /** The namespace of the current context, as kubectl uses it when -n is not given. */
  defaultNamespace: string;
}

let loaded: Promise<K8s> | undefined;
export function loadK8s(): Promise<K8s> {
  loaded ??= import("./k8s-client.js");
  return loaded;
}

function kubeconfigFiles(explicit?: string): string[] {
  if (explicit) {
    if (!existsSync(explicit)) throw new UserError(`kubeconfig ${explicit} does not exist`);
    return [explicit];
  }
  const env = process.env.KUBECONFIG;
  if (env) {
    const files = env.split(path.delimiter).filter((f) => f && existsSync(f));
    if (files.length > 0) return files;
  }
  const home = path.join(homedir(), ".kube", "config");
  if (existsSync(home)) return [home];
  throw new UserError(
    "no kubeconfig found",
    "pass --kubeconfig FILE, set KUBECONFIG, or create ~/.kube/config",
  );
}

export async function connect(options: ClusterOptions = {}): Promise<Cluster> {
  const files = kubeconfigFiles(options.kubeconfig);
  const k8s = await loadK8s();
  const kc = new k8s.KubeConfig();
  try {
    if (files.length === 1) kc.loadFromFile(files[0]!);
    else {
      // Like kubectl: the first file that sets a value wins.
      const merged = new k8s.KubeConfig();
      for (const file of [...files].reverse()) {
        const one = new k8s.KubeConfig();
        one.loadFromFile(file);
        merged.mergeConfig(one, true);
      }
      kc.loadFromString(merged.exportConfig());
      const first = new k8s.KubeConfig();
      first.loadFromFile(files[0]!);
      if (first.getCurrentContext()) kc.setCurrentContext(first.getCurrentContext());
    }
  } catch (err) {
    throw new UserError(`cannot read kubeconfig ${files.join(":")}: ${errorText(err)}`);
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new UserError(
        `context "${options.context}" does not exist in the kubeconfig`,
        known.length ? `known contexts: ${known.join(", ")}` : undefined,
      );
    }
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new UserError(
      "the kubeconfig has no current context",
      "pick one with --context or `kubectl config use-context NAME`",
    );
  }
  const contextObject = kc.getContextObject(kc.getCurrentContext());
  return {
    k8s,
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    batch: kc.makeApiClient(k8s.BatchV1Api),
    admission: kc.makeApiClient(k8s.AdmissionregistrationV1Api),
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    server: cluster.server,
    defaultNamespace: contextObject?.namespace || "default",
  };
}
