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
import { hasSecret, needsSecurity, templateFixedText } from "../../src/notice-security.js";
import { parseNodeState, type LimitName, type NodeState } from "../../src/node-state.js";
import { parseSettings, type Settings } from "../../src/settings.js";
import { isPaused } from "./emergency.js";
import { blockedUsers, describeUser } from "../../src/dir-write.js";
import { describePullFailures, imagePullFailures, pullFix } from "./image-pull.js";
import { containerDumpDirs, mountedContainers } from "./listing.js";
import { labelSelectorMatches } from "../../src/label-selector.js";

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

/** One check: its problem, id and title; the outcome comes from `pass`, `fail`, `warn`, `info` or `as`. */
function check(problem: number, id: string, title: string) {
  const as = (status: CheckStatus, detail?: string, fix?: string): Check => ({
    problem,
    id,
    status,
    title,
    detail,
    fix,
  });
  return {
    as,
    pass: (detail?: string) => as("pass", detail),
    fail: (detail: string, fix?: string) => as("fail", detail, fix),
    warn: (detail: string, fix?: string) => as("warn", detail, fix),
    info: (detail: string, fix?: string) => as("info", detail, fix),
  };
}

const unreadable = (read: { reason: string }) => `cannot be read: ${read.reason}`;

function webhookChecks(input: DoctorInput): Check[] {
  const checks: Check[] = [];
  const cfg = input.webhookConfig;
  const exists = check(6, "webhook-config", "MutatingWebhookConfiguration coredog exists");
  if (!cfg.ok) {
    checks.push(
      check(6, "webhook-config", "MutatingWebhookConfiguration coredog").warn(unreadable(cfg)),
    );
  } else if (!cfg.value) {
    checks.push(
      exists.fail(
        "not found: no pod gets the directory",
        "kubectl coredog emergency webhook restore (if it was removed), or kubectl apply -k manifests && scripts/generate-cert.sh",
      ),
    );
  } else {
    const hooks = cfg.value.webhooks ?? [];
    checks.push(
      exists.pass(
        hooks
          .map(
            (h) =>
              `${h.name}: failurePolicy ${h.failurePolicy ?? "Fail"}, timeout ${h.timeoutSeconds ?? 10}s`,
          )
          .join("; "),
      ),
    );
    checks.push(caBundleCheck(input, cfg.value));
  }
  const pods = input.webhookPods;
  if (!pods.ok) {
    checks.push(check(6, "webhook-pods", "webhook pods").warn(unreadable(pods)));
  } else {
    const ready = pods.value.filter(isReady);
    const crashing = pods.value.filter((p) =>
      (p.status?.containerStatuses ?? []).some(
        (s) => s.state?.waiting?.reason === "CrashLoopBackOff",
      ),
    );
    const pulling = imagePullFailures(pods.value);
    checks.push(
      check(6, "webhook-pods", "webhook pods ready").as(
        ready.length > 0 ? (ready.length < pods.value.length ? "warn" : "pass") : "fail",
        `${ready.length}/${pods.value.length} ready${crashing.length ? `, ${crashing.length} in CrashLoopBackOff` : ""}${pulling.length ? `, ${describePullFailures(pulling)}` : ""}`,
        ready.length > 0
          ? undefined
          : pulling.length
            ? pullFix(pulling)
            : crashing.length
              ? "CrashLoopBackOff is usually the certificate: scripts/generate-cert.sh, then kubectl logs -n coredog-system -l app.kubernetes.io/component=webhook"
              : "kubectl get pods -n coredog-system -l app.kubernetes.io/component=webhook; kubectl describe them",
      ),
    );
  }
  return checks;
}

