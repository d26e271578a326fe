// `kubectl coredog doctor`: the operator's guide's six problems as checks over what was read from the
// cluster. Pure: gathering is in diagnose.ts, so the checks are tested with plain objects.
import { X509Certificate } from "node:crypto";
import type {
  V1ConfigMap,
  V1DaemonSet,
  V1MutatingWebhookConfiguration,
  V1Namespace,
  V1Pod,
  V1Secret,
} from "@kubernetes/client-node";
import { decide, SKIPS } from "../../src/injection.js";
import { keywordMatches } from "../../src/keyword.js";
import {
  ANNOTATION_INJECTED,
  ANNOTATION_NODE_STATE,
  CONFIG_FILE,
  CORE_PATTERN,
  NAMESPACE,
  DUMP_DIR_MODE,
  NODE_DUMP_DIR,
  WEBHOOK_NAME,
} from "../../src/names.js";
import { parseNodeState, type NodeState } from "../../src/nodestate.js";
import { parseSettings, type Settings } from "../../src/settings.js";
import { isPaused } from "./emergency.js";
import { blockedUsers, describeUser } from "../../src/dirwrite.js";
import { describePullFailures, imagePullFailures, pullFix } from "./imagepull.js";
import { containerDumpDirs, mountedContainers } from "./listing.js";
import { labelSelectorMatches } from "../../src/labelselector.js";

export type CheckStatus = "pass" | "fail" | "warn" | "info";

export interface Check {
  /** The guide's problem number (1-6) this check belongs to. */
  problem: number;
  id: string;
  status: CheckStatus;
  title: string;
  detail?: string;
  fix?: string;
}

/** Something that could not be read; `reason` says why (forbidden, not found, unreachable). */
export type Read<T> = { ok: true; value: T } | { ok: false; reason: string; error?: unknown };

export interface DoctorInput {
  now: Date;
  pod?: V1Pod;
  podNamespace?: Read<V1Namespace>;
  webhookConfig: Read<V1MutatingWebhookConfiguration | null>;
  webhookPods: Read<V1Pod[]>;
  tlsSecret: Read<V1Secret | null>;
  configMap: Read<V1ConfigMap | null>;
  watcher: Read<V1DaemonSet | null>;
  watcherPods: Read<V1Pod[]>;
}

export const PROBLEMS: Record<number, string> = {
  1: "Pod not injected with the volume",
  2: "Core dump not detected",
  3: "Pod info not resolved",
  4: "Local files not cleaned up",
  5: "No notification received",
  6: "Webhook not working",
};

const SERVICE_DNS = `${WEBHOOK_NAME}.${NAMESPACE}.svc`;

function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

export function nodeStateOf(pod: V1Pod): NodeState | null {
  const raw = pod.metadata?.annotations?.[ANNOTATION_NODE_STATE];
  return raw ? parseNodeState(raw) : null;
}

function pemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const certs: X509Certificate[] = [];
  for (const block of blocks) {
    try {
      certs.push(new X509Certificate(block));
    } catch {
      // an unreadable block is reported by the caller as "no valid certificate"
    }
  }
  return certs;
}

function decodeBase64(value: string | undefined): string {
  return value ? Buffer.from(value, "base64").toString("utf8") : "";
}

function days(ms: number): number {
  return Math.floor(ms / 86_400_000);
}

export function settingsFrom(configMap: V1ConfigMap | null): {
  settings?: Settings;
  errors: string[];
} {
  const text = configMap?.data?.[CONFIG_FILE];
  if (text === undefined)
    return { errors: [`configmap ${NAMESPACE}/coredog has no ${CONFIG_FILE}`] };
  const result = parseSettings(text);
  return result.ok ? { settings: result.settings, errors: [] } : { errors: result.errors };
}

