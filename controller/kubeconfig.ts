// Where both programs find the API server: --kubeconfig; else in a cluster (the service host is set and the
// service-account token is mounted: a pod with automountServiceAccountToken false is not "in a cluster"); else
// $KUBECONFIG. One rule for the webhook and the watcher.
import { existsSync } from "node:fs";
import type { KubeConfig } from "@kubernetes/client-node";

export const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

export type KubeConfigSource =
  { kind: "file"; file: string } | { kind: "in-cluster" } | { kind: "env" } | { kind: "none" };

export function kubeConfigSource(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  tokenMounted: () => boolean = () => existsSync(SERVICE_ACCOUNT_TOKEN),
): KubeConfigSource {
  if (file) return { kind: "file", file };
  if (env.KUBERNETES_SERVICE_HOST && tokenMounted()) return { kind: "in-cluster" };
  if (env.KUBECONFIG) return { kind: "env" };
  return { kind: "none" };
}

/** Loads from the source; "none" falls back to the client's defaults (~/.kube/config, else localhost). */
export function loadKubeConfig(Config: new () => KubeConfig, source: KubeConfigSource): KubeConfig {
  const kc = new Config();
  if (source.kind === "file") kc.loadFromFile(source.file);
  else if (source.kind === "in-cluster") kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}