function caBundleCheck(input: DoctorInput, cfg: V1MutatingWebhookConfiguration): Check {
  const c = check(6, "ca-bundle", "caBundle trusts the webhook's serving certificate");
  const fix = "scripts/generate-cert.sh (rerun it to rotate)";
  const bundles = (cfg.webhooks ?? []).map((h) => decodeBase64(h.clientConfig?.caBundle));
  const cas = pemCertificates(bundles[0] ?? "");
  if (cas.length === 0) return c.fail("no caBundle (or no readable certificate in it)", fix);
  if (!input.tlsSecret.ok) {
    return c.warn(`the serving certificate cannot be read: ${input.tlsSecret.reason}`);
  }
  const secret = input.tlsSecret.value;
  if (!secret) return c.fail(`secret ${NAMESPACE}/coredog-webhook-tls not found`, fix);
  const serving = pemCertificates(decodeBase64(secret.data?.["tls.crt"]))[0];
  if (!serving) return c.fail("tls.crt holds no readable certificate", fix);
  if (!cas.some((ca) => serving.checkIssued(ca) && serving.verify(ca.publicKey))) {
    return c.fail("the serving certificate is not signed by any CA in the caBundle", fix);
  }
  if (!serving.checkHost(SERVICE_DNS)) {
    return c.fail(`the serving certificate is not valid for ${SERVICE_DNS}`, fix);
  }
  const left = Date.parse(serving.validTo) - input.now.getTime();
  if (left <= 0) return c.fail(`the serving certificate expired on ${serving.validTo}`, fix);
  const soon = left < 30 * 86_400_000;
  return c.as(
    soon ? "warn" : "pass",
    `valid for ${SERVICE_DNS} until ${serving.validTo} (${days(left)} days left)`,
    soon ? fix : undefined,
  );
}

