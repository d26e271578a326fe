// Asking for a download link: a CoreDumpPull in the record's namespace, answered by the watcher that holds the
// records' Lease with a short-lived presigned URL in its status. Who may create one may pull; nobody else can.
import {
  COREDUMP_API_VERSION,
  COREDUMP_GROUP,
  COREDUMP_PULL_KIND,
  COREDUMP_PULL_PLURAL,
  COREDUMP_VERSION,
} from "../../src/coredump.js";
import { setTimeout as sleep } from "node:timers/promises";
import { UserError } from "./errors.js";
import type { Cluster } from "./kube.js";

interface PullObject {
  metadata: { name: string };
  status?: { url?: string; expiresAt?: string; error?: string };
}

const base = { group: COREDUMP_GROUP, version: COREDUMP_VERSION, plural: COREDUMP_PULL_PLURAL };

export async function requestDownloadLink(
  cluster: Cluster,
  namespace: string,
  record: string,
  timeoutMs = 30_000,
  object: "core" | "report" = "core",
): Promise<{ url: string; expiresAt: string }> {
  let created: PullObject;
  try {
    created = (await cluster.custom.createNamespacedCustomObject({
      ...base,
      namespace,
      body: {
        apiVersion: COREDUMP_API_VERSION,
        kind: COREDUMP_PULL_KIND,
        metadata: { generateName: `${record.slice(0, 50)}-` },
        spec: { coreDump: record, ...(object === "report" ? { object } : {}) },
      },
    })) as PullObject;
  } catch (err) {
    if ((err as { code?: number }).code === 403)
      throw new UserError(
        `you may not pull cores in namespace ${namespace} (creating a CoreDumpPull there is forbidden)`,
        "pulling needs the view, edit or admin role in the namespace",
      );
    throw err;
  }
  const name = created.metadata.name;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const o = (await cluster.custom.getNamespacedCustomObject({
        ...base,
        namespace,
        name,
      })) as PullObject;
      if (o.status?.error)
        throw new UserError(`the pull of ${record} was refused: ${o.status.error}`);
      if (o.status?.url && o.status.expiresAt) {
        if (Date.parse(o.status.expiresAt) <= Date.now())
          throw new UserError(
            `the download link for ${namespace}/${record} has expired`,
            "run the pull again for a fresh link",
          );
        return { url: o.status.url, expiresAt: o.status.expiresAt };
      }
      if (Date.now() > deadline)
        throw new UserError(
          `no CoreDog watcher answered the pull request for ${namespace}/${record} within ${Math.round(timeoutMs / 1000)}s`,
          "check the watchers with: kubectl coredog status (one of them holds Lease coredog-system/coredog-records)",
        );
      await sleep(200);
    }
  } finally {
    await cluster.custom
      .deleteNamespacedCustomObject({ ...base, namespace, name })
      .catch(() => undefined);
  }
}