function webhookChecks(input: DoctorInput): Check[] {
  const checks: Check[] = [];
  const cfg = input.webhookConfig;
  if (!cfg.ok) {
    checks.push({
      problem: 6,
      id: "webhook-config",
      status: "warn",
      title: "MutatingWebhookConfiguration coredog",
      detail: `cannot be read: ${cfg.reason}`,
    });
  } else if (!cfg.value) {
    checks.push({
      problem: 6,
      id: "webhook-config",
      status: "fail",
      title: "MutatingWebhookConfiguration coredog exists",
      detail: "not found: no pod gets the directory",
      fix: "kubectl coredog emergency webhook restore (if it was removed), or kubectl apply -k manifests && scripts/generate-cert.sh",
    });
  } else {
    const hooks = cfg.value.webhooks ?? [];
    checks.push({
      problem: 6,
      id: "webhook-config",
      status: "pass",
      title: "MutatingWebhookConfiguration coredog exists",
      detail: hooks
        .map(
          (h) =>
            `${h.name}: failurePolicy ${h.failurePolicy ?? "Fail"}, timeout ${h.timeoutSeconds ?? 10}s`,
        )
        .join("; "),
    });
    checks.push(caBundleCheck(input, cfg.value));
  }
  const pods = input.webhookPods;
  if (!pods.ok) {
    checks.push({
      problem: 6,
      id: "webhook-pods",
      status: "warn",
      title: "webhook pods",
      detail: `cannot be read: ${pods.reason}`,
    });
  } else {
    const ready = pods.value.filter(isReady);
    const crashing = pods.value.filter((p) =>
      (p.status?.containerStatuses ?? []).some(
        (s) => s.state?.waiting?.reason === "CrashLoopBackOff",
      ),
    );
    const pulling = imagePullFailures(pods.value);
    checks.push({
      problem: 6,
      id: "webhook-pods",
      status: ready.length > 0 ? (ready.length < pods.value.length ? "warn" : "pass") : "fail",
      title: "webhook pods ready",
      detail: `${ready.length}/${pods.value.length} ready${crashing.length ? `, ${crashing.length} in CrashLoopBackOff` : ""}${pulling.length ? `, ${describePullFailures(pulling)}` : ""}`,
      fix:
        ready.length > 0
          ? undefined
          : pulling.length
            ? pullFix(pulling)
            : crashing.length
              ? "CrashLoopBackOff is usually the certificate: scripts/generate-cert.sh, then kubectl logs -n coredog-system -l app.kubernetes.io/component=webhook"
              : "kubectl get pods -n coredog-system -l app.kubernetes.io/component=webhook; kubectl describe them",
    });
  }
  return checks;
}

function caBundleCheck(input: DoctorInput, cfg: V1MutatingWebhookConfiguration): Check {
  const title = "caBundle trusts the webhook's serving certificate";
  const fix = "scripts/generate-cert.sh (rerun it to rotate)";
  const bundles = (cfg.webhooks ?? []).map((h) => decodeBase64(h.clientConfig?.caBundle));
  const cas = pemCertificates(bundles[0] ?? "");
  if (cas.length === 0) {
    return {
      problem: 6,
      id: "ca-bundle",
      status: "fail",
      title,
      detail: "no caBundle (or no readable certificate in it)",
      fix,
    };
  }
  if (!input.tlsSecret.ok) {
    return {
      problem: 6,
      id: "ca-bundle",
      status: "warn",
      title,
      detail: `the serving certificate cannot be read: ${input.tlsSecret.reason}`,
    };
  }
  const secret = input.tlsSecret.value;
  if (!secret)
    return {
      problem: 6,
      id: "ca-bundle",
      status: "fail",
      title,
      detail: `secret ${NAMESPACE}/coredog-webhook-tls not found`,
      fix,
    };
  const serving = pemCertificates(decodeBase64(secret.data?.["tls.crt"]))[0];
  if (!serving)
    return {
      problem: 6,
      id: "ca-bundle",
      status: "fail",
      title,
      detail: "tls.crt holds no readable certificate",
      fix,
    };
  if (!cas.some((ca) => serving.checkIssued(ca) && serving.verify(ca.publicKey))) {
    return {
      problem: 6,
      id: "ca-bundle",
      status: "fail",
      title,
      detail: "the serving certificate is not signed by any CA in the caBundle",
      fix,
    };
  }
  if (!serving.checkHost(SERVICE_DNS)) {
    return {
      problem: 6,
      id: "ca-bundle",
      status: "fail",
      title,
      detail: `the serving certificate is not valid for ${SERVICE_DNS}`,
      fix,
    };
  }
  const left = Date.parse(serving.validTo) - input.now.getTime();
  if (left <= 0) {
    return {
      problem: 6,
      id: "ca-bundle",
      status: "fail",
      title,
      detail: `the serving certificate expired on ${serving.validTo}`,
      fix,
    };
  }
  return {
    problem: 6,
    id: "ca-bundle",
    status: left < 30 * 86_400_000 ? "warn" : "pass",
    title,
    detail: `valid for ${SERVICE_DNS} until ${serving.validTo} (${days(left)} days left)`,
    fix: left < 30 * 86_400_000 ? fix : undefined,
  };
}

