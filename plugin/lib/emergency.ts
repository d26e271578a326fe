// The emergency procedures, made safe: each is a plan that says what it changes and how to undo it.
import type {
  V1ConfigMap,
  V1DaemonSet,
  V1MutatingWebhookConfiguration,
} from "@kubernetes/client-node";
import {
  NAMESPACE,
  WATCHER_NAME,
  WATCHER_PAUSE_LABEL,
  WEBHOOK_BACKUP_CONFIGMAP,
  WEBHOOK_CONFIGURATION,
  WEBHOOK_NAME,
} from "../../src/names.js";
import { UserError } from "./errors.js";
import type { Cluster } from "./kube.js";

export interface Plan {
  /** One line per change, shown before confirmation. */
  changes: string[];
  /** What to run to undo it; undefined when it cannot be undone. */
  undo?: string;
  /** Nothing to do: the cluster is already in the wanted state. */
  noop?: string;
  apply(): Promise<void>;
}

const BACKUP_KEY = "mutatingwebhookconfiguration.json";

function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 404;
}

async function readWebhookConfig(
  cluster: Cluster,
): Promise<V1MutatingWebhookConfiguration | undefined> {
  try {
    return await cluster.admission.readMutatingWebhookConfiguration({
      name: WEBHOOK_CONFIGURATION,
    });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function readBackup(cluster: Cluster): Promise<V1ConfigMap | undefined> {
  try {
    return await cluster.core.readNamespacedConfigMap({
      name: WEBHOOK_BACKUP_CONFIGMAP,
      namespace: NAMESPACE,
    });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The configuration as it can be created again: server-set fields dropped. */
function restorable(config: V1MutatingWebhookConfiguration): V1MutatingWebhookConfiguration {
  const {
    resourceVersion: _rv,
    uid: _uid,
    managedFields: _mf,
    creationTimestamp: _ct,
    generation: _g,
    ...metadata
  } = config.metadata ?? {};
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata,
    webhooks: config.webhooks,
  };
}

/** Keeps the first saved copy: a second emergency action must not overwrite the good state with an emergency one. */
async function saveBackup(
  cluster: Cluster,
  config: V1MutatingWebhookConfiguration,
): Promise<boolean> {
  if (await readBackup(cluster)) return false;
  await cluster.core.createNamespacedConfigMap({
    namespace: NAMESPACE,
    body: {
      metadata: {
        name: WEBHOOK_BACKUP_CONFIGMAP,
        namespace: NAMESPACE,
        labels: { "app.kubernetes.io/name": "coredog", "app.kubernetes.io/component": "webhook" },
        annotations: { "coredog.io/saved-at": new Date().toISOString() },
      },
      data: { [BACKUP_KEY]: JSON.stringify(restorable(config)) },
    },
  });
  return true;
}

export function failurePolicies(config: V1MutatingWebhookConfiguration): string[] {
  return (config.webhooks ?? []).map(
    (w) => `${w.name}: failurePolicy ${w.failurePolicy ?? "Fail"}`,
  );
}

export async function webhookIgnorePlan(cluster: Cluster): Promise<Plan> {
  const config = await readWebhookConfig(cluster);
  if (!config)
    throw new UserError(
      `mutatingwebhookconfiguration ${WEBHOOK_CONFIGURATION} not found: nothing can block pods`,
    );
  const hooks = config.webhooks ?? [];
  const toChange = hooks.map((w, i) => ({ w, i })).filter(({ w }) => w.failurePolicy !== "Ignore");
  const plan: Plan = {
    changes: toChange.map(
      ({ w }) => `webhook ${w.name}: failurePolicy ${w.failurePolicy ?? "Fail"} -> Ignore`,
    ),
    undo: "kubectl coredog emergency webhook restore",
    async apply() {
      await saveBackup(cluster, config);
      await cluster.admission.patchMutatingWebhookConfiguration({
        name: WEBHOOK_CONFIGURATION,
        body: [
          {
            op: "test",
            path: "/metadata/resourceVersion",
            value: config.metadata?.resourceVersion,
          },
          ...toChange.map(({ i }) => ({
            op: "replace" as const,
            path: `/webhooks/${i}/failurePolicy`,
            value: "Ignore",
          })),
        ],
      });
    },
  };
  if (toChange.length === 0)
    plan.noop = `every webhook of ${WEBHOOK_CONFIGURATION} already has failurePolicy Ignore`;
  return plan;
}

export async function webhookFailPlan(cluster: Cluster): Promise<Plan> {
  const config = await readWebhookConfig(cluster);
  if (!config)
    throw new UserError(
      `mutatingwebhookconfiguration ${WEBHOOK_CONFIGURATION} not found`,
      "kubectl coredog emergency webhook restore brings a removed one back",
    );
  const hooks = config.webhooks ?? [];
  const toChange = hooks.map((w, i) => ({ w, i })).filter(({ w }) => w.failurePolicy !== "Fail");
  const plan: Plan = {
    changes: toChange.map(
      ({ w }) =>
        `webhook ${w.name}: failurePolicy ${w.failurePolicy ?? "Fail"} -> Fail (pods are refused while the webhook is down)`,
    ),
    undo: "kubectl coredog emergency webhook ignore",
    async apply() {
      await cluster.admission.patchMutatingWebhookConfiguration({
        name: WEBHOOK_CONFIGURATION,
        body: toChange.map(({ i }) => ({
          op: "replace" as const,
          path: `/webhooks/${i}/failurePolicy`,
          value: "Fail",
        })),
      });
    },
  };
  if (toChange.length === 0)
    plan.noop = `every webhook of ${WEBHOOK_CONFIGURATION} already has failurePolicy Fail`;
  return plan;
}

export async function webhookRemovePlan(cluster: Cluster): Promise<Plan> {
  const config = await readWebhookConfig(cluster);
  if (!config) {
    return {
      changes: [],
      noop: `mutatingwebhookconfiguration ${WEBHOOK_CONFIGURATION} is already gone`,
      apply: async () => {},
    };
  }
  const existing = await readBackup(cluster);
  return {
    changes: [
      existing
        ? `keep the copy saved earlier in configmap ${NAMESPACE}/${WEBHOOK_BACKUP_CONFIGMAP}`
        : `save mutatingwebhookconfiguration ${WEBHOOK_CONFIGURATION} in configmap ${NAMESPACE}/${WEBHOOK_BACKUP_CONFIGMAP}`,
      `delete mutatingwebhookconfiguration ${WEBHOOK_CONFIGURATION} (pods are created without CoreDog's directory until it is restored)`,
    ],
    undo: "kubectl coredog emergency webhook restore",
    async apply() {
      await saveBackup(cluster, config);
      await cluster.admission.deleteMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION });
    },
  };
}

export async function webhookRestorePlan(cluster: Cluster): Promise<Plan> {
  const backup = await readBackup(cluster);
  const saved = backup?.data?.[BACKUP_KEY];
  if (!saved) {
    throw new UserError(
      `no saved copy in configmap ${NAMESPACE}/${WEBHOOK_BACKUP_CONFIGMAP}`,
      "reinstall it with kubectl apply -k manifests (then scripts/generate-cert.sh for the caBundle)",
    );
  }
  let wanted: V1MutatingWebhookConfiguration;
  try {
    wanted = JSON.parse(saved) as V1MutatingWebhookConfiguration;
  } catch {
    throw new UserError(
      `the saved copy in configmap ${NAMESPACE}/${WEBHOOK_BACKUP_CONFIGMAP} is not valid JSON`,
    );
  }
  const current = await readWebhookConfig(cluster);
  const changes = current
    ? (wanted.webhooks ?? []).map(
        (w) =>
          `webhook ${w.name}: back to failurePolicy ${w.failurePolicy ?? "Fail"} and the rest as saved`,
      )
    : [
        `create mutatingwebhookconfiguration ${WEBHOOK_CONFIGURATION} as saved at ${backup?.metadata?.annotations?.["coredog.io/saved-at"] ?? "?"}`,
      ];
  changes.push(`delete the saved copy ${NAMESPACE}/${WEBHOOK_BACKUP_CONFIGMAP}`);
  return {
    changes,
    async apply() {
      if (current) {
        await cluster.admission.replaceMutatingWebhookConfiguration({
          name: WEBHOOK_CONFIGURATION,
          body: {
            ...wanted,
            metadata: { ...wanted.metadata, resourceVersion: current.metadata?.resourceVersion },
          },
        });
      } else {
        await cluster.admission.createMutatingWebhookConfiguration({ body: wanted });
      }
      await cluster.core.deleteNamespacedConfigMap({
        name: WEBHOOK_BACKUP_CONFIGMAP,
        namespace: NAMESPACE,
      });
    },
  };
}

async function readWatcher(cluster: Cluster): Promise<V1DaemonSet> {
  try {
    return await cluster.apps.readNamespacedDaemonSet({ name: WATCHER_NAME, namespace: NAMESPACE });
  } catch (err) {
    if (isNotFound(err))
      throw new UserError(
        `daemonset ${NAMESPACE}/${WATCHER_NAME} not found: is CoreDog installed?`,
      );
    throw err;
  }
}

export function isPaused(ds: V1DaemonSet): boolean {
  return ds.spec?.template?.spec?.nodeSelector?.[WATCHER_PAUSE_LABEL] !== undefined;
}

export async function watcherPausePlan(cluster: Cluster): Promise<Plan> {
  const ds = await readWatcher(cluster);
  // A DaemonSet cannot be scaled to zero: pin it to a node label no node has.
  const nodes = await cluster.core.listNode({ labelSelector: WATCHER_PAUSE_LABEL });
  if (nodes.items.length > 0) {
    throw new UserError(
      `node(s) ${nodes.items.map((n) => n.metadata?.name).join(", ")} carry the label ${WATCHER_PAUSE_LABEL}, so pausing would not stop the watcher there`,
      `remove it: kubectl label node NODE ${WATCHER_PAUSE_LABEL}-`,
    );
  }
  const plan: Plan = {
    changes: [
      `daemonset ${NAMESPACE}/${WATCHER_NAME}: add nodeSelector ${WATCHER_PAUSE_LABEL}=true (no node has it, so every watcher pod stops)`,
      "cores already on the nodes stay there; new cores are written but not uploaded until resume",
    ],
    undo: "kubectl coredog emergency watcher resume",
    async apply() {
      await cluster.apps.patchNamespacedDaemonSet(
        {
          name: WATCHER_NAME,
          namespace: NAMESPACE,
          body: {
            spec: { template: { spec: { nodeSelector: { [WATCHER_PAUSE_LABEL]: "true" } } } },
          },
        },
        mergePatch(cluster),
      );
    },
  };
  if (isPaused(ds)) plan.noop = `daemonset ${WATCHER_NAME} is already paused`;
  return plan;
}

export async function watcherResumePlan(cluster: Cluster): Promise<Plan> {
  const ds = await readWatcher(cluster);
  const plan: Plan = {
    changes: [
      `daemonset ${NAMESPACE}/${WATCHER_NAME}: remove nodeSelector ${WATCHER_PAUSE_LABEL} (watchers start again and upload what waited)`,
    ],
    async apply() {
      await cluster.apps.patchNamespacedDaemonSet(
        {
          name: WATCHER_NAME,
          namespace: NAMESPACE,
          body: { spec: { template: { spec: { nodeSelector: { [WATCHER_PAUSE_LABEL]: null } } } } },
        },
        mergePatch(cluster),
      );
    },
  };
  if (!isPaused(ds)) plan.noop = `daemonset ${WATCHER_NAME} is not paused`;
  return plan;
}

export type RestartTarget = "watcher" | "webhook";

export async function restartPlan(cluster: Cluster, target: RestartTarget): Promise<Plan> {
  const at = new Date().toISOString();
  const body = {
    spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": at } } } },
  };
  if (target === "watcher") {
    await readWatcher(cluster);
    return {
      changes: [`daemonset ${NAMESPACE}/${WATCHER_NAME}: rolling restart, one node at a time`],
      async apply() {
        await cluster.apps.patchNamespacedDaemonSet(
          { name: WATCHER_NAME, namespace: NAMESPACE, body },
          mergePatch(cluster),
        );
      },
    };
  }
  try {
    await cluster.apps.readNamespacedDeployment({ name: WEBHOOK_NAME, namespace: NAMESPACE });
  } catch (err) {
    if (isNotFound(err))
      throw new UserError(
        `deployment ${NAMESPACE}/${WEBHOOK_NAME} not found: is CoreDog installed?`,
      );
    throw err;
  }
  return {
    changes: [
      `deployment ${NAMESPACE}/${WEBHOOK_NAME}: rolling restart (new pods first, then the old ones go)`,
    ],
    async apply() {
      await cluster.apps.patchNamespacedDeployment(
        { name: WEBHOOK_NAME, namespace: NAMESPACE, body },
        mergePatch(cluster),
      );
    },
  };
}

/** client-node sends JSON patch by default; these patches are merge patches. */
function mergePatch(cluster: Cluster) {
  return cluster.k8s.setHeaderOptions("Content-Type", cluster.k8s.PatchStrategy.MergePatch);
}