function podChecks(input: DoctorInput, pod: V1Pod): Check[] {
  const checks: Check[] = [];
  const ns = input.podNamespace?.ok ? input.podNamespace.value : undefined;
  const decision = decide(pod, ns);
  const decisionCheck = check(1, "decision", "the webhook's decision for this pod");
  checks.push(
    decision.inject
      ? decisionCheck.pass(
          `inject at ${decision.path} into ${[...decision.initContainers, ...decision.containers].join(", ")}`,
        )
      : decisionCheck.fail(`skip: ${decision.reason}`, SKIPS[decision.code].fix),
  );
  const mounted = mountedContainers(pod);
  const selected = namespaceSelected(input, ns);
  const injected = check(1, "injected", "the pod has the node directory");
  if (mounted.length > 0) {
    checks.push(injected.pass(`mounted in ${mounted.join(", ")}`));
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
    checks.push(injected.fail(detail, fix));
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
  const node = pod.spec?.nodeName;
  const ds = input.watcher.ok ? input.watcher.value : undefined;
  const watcherCheck = check(2, "watcher", "a watcher runs on the pod's node");
  if (ds && isPaused(ds)) {
    return [
      watcherCheck.fail(
        "the watcher DaemonSet is paused",
        "kubectl coredog emergency watcher resume",
      ),
    ];
  }
  const watcher = watcherOn(input, node);
  if (!node) return [watcherCheck.info("the pod is not scheduled yet")];
  if (!watcher) {
    return [
      watcherCheck.fail(
        input.watcherPods.ok ? `no watcher pod on node ${node}` : unreadable(input.watcherPods),
        "kubectl get ds coredog-watcher -n coredog-system; check its tolerations and nodeSelector",
      ),
    ];
  }
  const checks: Check[] = [];
  const ready = isReady(watcher);
  checks.push(
    watcherCheck.as(
      ready ? "pass" : "fail",
      `${watcher.metadata?.name} on ${node}: ${ready ? "ready" : "not ready"}`,
      ready ? undefined : `kubectl logs -n coredog-system ${watcher.metadata?.name}`,
    ),
  );
  const state = nodeStateOf(watcher);
  const patternCheck = check(2, "core-pattern", "the node's kernel.core_pattern");
  if (!state) {
    checks.push(patternCheck.warn("the watcher has not published the node's state yet"));
    return checks;
  }
  const pattern = state.corePattern;
  const want = path ? `${path.replace(/\/$/, "")}/` : undefined;
  const patternMatches = check(
    2,
    "core-pattern",
    "the node's kernel.core_pattern matches the pod's path",
  );
  if (pattern === null) {
    checks.push(patternCheck.warn("the watcher could not read it"));
  } else if (pattern.startsWith("|")) {
    checks.push(
      patternCheck.fail(
        `"${pattern}" pipes cores to a program (systemd-coredump, apport...), not into the pod's directory`,
        `on the node: sysctl -w kernel.core_pattern=${CORE_PATTERN} (or install overlays/node-setup)`,
      ),
    );
  } else if (want && !pattern.startsWith(want)) {
    checks.push(
      patternMatches.fail(
        `core_pattern is "${pattern}", the pod's directory is at ${path}`,
        `the path must be the same on every pod of the node: sysctl -w kernel.core_pattern=${want}core.%e.%p.%h.%t, or enable with --path ${pattern.replace(/\/[^/]*$/, "") || "/corefile"}`,
      ),
    );
  } else {
    checks.push(patternMatches.pass(pattern));
  }
  checks.push(writableCheck(pod, state, node));
  checks.push(
    check(2, "ulimit", "ulimit -c in the container").info(
      "not visible through the API",
      `kubectl exec ${pod.metadata?.name} -n ${pod.metadata?.namespace} -- grep 'core file' /proc/1/limits shows the main process's limit (kubectl exec ... -- sh -c 'ulimit -c' shows the runtime's default); it must not be 0: add ulimit -c unlimited to the start script`,
    ),
  );
  const dirs = containerDumpDirs(pod);
  const shared = dirs.filter((d) => !d.own);
  checks.push(
    check(3, "dump-path", "cores land where the watcher can name the pod and the container").as(
      dirs.length === 0 ? "info" : shared.length > 0 ? "warn" : "pass",
      dirs.length === 0
        ? `${NODE_DUMP_DIR}/${pod.metadata?.namespace}/${pod.metadata?.name}/<container>/`
        : dirs.map((d) => `${d.container}: ${d.dir}`).join(", ") +
            (shared.length > 0
              ? ` (${shared.map((d) => d.container).join(", ")} share the pod's directory: admitted before each container had its own, so the container is guessed)`
              : ""),
      shared.length > 0
        ? "restart the workload (kubectl rollout restart ...) so its new pods get a directory per container"
        : undefined,
    ),
  );
  const uploads = check(4, "upload-error", "uploads from this node succeed");
  checks.push(
    state.lastError
      ? uploads.fail(
          `last error at ${state.lastError.at}: ${state.lastError.message}`,
          "check StorageConfig and the Secret coredog-storage; kubectl coredog logs | grep error",
        )
      : uploads.pass(
          state.lastUpload
            ? `last upload ${state.lastUpload.at}: ${state.lastUpload.key}`
            : "no upload yet",
        ),
  );
  if (state.filesWaiting > 0) {
    checks.push(
      check(4, "waiting", "nothing waiting on the node").warn(
        `${state.filesWaiting} file(s), ${state.bytesWaiting} bytes waiting`,
      ),
    );
  }
  if (state.settingsError) {
    checks.push(
      check(4, "watcher-settings", "the watcher accepted the settings").fail(
        state.settingsError,
        "fix config.yaml in configmap coredog; the watcher keeps its last good settings meanwhile",
      ),
    );
  }
  return checks;
}

function settingsChecks(input: DoctorInput): Check[] {
  const configMap = check(4, "settings", "settings (configmap coredog)");
  if (!input.configMap.ok) return [configMap.warn(unreadable(input.configMap))];
  if (!input.configMap.value) return [configMap.fail("not found", "kubectl apply -k manifests")];
  const { settings, errors } = settingsFrom(input.configMap.value);
  const valid = check(4, "settings", "settings are valid");
  if (!settings)
    return [valid.fail(errors.join("; "), "kubectl edit cm coredog -n coredog-system")];
  const checks: Check[] = [valid.pass()];
  const { storage } = settings;
  checks.push(
    storage.configured
      ? check(4, "storage", "storage is configured").pass(
          `${storage.protocol} ${storage.endpoint ?? ""} ${storage.bucket ?? storage.cfsPath ?? ""}`.trim(),
        )
      : check(4, "storage", "storage is configured").fail(
          "no StorageConfig: cores stay on the nodes",
          "set StorageConfig in configmap coredog",
        ),
  );
  const deleteLocal = check(4, "delete-local", "DeleteLocalCorefile: true");
  checks.push(
    settings.deleteLocalCorefile
      ? deleteLocal.pass(`gc_type ${settings.gcType}`)
      : deleteLocal.fail(
          "DeleteLocalCorefile is false: the nodes keep every core",
          "set DeleteLocalCorefile: true in configmap coredog",
        ),
  );
  const channels = settings.noticeChannels;
  const channelCheck = check(5, "notice-channels", "NoticeChannel is configured");
  checks.push(
    channels.length > 0
      ? channelCheck.pass(
          channels.map((c) => c.chan + (c.keyword ? ` (keyword "${c.keyword}")` : "")).join(", "),
        )
      : channelCheck.fail(
          "NoticeChannel is empty: nobody is told",
          "add a channel under NoticeChannel in configmap coredog (chan + webhookurl)",
        ),
  );
  checks.push(...robotSecurityChecks(settings));
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
    const all = deaf.length === channels.length;
    checks.push(
      check(5, "keyword", "a channel's keyword lets this pod through").as(
        all ? "fail" : deaf.length > 0 ? "info" : "pass",
        deaf.length
          ? `filtered out by ${deaf.map((c) => `${c.chan} (keyword "${c.keyword}")`).join(", ")}`
          : "every channel hears about it",
        all ? "change the keyword, or add a channel without one" : undefined,
      ),
    );
  }
  return checks;
}