function podChecks(input: DoctorInput, pod: V1Pod): Check[] {
  const checks: Check[] = [];
  const ns = input.podNamespace?.ok ? input.podNamespace.value : undefined;
  const decision = decide(pod, ns);
  if (!decision.inject) {
    checks.push({
      problem: 1,
      id: "decision",
      status: "fail",
      title: "the webhook's decision for this pod",
      detail: `skip: ${decision.reason}`,
      fix: SKIPS[decision.code].fix,
    });
  } else {
    checks.push({
      problem: 1,
      id: "decision",
      status: "pass",
      title: "the webhook's decision for this pod",
      detail: `inject at ${decision.path} into ${[...decision.initContainers, ...decision.containers].join(", ")}`,
    });
  }
  const mounted = mountedContainers(pod);
  const selected = namespaceSelected(input, ns);
  if (mounted.length > 0) {
    checks.push({
      problem: 1,
      id: "injected",
      status: "pass",
      title: "the pod has the node directory",
      detail: `mounted in ${mounted.join(", ")}`,
    });
  } else if (decision.inject) {
    const recorded = pod.metadata?.annotations?.[ANNOTATION_INJECTED];
    let detail = "the pod was admitted without it";
    let fix = `recreate the pod (kubectl delete pod ${pod.metadata?.name} -n ${pod.metadata?.namespace}, or kubectl rollout restart its workload)`;
    if (selected === false) {
      detail = `the webhook's namespaceSelector excludes namespace ${pod.metadata?.namespace}`;
      fix =
        "CoreDog does not serve this namespace (kube-system and coredog-system are excluded on purpose)";
    } else if (!recorded) {
      detail =
        "created before it was enabled, or while the webhook was unavailable (failurePolicy Ignore lets pods through)";
    }
    checks.push({
      problem: 1,
      id: "injected",
      status: "fail",
      title: "the pod has the node directory",
      detail,
      fix,
    });
  }
  checks.push(...nodeChecks(input, pod, decision.inject ? decision.path : undefined));
  return checks;
}

function namespaceSelected(input: DoctorInput, ns: V1Namespace | undefined): boolean | undefined {
  if (!input.webhookConfig.ok || !input.webhookConfig.value || !ns) return undefined;
  const labels = {
    "kubernetes.io/metadata.name": ns.metadata?.name ?? "",
    ...(ns.metadata?.labels ?? {}),
  };
  return (input.webhookConfig.value.webhooks ?? []).some((h) =>
    labelSelectorMatches(h.namespaceSelector, labels),
  );
}

function watcherOn(input: DoctorInput, node: string | undefined): V1Pod | undefined {
  if (!node || !input.watcherPods.ok) return undefined;
  return input.watcherPods.value.find(
    (p) => p.spec?.nodeName === node && !p.metadata?.deletionTimestamp,
  );
}

