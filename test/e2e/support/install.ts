// Installs CoreDog on a rig the way an operator installs it on a cluster: `kubectl apply -k manifests`,
// `scripts/generate-cert.sh`, the storage Secret, the settings. Shared by the install e2e test and the demo.
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Rig } from "../../rig/index.js";

export const CHECKOUT = fileURLToPath(new URL("../../..", import.meta.url));
const run = promisify(execFile);

export interface InstallOptions {
  bucket?: string;
  /** Extra top-level settings appended to config.yaml. */
  extraSettings?: string;
  /** Called with a short description before each step (the demo prints them). */
  step?: (text: string) => void;
  timeoutMs?: number;
}

export interface Installed {
  bucket: string;
  certDir: string;
  configYaml: string;
}

async function kubectl(rig: Rig, args: string[], input?: string): Promise<string> {
  const r = await rig.kubectl(args, { input });
  if (r.code !== 0)
    throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

export function settingsFor(rig: Rig, bucket: string, extra = ""): string {
  return `StorageConfig:
  protocol: s3
  S3Endpoint: ${rig.s3.endpoint}
  s3Region: ${rig.s3.region}
  S3Bucket: ${bucket}
  StoreDir: corefiles
  PresignedURLExpireSeconds: 3600
DeleteLocalCorefile: true
gc_type: rm
NoticeChannel:
  - chan: slack
    webhookurl: ${rig.receivers.url("slack")}
  - chan: wechat
    webhookurl: ${rig.receivers.url("wechat")}
Watcher:
  quietSeconds: 1
  rescanSeconds: 5
${extra}`;
}

export async function installCoreDog(rig: Rig, opts: InstallOptions = {}): Promise<Installed> {
  const step = opts.step ?? (() => {});
  const bucket = opts.bucket ?? "crashes";
  const certDir = join(rig.dir, "coredog-pki");
  mkdirSync(certDir, { recursive: true });

  step("kubectl apply -k manifests");
  await kubectl(rig, ["apply", "-k", join(CHECKOUT, "manifests")]);

  step("scripts/generate-cert.sh: CA, serving certificate, Secret coredog-webhook-tls, caBundle");
  await run(
    "bash",
    [
      join(CHECKOUT, "scripts", "generate-cert.sh"),
      "--kubeconfig",
      rig.kubeconfig,
      "--dir",
      certDir,
    ],
    {
      env: { ...process.env, ...rig.env },
    },
  );

  step(`storage: bucket ${bucket} and the Secret coredog-storage with its credentials`);
  await rig.s3.createBucket(bucket);
  await kubectl(rig, [
    "-n",
    "coredog-system",
    "create",
    "secret",
    "generic",
    "coredog-storage",
    `--from-literal=AWS_ACCESS_KEY_ID=${rig.s3.accessKeyId}`,
    `--from-literal=AWS_SECRET_ACCESS_KEY=${rig.s3.secretAccessKey}`,
  ]);

  // Env vars from a Secret are read when a container starts: the watchers started before it existed.
  step("kubectl rollout restart daemonset coredog-watcher: the watchers read the Secret at start");
  await kubectl(rig, [
    "-n",
    "coredog-system",
    "rollout",
    "restart",
    "daemonset",
    "coredog-watcher",
  ]);

  step("settings: ConfigMap coredog points at the S3 server and the chat receivers");
  const configYaml = settingsFor(rig, bucket, opts.extraSettings);
  await kubectl(rig, [
    "-n",
    "coredog-system",
    "patch",
    "configmap",
    "coredog",
    "--type",
    "merge",
    "-p",
    JSON.stringify({ data: { "config.yaml": configYaml } }),
  ]);

  step("waiting for the webhook (2 replicas) and a watcher on every node to be ready");
  const timeout = opts.timeoutMs ?? 90_000;
  await rig.waitForPods(
    "coredog-system",
    "app.kubernetes.io/component=webhook",
    2,
    "Running",
    timeout,
  );
  await rig.waitFor(
    "webhook pods ready",
    async () => {
      const out = await kubectl(rig, [
        "get",
        "pods",
        "-n",
        "coredog-system",
        "-l",
        "app.kubernetes.io/component",
        "-o",
        "json",
      ]);
      const pods = (
        JSON.parse(out) as {
          items: {
            metadata: { labels: Record<string, string> };
            status?: { conditions?: { type: string; status: string }[] };
          }[];
        }
      ).items;
      const ready = (component: string) =>
        pods.filter(
          (p) =>
            p.metadata.labels["app.kubernetes.io/component"] === component &&
            p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        ).length;
      return ready("webhook") >= 2 && ready("watcher") >= rig.nodes.length;
    },
    timeout,
  );
  return { bucket, certDir, configYaml };
}

/** A Deployment whose bash kills itself with SIGSEGV `delaySeconds` after it starts. */
export function crasherDeployment(namespace: string, name: string, delaySeconds = 2): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: "app",
              image: "debian:12",
              command: [
                "/bin/bash",
                "-c",
                `ulimit -c unlimited; echo started; sleep ${delaySeconds}; kill -SEGV $BASHPID`,
              ],
            },
          ],
        },
      },
    },
  });
}