/**
 * DingTalk and Feishu robots refuse messages unless they pass the robot's security setting: a signature (the
 * channel needs the secret), custom keywords (the message's fixed text must carry one) or an IP allowlist.
 */
function robotSecurityChecks(settings: Settings): Check[] {
  const fixed = templateFixedText(settings.messageTemplate).replace(/\s+/g, " ").trim();
  return settings.noticeChannels.flatMap((ch, i) => {
    if (!needsSecurity(ch.chan)) return [];
    const c = check(
      5,
      "robot-security",
      `NoticeChannel[${i}] (${ch.chan}) passes the robot's security`,
    );
    if (hasSecret(ch))
      return [
        c.pass(
          ch.secretRef
            ? `signed with key ${ch.secretRef.key} of Secret ${ch.secretRef.name}`
            : "signed with the secret in config.yaml (better in Secret coredog-notify: secretRef)",
        ),
      ];
    if (settings.messageTemplate === undefined)
      return [
        c.warn(
          "no secret and the default message: a robot with signing refuses it, one with custom keywords refuses it unless a keyword is in the default text",
          `set secretRef (key of Secret coredog-notify) for a signing robot, or put the robot's keyword as fixed text in messageTemplate; then kubectl coredog notify test --channel ${i}`,
        ),
      ];
    return [
      c.info(
        `no secret: the robot must use custom keywords (or an IP allowlist) and a keyword must be in the template's fixed text "${fixed.slice(0, 120)}"`,
        `kubectl coredog notify test --channel ${i} shows whether the robot takes it`,
      ),
    ];
  });
}

/** The watchers' last security refusal of each channel (the watchers publish them on their pods). */
function noticeRefusalChecks(input: DoctorInput): Check[] {
  if (!input.watcherPods.ok) return [];
  return input.watcherPods.value.flatMap((p) => {
    const state = nodeStateOf(p);
    return (state?.noticeRefusals ?? []).map((r) => {
      const [what, fix] = r.message.split("; fix: ");
      return check(
        5,
        "notice-refused",
        `NoticeChannel[${r.channel}] (${r.chan}) is taken by the robot`,
      ).fail(`${state!.node} at ${r.at}: ${what}`, fix);
    });
  });
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
  const accepts = check(4, "store-accepts", "the store accepts uploads");
  const failing = states.flatMap((s) =>
    s.storageError ? [{ node: s.node, ...s.storageError }] : [],
  );
  if (failing.length === 0) return [accepts.pass(`no failing upload on ${states.length} node(s)`)];
  return failing.map((f) =>
    accepts.fail(`${f.node} at ${f.at}: ${f.message}`, storageFix(f.message)),
  );
}