function nodeChecks(input: DoctorInput, pod: V1Pod, path: string | undefined): Check[] {
  const checks: Check[] = [];
  const node = pod.spec?.nodeName;
  const ds = input.watcher.ok ? input.watcher.value : undefined;
  if (ds && isPaused(ds)) {
    checks.push({
      problem: 2,
      id: "watcher",
      status: "fail",
      title: "a watcher runs on the pod's node",
      detail: "the watcher DaemonSet is paused",
      fix: "kubectl coredog emergency watcher resume",
    });
    return checks;
  }
  const watcher = watcherOn(input, node);
  if (!node) {
    checks.push({
      problem: 2,
      id: "watcher",
      status: "info",
      title: "a watcher runs on the pod's node",
      detail: "the pod is not scheduled yet",
    });
    return checks;
  }
  if (!watcher) {
    checks.push({
      problem: 2,
      id: "watcher",
      status: "fail",
      title: "a watcher runs on the pod's node",
      detail: input.watcherPods.ok
        ? `no watcher pod on node ${node}`
        : `cannot be read: ${input.watcherPods.reason}`,
      fix: "kubectl get ds coredog-watcher -n coredog-system; check its tolerations and nodeSelector",
    });
    return checks;
  }
  checks.push({
    problem: 2,
    id: "watcher",
    status: isReady(watcher) ? "pass" : "fail",
    title: "a watcher runs on the pod's node",
    detail: `${watcher.metadata?.name} on ${node}: ${isReady(watcher) ? "ready" : "not ready"}`,
    fix: isReady(watcher) ? undefined : `kubectl logs -n coredog-system ${watcher.metadata?.name}`,
  });
  const state = nodeStateOf(watcher);
  if (!state) {
    checks.push({
      problem: 2,
      id: "core-pattern",
      status: "warn",
      title: "the node's kernel.core_pattern",
      detail: "the watcher has not published the node's state yet",
    });
    return checks;
  }
  const pattern = state.corePattern;
  const want = path ? `${path.replace(/\/$/, "")}/` : undefined;
  if (pattern === null) {
    checks.push({
      problem: 2,
      id: "core-pattern",
      status: "warn",
      title: "the node's kernel.core_pattern",
      detail: "the watcher could not read it",
    });
  } else if (pattern.startsWith("|")) {
    checks.push({
      problem: 2,
      id: "core-pattern",
      status: "fail",
      title: "the node's kernel.core_pattern",
      detail: `"${pattern}" pipes cores to a program (systemd-coredump, apport...), not into the pod's directory`,
      fix: `on the node: sysctl -w kernel.core_pattern=${CORE_PATTERN} (or install overlays/node-setup)`,
    });
  } else if (want && !pattern.startsWith(want)) {
    checks.push({
      problem: 2,
      id: "core-pattern",
      status: "fail",
      title: "the node's kernel.core_pattern matches the pod's path",
      detail: `core_pattern is "${pattern}", the pod's directory is at ${path}`,
      fix: `the path must be the same on every pod of the node: sysctl -w kernel.core_pattern=${want}core.%e.%p.%h.%t, or enable with --path ${pattern.replace(/\/[^/]*$/, "") || "/corefile"}`,
    });
  } else {
    checks.push({
      problem: 2,
      id: "core-pattern",
      status: "pass",
      title: "the node's kernel.core_pattern matches the pod's path",
      detail: pattern,
    });
  }
  checks.push(writableCheck(pod, state, node));
  checks.push({
    problem: 2,
    id: "ulimit",
    status: "info",
    title: "ulimit -c in the container",
    detail: "not visible through the API",
    fix: `kubectl exec ${pod.metadata?.name} -n ${pod.metadata?.namespace} -- grep 'core file' /proc/1/limits shows the main process's limit (kubectl exec ... -- sh -c 'ulimit -c' shows the runtime's default); it must not be 0: add ulimit -c unlimited to the start script`,
  });
  const dirs = containerDumpDirs(pod);
  const shared = dirs.filter((d) => !d.own);
  checks.push({
    problem: 3,
    id: "dump-path",
    status: dirs.length === 0 ? "info" : shared.length > 0 ? "warn" : "pass",
    title: "cores land where the watcher can name the pod and the container",
    detail:
      dirs.length === 0
        ? `${NODE_DUMP_DIR}/${pod.metadata?.namespace}/${pod.metadata?.name}/<container>/`
        : dirs.map((d) => `${d.container}: ${d.dir}`).join(", ") +
          (shared.length > 0
            ? ` (${shared.map((d) => d.container).join(", ")} share the pod's directory: admitted before each container had its own, so the container is guessed)`
            : ""),
    ...(shared.length > 0
      ? {
          fix: "restart the workload (kubectl rollout restart ...) so its new pods get a directory per container",
        }
      : {}),
  });
  if (state.lastError) {
    checks.push({
      problem: 4,
      id: "upload-error",
      status: "fail",
      title: "uploads from this node succeed",
      detail: `last error at ${state.lastError.at}: ${state.lastError.message}`,
      fix: "check StorageConfig and the Secret coredog-storage; kubectl coredog logs | grep error",
    });
  } else {
    checks.push({
      problem: 4,
      id: "upload-error",
      status: "pass",
      title: "uploads from this node succeed",
      detail: state.lastUpload
        ? `last upload ${state.lastUpload.at}: ${state.lastUpload.key}`
        : "no upload yet",
    });
  }
  if (state.filesWaiting > 0) {
    checks.push({
      problem: 4,
      id: "waiting",
      status: "warn",
      title: "nothing waiting on the node",
      detail: `${state.filesWaiting} file(s), ${state.bytesWaiting} bytes waiting`,
    });
  }
  if (state.settingsError) {
    checks.push({
      problem: 4,
      id: "watcher-settings",
      status: "fail",
      title: "the watcher accepted the settings",
      detail: state.settingsError,
      fix: "fix config.yaml in configmap coredog; the watcher keeps its last good settings meanwhile",
    });
  }
  return checks;
}

