// Every fixed name of the product: the contracts with the operator's guide and with Kubernetes.

export const PRODUCT = "coredog";
export const PRODUCT_VERSION = "0.1.0";

export const NAMESPACE = "coredog-system";
export const WEBHOOK_NAME = "coredog-webhook"; // Deployment and Service
export const WATCHER_NAME = "coredog-watcher"; // DaemonSet
export const WEBHOOK_CONFIGURATION = "coredog"; // MutatingWebhookConfiguration
export const WEBHOOK_ENTRY = "pods.coredog.io"; // the webhook's name inside the configuration
export const CONFIGMAP = "coredog";
export const CONFIG_FILE = "config.yaml";
export const STORAGE_SECRET = "coredog-storage";
/** Chat robots' signing secrets (`NoticeChannel[].secretRef.key`), mounted into the watcher and the webhook. */
export const NOTIFY_SECRET = "coredog-notify";
export const NOTIFY_SECRET_DIR = "/etc/coredog/notify";
export const TLS_SECRET = "coredog-webhook-tls";
export const WEBHOOK_BACKUP_CONFIGMAP = "coredog-webhook-backup";
export const WATCHER_PAUSE_LABEL = "coredog.io/paused";

export const LABEL_NAME = "app.kubernetes.io/name";
export const LABEL_COMPONENT = "app.kubernetes.io/component";
export const COMPONENT_WEBHOOK = "webhook";
export const COMPONENT_WATCHER = "watcher";
export const WEBHOOK_SELECTOR = `${LABEL_NAME}=${PRODUCT},${LABEL_COMPONENT}=${COMPONENT_WEBHOOK}`;
export const WATCHER_SELECTOR = `${LABEL_NAME}=${PRODUCT},${LABEL_COMPONENT}=${COMPONENT_WATCHER}`;

export const ANNOTATION_INJECT = "coredog.io/inject";
export const ANNOTATION_PATH = "coredog.io/path";
export const ANNOTATION_CONTAINER = "coredog.io/container";
/** Set by the webhook on pods it patched: which containers, which path. */
export const ANNOTATION_INJECTED = "coredog.io/injected";
/** Published by each watcher on its own pod: the node's state as JSON (see NodeState). */
export const ANNOTATION_NODE_STATE = "coredog.io/node-state";

/** The node directory; `<namespace>/<pod>/<container>/` below it holds a container's cores. */
export const NODE_DUMP_DIR = "/data/coredog-system/dumps";
/**
 * The mode the watcher gives the node directory, and so (the kubelet creates a missing subPathExpr directory with
 * the volume root's mode) every `<namespace>/<pod>/<container>/` below it: sticky, writable and searchable by
 * anyone, listable by root only. Any user a container runs as can create its core; nobody but root can list,
 * read (cores are 0600), remove or replace another user's file.
 */
export const DUMP_DIR_MODE = 0o1733;
export const DEFAULT_CONTAINER_PATH = "/corefile";
export const CORE_PATTERN = "/corefile/core.%e.%p.%h.%t";
export const CORE_PATTERN_FILE = "/proc/sys/kernel/core_pattern";
export const CERT_SCRIPT = "scripts/generate-cert.sh";

/** Name of the hostPath volume the webhook adds. */
export const VOLUME_NAME = "coredog-dumps";
/** Env vars the webhook adds for subPathExpr (downward API). */
export const ENV_POD_NAMESPACE = "COREDOG_POD_NAMESPACE";
export const ENV_POD_NAME = "COREDOG_POD_NAME";

/** reportingComponent / source of the watcher's Events, and their reasons. */
export const EVENT_COMPONENT = WATCHER_NAME;
export const EVENT_REASON_CAPTURED = "CoreDumpCaptured";
export const EVENT_REASON_UPLOADED = "CoreDumpUploaded";
export const EVENT_REASON_FAILED = "CoreDumpFailed";
/** Limits (DESIGN.md, Limits): cores of a crash over its rate, deleted for MaxUse/KeepFree, over maxCoreSize. */
export const EVENT_REASON_SKIPPED = "CoreDumpSkipped";
export const EVENT_REASON_DELETED = "CoreDumpDeleted";
export const EVENT_REASON_TOO_LARGE = "CoreDumpTooLarge";

export const WEBHOOK_PORT = 8443;
export const WATCHER_PORT = 9090;
export const MUTATE_PATH = "/mutate";

/** The node directory of one pod. */
export function podDumpDir(namespace: string, pod: string, root = NODE_DUMP_DIR): string {
  return `${root}/${namespace}/${pod}`;
}

/** The node directory of one injected container: its cores, and nobody else's. */
export function containerDumpDir(
  namespace: string,
  pod: string,
  container: string,
  root = NODE_DUMP_DIR,
): string {
  return `${podDumpDir(namespace, pod, root)}/${container}`;
}