const LIMIT_FIX: Record<LimitName, string> = {
  maxUse:
    "cores not stored yet fill the node directory: check storage (kubectl coredog status); raise Limits.maxUse if the node has room",
  keepFree:
    "the node's filesystem is nearly full: free space on it; Limits.keepFree sets how much CoreDog leaves free",
  rate: "a crash loops: fix the crashing workload (kubectl coredog events); Limits.perFingerprint sets how many of its cores are stored per window",
  maxCoreSize:
    "a core was larger than Limits.maxCoreSize and was not uploaded: raise it if such cores are wanted",
};

/** Limits acting on a node (Limits in the settings), as each watcher publishes them: which, since when and why. */
function limitChecks(input: DoctorInput): Check[] {
  if (!input.watcherPods.ok) return [];
  const states = input.watcherPods.value
    .map((p) => nodeStateOf(p))
    .filter((s): s is NodeState => s !== null && s.limits !== undefined);
  if (states.length === 0) return [];
  const c = check(4, "limits", "no limit is acting on a node (Limits)");
  const acting = states.flatMap((s) => s.limits!.active.map((a) => ({ node: s.node, ...a })));
  if (acting.length === 0) return [c.pass(`no limit acting on ${states.length} node(s)`)];
  return acting.map((a) =>
    c.warn(`${a.node}: ${a.limit} since ${a.since}: ${a.why}`, LIMIT_FIX[a.limit]),
  );
}

/** Whether the pod's users can create their cores: the node directory's mode (the kubelet copies it) and users. */
function writableCheck(pod: V1Pod, state: NodeState, node: string): Check {
  const c = check(2, "dir-writable", "the pod's users can create their cores in their directories");
  const dir = state.dumpDir;
  if (!dir) {
    return c.warn(
      `the watcher on ${node} does not report its directory's mode (a CoreDog from before non-root support?)`,
      "kubectl apply -k manifests with the current CoreDog, then kubectl coredog doctor again",
    );
  }
  const where = `${NODE_DUMP_DIR} on ${node} is ${dir.mode} owned by ${dir.uid}:${dir.gid}`;
  const blocked = blockedUsers(pod, dir);
  if (blocked.length === 0) return c.pass(where);
  const who = blocked.map(({ user }) => `${user.container} (${describeUser(user)})`).join(", ");
  const fix = `the watcher gives ${NODE_DUMP_DIR} mode ${DUMP_DIR_MODE.toString(8)} at start and fixes existing directories at every rescan: restart it on ${node} (kubectl -n coredog-system delete pod -l app.kubernetes.io/component=watcher --field-selector spec.nodeName=${node}), or on the node: chmod ${DUMP_DIR_MODE.toString(8)} ${NODE_DUMP_DIR}`;
  if (blocked.every((b) => b.unknown)) {
    return c.warn(
      `${where}; ${who} run as the image's user: unless that is root, the kernel cannot create their cores`,
      fix,
    );
  }
  return c.fail(`${where}: the kernel cannot create the cores of ${who}`, fix);
}

/** The watchers' pods that cannot get their image: no core is taken on those nodes. */
function watcherImageChecks(input: DoctorInput): Check[] {
  const failures = input.watcherPods.ok ? imagePullFailures(input.watcherPods.value) : [];
  if (failures.length === 0) return [];
  return [
    check(2, "watcher-image", "watcher pods have their image").fail(
      describePullFailures(failures),
      pullFix(failures),
    ),
  ];
}

export function runChecks(input: DoctorInput): Check[] {
  const checks = [
    ...webhookChecks(input),
    ...watcherImageChecks(input),
    ...settingsChecks(input),
    ...storageChecks(input),
    ...noticeRefusalChecks(input),
    ...limitChecks(input),
  ];
  if (input.pod) checks.push(...podChecks(input, input.pod));
  return checks.sort((a, b) => a.problem - b.problem);
}

export function verdict(checks: Check[]): "ok" | "problems" {
  return checks.some((c) => c.status === "fail") ? "problems" : "ok";
}