function settingsChecks(input: DoctorInput): Check[] {
  const checks: Check[] = [];
  if (!input.configMap.ok) {
    return [
      {
        problem: 4,
        id: "settings",
        status: "warn",
        title: "settings (configmap coredog)",
        detail: `cannot be read: ${input.configMap.reason}`,
      },
    ];
  }
  if (!input.configMap.value) {
    return [
      {
        problem: 4,
        id: "settings",
        status: "fail",
        title: "settings (configmap coredog)",
        detail: "not found",
        fix: "kubectl apply -k manifests",
      },
    ];
  }
  const { settings, errors } = settingsFrom(input.configMap.value);
  if (!settings) {
    return [
      {
        problem: 4,
        id: "settings",
        status: "fail",
        title: "settings are valid",
        detail: errors.join("; "),
        fix: "kubectl edit cm coredog -n coredog-system",
      },
    ];
  }
  checks.push({ problem: 4, id: "settings", status: "pass", title: "settings are valid" });
  checks.push({
    problem: 4,
    id: "storage",
    status: settings.storage.configured ? "pass" : "fail",
    title: "storage is configured",
    detail: settings.storage.configured
      ? `${settings.storage.protocol} ${settings.storage.endpoint ?? ""} ${settings.storage.bucket ?? settings.storage.cfsPath ?? ""}`.trim()
      : "no StorageConfig: cores stay on the nodes",
    fix: settings.storage.configured ? undefined : "set StorageConfig in configmap coredog",
  });
  checks.push({
    problem: 4,
    id: "delete-local",
    status: settings.deleteLocalCorefile ? "pass" : "fail",
    title: "DeleteLocalCorefile: true",
    detail: settings.deleteLocalCorefile
      ? `gc_type ${settings.gcType}`
      : "DeleteLocalCorefile is false: the nodes keep every core",
    fix: settings.deleteLocalCorefile
      ? undefined
      : "set DeleteLocalCorefile: true in configmap coredog",
  });
  const channels = settings.noticeChannels;
  checks.push({
    problem: 5,
    id: "notice-channels",
    status: channels.length > 0 ? "pass" : "fail",
    title: "NoticeChannel is configured",
    detail:
      channels.length > 0
        ? channels.map((c) => c.chan + (c.keyword ? ` (keyword "${c.keyword}")` : "")).join(", ")
        : "NoticeChannel is empty: nobody is told",
    fix:
      channels.length > 0
        ? undefined
        : "add a channel under NoticeChannel in configmap coredog (chan + webhookurl)",
  });
  const pod = input.pod;
  if (pod && channels.length > 0) {
    const ns = pod.metadata?.namespace ?? "";
    const name = pod.metadata?.name ?? "";
    const subjects = [
      `${NODE_DUMP_DIR}/${ns}/${name}/`,
      ...containerDumpDirs(pod).map((d) => d.dir),
      ns,
      name,
    ];
    const deaf = channels.filter((c) => !keywordMatches(c.keyword, subjects));
    checks.push({
      problem: 5,
      id: "keyword",
      status: deaf.length === channels.length ? "fail" : deaf.length > 0 ? "info" : "pass",
      title: "a channel's keyword lets this pod through",
      detail: deaf.length
        ? `filtered out by ${deaf.map((c) => `${c.chan} (keyword "${c.keyword}")`).join(", ")}`
        : "every channel hears about it",
      fix:
        deaf.length === channels.length
          ? "change the keyword, or add a channel without one"
          : undefined,
    });
  }
  return checks;
}

/** What to change when the store refuses uploads, from the store's own error text. */
export function storageFix(message: string): string {
  if (/Unsupported header '?x-amz-(sdk-)?checksum|x-amz-trailer|aws-chunked/i.test(message)) {
    return "the store refuses the AWS SDK's flexible checksums: remove requestChecksumCalculation / responseChecksumValidation WHEN_SUPPORTED from StorageConfig (the default off AWS is WHEN_REQUIRED)";
  }
  if (/SecondLevelDomainForbidden|virtual.hosted/i.test(message)) {
    return "the store wants virtual-hosted-style requests: set StorageConfig.addressingStyle: virtual";
  }
  if (/NoSuchBucket|bucket does not exist/i.test(message)) {
    return "check StorageConfig.S3Bucket and StorageConfig.addressingStyle (MinIO and Ceph usually need path)";
  }
  if (
    /InvalidAccessKeyId|SignatureDoesNotMatch|InvalidToken|ExpiredToken|AccessDenied|credentials/i.test(
      message,
    )
  ) {
    return "check the keys: Secret coredog-storage (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), or the watcher ServiceAccount's role (IRSA, Pod Identity) when there are none";
  }
  return "check StorageConfig and the Secret coredog-storage; kubectl coredog logs | grep error";
}

