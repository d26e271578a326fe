// Purging cores from nodes without ssh: a short-lived pod pinned to each node lists (or deletes) the files
// under the node directory and reports through its log.
import type { V1Pod } from "@kubernetes/client-node";
import {
  LABEL_COMPONENT,
  LABEL_NAME,
  NAMESPACE,
  NODE_DUMP_DIR,
  WATCHER_NAME,
} from "../../src/names.js";
import { UserError } from "./errors.js";
import type { Cluster } from "./kube.js";

export interface PurgedFile {
  node: string;
  path: string;
  bytes: number;
  modified: string;
}

export interface PurgeOptions {
  nodes: string[];
  /** Only files older than this many minutes. */
  olderThanMinutes?: number;
  delete: boolean;
  /**
   * Only files not modified after this moment: a delete that follows a listing passes the listing's start,
   * so a core written since (which nobody saw listed) is left alone.
   */
  notNewerThan?: Date;
  timeoutMs?: number;
}

const MOUNT = "/dumps";

/** find(1) arguments: regular files under the dumps, the watcher's journal left alone. */
export function findArgs(
  olderThanMinutes: number | undefined,
  remove: boolean,
  notNewerThan?: Date,
): string[] {
  return [
    MOUNT,
    "-type",
    "f",
    // Not -prune: -delete implies -depth, which disables it.
    "-not",
    "-path",
    `${MOUNT}/.coredog/*`,
    ...(olderThanMinutes ? ["-mmin", `+${Math.ceil(olderThanMinutes)}`] : []),
    ...(notNewerThan ? ["-not", "-newermt", `@${Math.floor(notNewerThan.getTime() / 1000)}`] : []),
    "-printf",
    "%s\\t%TY-%Tm-%TdT%TH:%TM\\t%P\\n",
    ...(remove ? ["-delete"] : []),
  ];
}

export function parseListing(node: string, log: string): PurgedFile[] {
  const files: PurgedFile[] = [];
  for (const line of log.split("\n")) {
    const [size, modified, rel] = line.split("\t");
    if (!rel || !/^\d+$/.test(size ?? "")) continue;
    files.push({
      node,
      path: `${NODE_DUMP_DIR}/${rel}`,
      bytes: Number(size),
      modified: modified ?? "",
    });
  }
  return files;
}

async function watcherImage(cluster: Cluster): Promise<string> {
  try {
    const ds = await cluster.apps.readNamespacedDaemonSet({
      name: WATCHER_NAME,
      namespace: NAMESPACE,
    });
    const image = ds.spec?.template?.spec?.containers?.[0]?.image;
    if (image) return image;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 404) throw err;
  }
  throw new UserError(
    `daemonset ${NAMESPACE}/${WATCHER_NAME} not found: its image runs the purge`,
    "is CoreDog installed?",
  );
}

function purgePod(node: string, image: string, args: string[]): V1Pod {
  return {
    metadata: {
      generateName: "coredog-purge-",
      namespace: NAMESPACE,
      labels: { [LABEL_NAME]: "coredog", [LABEL_COMPONENT]: "purge" },
    },
    spec: {
      nodeName: node,
      restartPolicy: "Never",
      tolerations: [{ operator: "Exists" }],
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: "purge",
          image,
          command: ["find", ...args],
          securityContext: { runAsUser: 0 },
          volumeMounts: [{ name: "dumps", mountPath: MOUNT }],
        },
      ],
      volumes: [{ name: "dumps", hostPath: { path: NODE_DUMP_DIR, type: "DirectoryOrCreate" } }],
    },
  };
}

async function waitDone(cluster: Cluster, name: string, deadline: number): Promise<V1Pod> {
  for (;;) {
    const pod = await cluster.core.readNamespacedPod({ name, namespace: NAMESPACE });
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return pod;
    if (Date.now() > deadline)
      throw new UserError(
        `pod ${NAMESPACE}/${name} did not finish in time (phase ${pod.status?.phase ?? "unknown"})`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function runOnNode(
  cluster: Cluster,
  node: string,
  image: string,
  args: string[],
  timeoutMs: number,
) {
  const created = await cluster.core.createNamespacedPod({
    namespace: NAMESPACE,
    body: purgePod(node, image, args),
  });
  const name = created.metadata!.name!;
  try {
    const pod = await waitDone(cluster, name, Date.now() + timeoutMs);
    const log = await cluster.core.readNamespacedPodLog({ name, namespace: NAMESPACE });
    if (pod.status?.phase === "Failed") {
      throw new UserError(
        `the purge pod on node ${node} failed: ${String(log).trim().split("\n").slice(-3).join(" / ") || "no output"}`,
      );
    }
    return String(log);
  } finally {
    await cluster.core
      .deleteNamespacedPod({ name, namespace: NAMESPACE, gracePeriodSeconds: 0 })
      .catch(() => undefined);
  }
}

export async function purgeNodes(cluster: Cluster, options: PurgeOptions): Promise<PurgedFile[]> {
  const image = await watcherImage(cluster);
  const args = findArgs(options.olderThanMinutes, options.delete, options.notNewerThan);
  const results = await Promise.all(
    options.nodes.map(async (node) =>
      parseListing(node, await runOnNode(cluster, node, image, args, options.timeoutMs ?? 120_000)),
    ),
  );
  return results.flat();
}

export async function resolveNodes(
  cluster: Cluster,
  names: string[],
  all: boolean,
): Promise<string[]> {
  const nodes = (await cluster.core.listNode()).items.map((n) => n.metadata!.name!);
  if (all) return nodes;
  if (names.length === 0)
    throw new UserError("choose the nodes: --node NAME (repeatable) or --all-nodes");
  const unknown = names.filter((n) => !nodes.includes(n));
  if (unknown.length)
    throw new UserError(`no such node: ${unknown.join(", ")}`, `nodes: ${nodes.join(", ")}`);
  return names;
}
