// Pods as the API server stores them after CoreDog's webhook patched them (the webhook's own decide +
// injectionPatch), and a watcher program on a rig node that stores cores in the rig's S3 and tells Slack.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import fastJsonPatch from "fast-json-patch";
import { decide, injectionPatch } from "../../../src/injection.js";
import { NODE_DUMP_DIR } from "../../../src/names.js";
import type { Rig } from "../../rig/index.js";
import {
  makeLayout,
  s3StorageYaml,
  startWatcherProc,
  type WatcherProc,
} from "../../unit/watcher/harness.js";

/** bash that dumps core `after` seconds after it starts (Kubernetes would turn $$ into $). */
export const crash = (after: number | string = 1): string[] => [
  "/bin/bash",
  "-c",
  `ulimit -c unlimited; sleep ${after}; kill -SEGV $BASHPID`,
];
export const sleeper = (seconds = 600): string[] => ["/bin/sleep", String(seconds)];

export function admitted(namespace: string, name: string, spec: V1Pod["spec"]): V1Pod {
  const pod: V1Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      annotations: { "coredog.io/inject": "true", "coredog.io/path": "/corefile" },
    },
    spec: { restartPolicy: "Never", ...spec! },
  };
  const d = decide(pod);
  if (!d.inject) throw new Error(`not injected: ${d.reason}`);
  return fastJsonPatch.applyPatch(structuredClone(pod), injectionPatch(pod, d), true, false)
    .newDocument;
}

/** `pod`: the watcher's own pod (namespace/name), on which it publishes the node state. */
export async function startWatcher(
  rig: Rig,
  bucket: string,
  pod?: { namespace: string; name: string },
): Promise<{ watcher: WatcherProc; scratch: string; dumps: string }> {
  const dumps = join(rig.nodes[0]!.hostRoot, NODE_DUMP_DIR);
  const layout = makeLayout("cdw-e2e-");
  writeFileSync(
    layout.config,
    `${s3StorageYaml(rig.s3, bucket)}DeleteLocalCorefile: true
NoticeChannel:
  - chan: slack
    webhookurl: ${rig.receivers.url("slack")}
Watcher:
  quietSeconds: 0.5
  rescanSeconds: 5
# These tests crash the same program in many pods: one fingerprint, over the default 5 per hour.
Limits:
  perFingerprint: { max: 100, window: 1h }
`,
  );
  const watcher = startWatcherProc(
    { ...layout, dir: dumps, journal: join(layout.root, "journal") },
    undefined,
    {
      args: ["--node-name", rig.nodes[0]!.name, "--kubeconfig", rig.kubeconfig],
      ...(pod ? { env: { POD_NAME: pod.name, POD_NAMESPACE: pod.namespace } } : {}),
    },
  );
  await watcher.waitFor(/initial scan/, 60_000);
  return { watcher, scratch: layout.root, dumps };
}

/** The CoreDumpUploaded Events of a pod. */
export async function uploadedEvents(
  rig: Rig,
  namespace: string,
  pod: string,
): Promise<CoreV1Event[]> {
  const r = await rig.kubectl([
    "get",
    "events",
    "-n",
    namespace,
    "--field-selector",
    `involvedObject.name=${pod}`,
    "-o",
    "json",
  ]);
  if (r.code !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as { items: CoreV1Event[] }).items.filter(
    (e) => e.reason === "CoreDumpUploaded",
  );
}