/** Every node's last upload failure, as the store worded it (the watchers publish it on their pods). */
function storageChecks(input: DoctorInput): Check[] {
  if (!input.watcherPods.ok) return [];
  const states = input.watcherPods.value
    .map((p) => nodeStateOf(p))
    .filter((s): s is NodeState => s !== null);
  if (states.length === 0) return [];
  const failing = states.filter((s) => s.storageError);
  if (failing.length === 0) {
    return [
      {
        problem: 4,
        id: "store-accepts",
        status: "pass",
        title: "the store accepts uploads",
        detail: `no failing upload on ${states.length} node(s)`,
      },
    ];
  }
  return failing.map((s) => ({
    problem: 4,
    id: "store-accepts",
    status: "fail" as const,
    title: "the store accepts uploads",
    detail: `${s.node} at ${s.storageError!.at}: ${s.storageError!.message}`,
    fix: storageFix(s.storageError!.message),
  }));
}

/** Whether the pod's users can create their cores: the node directory's mode (the kubelet copies it) and users. */
function writableCheck(pod: V1Pod, state: NodeState, node: string): Check {
  const title = "the pod's users can create their cores in their directories";
  const dir = state.dumpDir;
  if (!dir) {
    return {
      problem: 2,
      id: "dir-writable",
      status: "warn",
      title,
      detail: `the watcher on ${node} does not report its directory's mode (a CoreDog from before non-root support?)`,
      fix: "kubectl apply -k manifests with the current CoreDog, then kubectl coredog doctor again",
    };
  }
  const where = `${NODE_DUMP_DIR} on ${node} is ${dir.mode} owned by ${dir.uid}:${dir.gid}`;
  const blocked = blockedUsers(pod, dir);
  if (blocked.length === 0) {
    return { problem: 2, id: "dir-writable", status: "pass", title, detail: where };
  }
  const who = blocked.map(({ user }) => `${user.container} (${describeUser(user)})`).join(", ");
  const fix = `the watcher gives ${NODE_DUMP_DIR} mode ${DUMP_DIR_MODE.toString(8)} at start and fixes existing directories at every rescan: restart it on ${node} (kubectl -n coredog-system delete pod -l app.kubernetes.io/component=watcher --field-selector spec.nodeName=${node}), or on the node: chmod ${DUMP_DIR_MODE.toString(8)} ${NODE_DUMP_DIR}`;
  if (blocked.every((b) => b.unknown)) {
    return {
      problem: 2,
      id: "dir-writable",
      status: "warn",
      title,
      detail: `${where}; ${who} run as the image's user: unless that is root, the kernel cannot create their cores`,
      fix,
    };
  }
  return {
    problem: 2,
    id: "dir-writable",
    status: "fail",
    title,
    detail: `${where}: the kernel cannot create the cores of ${who}`,
    fix,
  };
}

/** The watchers' pods that cannot get their image: no core is taken on those nodes. */
function watcherImageChecks(input: DoctorInput): Check[] {
  const failures = input.watcherPods.ok ? imagePullFailures(input.watcherPods.value) : [];
  if (failures.length === 0) return [];
  return [
    {
      problem: 2,
      id: "watcher-image",
      status: "fail",
      title: "watcher pods have their image",
      detail: describePullFailures(failures),
      fix: pullFix(failures),
    },
  ];
}

export function runChecks(input: DoctorInput): Check[] {
  const checks = [
    ...webhookChecks(input),
    ...watcherImageChecks(input),
    ...settingsChecks(input),
    ...storageChecks(input),
  ];
  if (input.pod) checks.push(...podChecks(input, input.pod));
  return checks.sort((a, b) => a.problem - b.problem);
}

export function verdict(checks: Check[]): "ok" | "problems" {
  return checks.some((c) => c.status === "fail") ? "problems" : "ok";
}
