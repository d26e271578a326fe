// Defaulting and validation of the kinds the product depends on, worded like kube-apiserver.
import { invalid, StatusError } from "./status.js";
import { stableStringify, type KubeObject } from "./store.js";
import type { ResourceInfo } from "./resources.js";
import { validateCustom, validateDefinition } from "./custom-resources.js";

type AnyObj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/** Resources whose names must be DNS-1123 labels (others: subdomains). */
const LABEL_NAMED = new Set(["namespaces", "services"]);

// ---------------------------------------------------------------- defaults

function defaultContainer(c: AnyObj): void {
  c.terminationMessagePath ??= "/dev/termination-log";
  c.terminationMessagePolicy ??= "File";
  if (!c.imagePullPolicy) {
    const img = String(c.image ?? "");
    const tag = img.includes("@") ? "digest" : (img.split("/").pop() ?? "").split(":")[1];
    c.imagePullPolicy = !tag || tag === "latest" ? "Always" : "IfNotPresent";
  }
  c.resources ??= {};
  for (const p of c.ports ?? []) p.protocol ??= "TCP";
  for (const e of c.env ?? []) {
    if (e.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion ??= "v1";
  }
}

export function defaultPodSpec(spec: AnyObj, template = false): void {
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.securityContext ??= {};
  spec.schedulerName ??= "default-scheduler";
  if (!template) {
    spec.serviceAccountName ??= spec.serviceAccount ?? "default";
    spec.serviceAccount ??= spec.serviceAccountName;
    spec.enableServiceLinks ??= true;
    spec.priority ??= 0;
    spec.preemptionPolicy ??= "PreemptLowerPriority";
  } else if (spec.serviceAccount && !spec.serviceAccountName)
    spec.serviceAccountName = spec.serviceAccount;
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const v of spec.volumes ?? []) {
    if (v.hostPath) v.hostPath.type ??= "";
    if (v.configMap) v.configMap.defaultMode ??= 420;
    if (v.secret) v.secret.defaultMode ??= 420;
    if (v.projected) v.projected.defaultMode ??= 420;
    if (v.downwardAPI) v.downwardAPI.defaultMode ??= 420;
    for (const item of v.downwardAPI?.items ?? [])
      if (item.fieldRef) item.fieldRef.apiVersion ??= "v1";
  }
}

function defaultTemplate(spec: AnyObj): void {
  spec.template ??= {};
  spec.template.metadata ??= {};
  spec.template.spec ??= {};
  defaultPodSpec(spec.template.spec, true);
}

/** Scheme defaults (run before and after mutating admission, as kube-apiserver decodes twice). */
export function applyDefaults(info: ResourceInfo, o: KubeObject): void {
  const x = o as AnyObj;
  const g = info.group;
  switch (`${g}/${info.resource}`) {
    case "/pods":
      x.spec ??= {};
      defaultPodSpec(x.spec);
      x.status ??= {};
      x.status.phase ??= "Pending";
      x.status.qosClass ??= "BestEffort";
      break;
    case "/namespaces":
      x.metadata.labels = {
        ...(x.metadata.labels ?? {}),
        "kubernetes.io/metadata.name": x.metadata.name,
      };
      x.spec ??= {};
      x.spec.finalizers ??= ["kubernetes"];
      x.status ??= {};
      x.status.phase ??= "Active";
      break;
    case "/services": {
      x.spec ??= {};
      x.spec.type ??= "ClusterIP";
      x.spec.sessionAffinity ??= "None";
      x.spec.internalTrafficPolicy ??= "Cluster";
      x.spec.ipFamilies ??= ["IPv4"];
      x.spec.ipFamilyPolicy ??= "SingleStack";
      for (const p of x.spec.ports ?? []) {
        p.protocol ??= "TCP";
        p.targetPort ??= p.port;
      }
      x.status ??= { loadBalancer: {} };
      break;
    }
    case "/secrets":
      x.type ??= "Opaque";
      if (x.stringData) {
        x.data ??= {};
        for (const [k, v] of Object.entries(x.stringData))
          x.data[k] = Buffer.from(String(v)).toString("base64");
        delete x.stringData;
      }
      break;
    case "apps/deployments":
      x.spec ??= {};
      x.spec.replicas ??= 1;
      x.spec.strategy ??= { type: "RollingUpdate" };
      x.spec.strategy.type ??= "RollingUpdate";
      if (x.spec.strategy.type === "RollingUpdate") {
        x.spec.strategy.rollingUpdate ??= {};
        x.spec.strategy.rollingUpdate.maxSurge ??= "25%";
        x.spec.strategy.rollingUpdate.maxUnavailable ??= "25%";
      }
      x.spec.revisionHistoryLimit ??= 10;
      x.spec.progressDeadlineSeconds ??= 600;
      defaultTemplate(x.spec);
      break;
    case "apps/replicasets":
      x.spec ??= {};
      x.spec.replicas ??= 1;
      defaultTemplate(x.spec);
      break;
    case "apps/daemonsets":
      x.spec ??= {};
      x.spec.updateStrategy ??= { type: "RollingUpdate" };
      if (x.spec.updateStrategy.type === "RollingUpdate") {
        x.spec.updateStrategy.rollingUpdate ??= {};
        x.spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
        x.spec.updateStrategy.rollingUpdate.maxSurge ??= 0;
      }
      x.spec.revisionHistoryLimit ??= 10;
      defaultTemplate(x.spec);
      break;
    case "apps/statefulsets":
      x.spec ??= {};
      x.spec.replicas ??= 1;
      x.spec.podManagementPolicy ??= "OrderedReady";
      x.spec.updateStrategy ??= { type: "RollingUpdate", rollingUpdate: { partition: 0 } };
      x.spec.revisionHistoryLimit ??= 10;
      x.spec.persistentVolumeClaimRetentionPolicy ??= {
        whenDeleted: "Retain",
        whenScaled: "Retain",
      };
      defaultTemplate(x.spec);
      break;
    case "batch/jobs":
      x.spec ??= {};
      x.spec.parallelism ??= 1;
      x.spec.completions ??= x.spec.parallelism === undefined ? 1 : (x.spec.completions ?? 1);
      x.spec.backoffLimit ??= 6;
      x.spec.completionMode ??= "NonIndexed";
      x.spec.suspend ??= false;
      x.spec.manualSelector ??= undefined;
      if (x.spec.manualSelector === undefined) delete x.spec.manualSelector;
      x.spec.podReplacementPolicy ??= "TerminatingOrFailed";
      defaultTemplate(x.spec);
      x.spec.template.spec.restartPolicy =
        x.spec.template.spec.restartPolicy === "Always"
          ? "Always"
          : x.spec.template.spec.restartPolicy;
      break;
    case "batch/cronjobs":
      x.spec ??= {};
      x.spec.concurrencyPolicy ??= "Allow";
      x.spec.suspend ??= false;
      x.spec.successfulJobsHistoryLimit ??= 3;
      x.spec.failedJobsHistoryLimit ??= 1;
      x.spec.jobTemplate ??= {};
      x.spec.jobTemplate.spec ??= {};
      defaultTemplate(x.spec.jobTemplate.spec);
      break;
    case "admissionregistration.k8s.io/mutatingwebhookconfigurations":
    case "admissionregistration.k8s.io/validatingwebhookconfigurations":
      for (const w of x.webhooks ?? []) {
        w.failurePolicy ??= "Fail";
        w.matchPolicy ??= "Equivalent";
        w.namespaceSelector ??= {};
        w.objectSelector ??= {};
        w.timeoutSeconds ??= 10;
        if (info.resource === "mutatingwebhookconfigurations") w.reinvocationPolicy ??= "Never";
        for (const r of w.rules ?? []) r.scope ??= "*";
        if (w.clientConfig?.service) w.clientConfig.service.port ??= 443;
      }
      break;
  }
}

/** A Job's generated selector and template labels (needs the uid, which is assigned before admission). */
export function defaultJobSelector(o: KubeObject): void {
  const x = o as AnyObj;
  if (x.spec?.manualSelector) return;
  const uid = x.metadata.uid as string;
  x.spec.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": uid } };
  x.spec.template.metadata.labels = {
    ...(x.spec.template.metadata.labels ?? {}),
    "batch.kubernetes.io/controller-uid": uid,
    "batch.kubernetes.io/job-name": x.metadata.name ?? "",
    "controller-uid": uid,
    "job-name": x.metadata.name ?? "",
  };
}

// ---------------------------------------------------------------- validation

type Cause = { field: string; message: string; reason?: string };

function checkName(
  resource: string,
  name: string | undefined,
  field: string,
  causes: Cause[],
): void {
  if (!name) return;
  const label = LABEL_NAMED.has(resource);
  if (
    label
      ? !DNS1123_LABEL.test(name) || name.length > 63
      : !DNS1123_SUBDOMAIN.test(name) || name.length > 253
  ) {
    causes.push({
      field,
      message: `Invalid value: "${name}": ${label ? LABEL_MSG : SUBDOMAIN_MSG}`,
    });
  }
}

const QUALIFIED = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
function checkLabels(
  labels: Record<string, unknown> | undefined,
  field: string,
  causes: Cause[],
): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    const [prefix, name] = k.includes("/")
      ? [k.slice(0, k.indexOf("/")), k.slice(k.indexOf("/") + 1)]
      : ["", k];
    if (
      !name ||
      name.length > 63 ||
      !QUALIFIED.test(name) ||
      (prefix && !DNS1123_SUBDOMAIN.test(prefix))
    ) {
      causes.push({
        field,
        message: `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
      });
    }
    if (typeof v !== "string" || v.length > 63 || (v !== "" && !QUALIFIED.test(v))) {
      causes.push({
        field,
        message: `Invalid value: "${String(v)}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
      });
    }
  }
}

function validateContainers(
  list: AnyObj[] | undefined,
  path: string,
  volumes: Set<string>,
  causes: Cause[],
  names: Set<string>,
): void {
  (list ?? []).forEach((c, i) => {
    const p = `${path}[${i}]`;
    if (!c.name)
      causes.push({ field: `${p}.name`, message: "Required value", reason: "FieldValueRequired" });
    else if (!DNS1123_LABEL.test(c.name))
      causes.push({ field: `${p}.name`, message: `Invalid value: "${c.name}": ${LABEL_MSG}` });
    else if (names.has(c.name))
      causes.push({
        field: `${p}.name`,
        message: `Duplicate value: "${c.name}"`,
        reason: "FieldValueDuplicate",
      });
    else names.add(c.name);
    if (!c.image)
      causes.push({ field: `${p}.image`, message: "Required value", reason: "FieldValueRequired" });
    const mountPaths = new Set<string>();
    (c.volumeMounts ?? []).forEach((m: AnyObj, j: number) => {
      const mp = `${p}.volumeMounts[${j}]`;
      if (!m.name)
        causes.push({
          field: `${mp}.name`,
          message: "Required value",
          reason: "FieldValueRequired",
        });
      else if (!volumes.has(m.name))
        causes.push({
          field: `${mp}.name`,
          message: `Not found: "${m.name}"`,
          reason: "FieldValueNotFound",
        });
      if (!m.mountPath)
        causes.push({
          field: `${mp}.mountPath`,
          message: "Required value",
          reason: "FieldValueRequired",
        });
      else if (mountPaths.has(m.mountPath))
        causes.push({
          field: `${mp}.mountPath`,
          message: `Invalid value: "${m.mountPath}": must be unique`,
        });
      else mountPaths.add(m.mountPath);
      if (m.subPath && m.subPathExpr)
        causes.push({
          field: `${mp}.subPathExpr`,
          message: `Invalid value: "${m.subPathExpr}": subPathExpr and subPath are mutually exclusive`,
        });
      for (const sp of [m.subPath, m.subPathExpr]) {
        if (sp && (String(sp).startsWith("/") || String(sp).split("/").includes(".."))) {
          causes.push({
            field: `${mp}.${m.subPath === sp ? "subPath" : "subPathExpr"}`,
            message: `Invalid value: "${sp}": must be a relative path without '..'`,
          });
        }
      }
    });
    const envNames = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
    (c.env ?? []).forEach((e: AnyObj, j: number) => {
      if (!e.name)
        causes.push({
          field: `${p}.env[${j}].name`,
          message: "Required value",
          reason: "FieldValueRequired",
        });
      else if (!envNames.test(e.name))
        causes.push({
          field: `${p}.env[${j}].name`,
          message: `Invalid value: "${e.name}": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit`,
        });
    });
    const portNames = new Set<string>();
    (c.ports ?? []).forEach((pt: AnyObj, j: number) => {
      const n = pt.containerPort;
      if (typeof n !== "number" || n < 1 || n > 65535)
        causes.push({
          field: `${p}.ports[${j}].containerPort`,
          message: `Invalid value: ${JSON.stringify(n ?? 0)}: must be between 1 and 65535, inclusive`,
        });
      if (pt.name) {
        if (portNames.has(pt.name))
          causes.push({
            field: `${p}.ports[${j}].name`,
            message: `Duplicate value: "${pt.name}"`,
            reason: "FieldValueDuplicate",
          });
        portNames.add(pt.name);
      }
    });
  });
}

export function validatePodSpec(spec: AnyObj | undefined, path: string, causes: Cause[]): void {
  if (!spec) {
    causes.push({ field: path, message: "Required value", reason: "FieldValueRequired" });
    return;
  }
  const volumes = new Set<string>();
  (spec.volumes ?? []).forEach((v: AnyObj, i: number) => {
    const p = `${path}.volumes[${i}]`;
    if (!v.name)
      causes.push({ field: `${p}.name`, message: "Required value", reason: "FieldValueRequired" });
    else if (!DNS1123_LABEL.test(v.name))
      causes.push({ field: `${p}.name`, message: `Invalid value: "${v.name}": ${LABEL_MSG}` });
    else if (volumes.has(v.name))
      causes.push({
        field: `${p}.name`,
        message: `Duplicate value: "${v.name}"`,
        reason: "FieldValueDuplicate",
      });
    else volumes.add(v.name);
    const sources = Object.keys(v).filter((k) => k !== "name");
    if (sources.length === 0)
      causes.push({
        field: p,
        message: "Required value: must specify a volume type",
        reason: "FieldValueRequired",
      });
    else if (sources.length > 1)
      causes.push({
        field: p,
        message: `Forbidden: may not specify more than 1 volume type`,
        reason: "FieldValueForbidden",
      });
    if (v.hostPath && !v.hostPath.path)
      causes.push({
        field: `${p}.hostPath.path`,
        message: "Required value",
        reason: "FieldValueRequired",
      });
    const types = [
      "",
      "DirectoryOrCreate",
      "Directory",
      "FileOrCreate",
      "File",
      "Socket",
      "CharDevice",
      "BlockDevice",
    ];
    if (v.hostPath && !types.includes(v.hostPath.type ?? ""))
      causes.push({
        field: `${p}.hostPath.type`,
        message: `Unsupported value: "${v.hostPath.type}": supported values: "${types.slice(1).join('", "')}"`,
        reason: "FieldValueNotSupported",
      });
  });
  if (!spec.containers?.length)
    causes.push({
      field: `${path}.containers`,
      message: "Required value",
      reason: "FieldValueRequired",
    });
  const names = new Set<string>();
  validateContainers(spec.initContainers, `${path}.initContainers`, volumes, causes, names);
  validateContainers(spec.containers, `${path}.containers`, volumes, causes, names);
  const rp = spec.restartPolicy;
  if (rp && !["Always", "OnFailure", "Never"].includes(rp))
    causes.push({
      field: `${path}.restartPolicy`,
      message: `Unsupported value: "${rp}": supported values: "Always", "OnFailure", "Never"`,
      reason: "FieldValueNotSupported",
    });
}

function selectorMatchesTemplate(spec: AnyObj, causes: Cause[], selectorRequired = true): void {
  const sel = spec?.selector;
  if (!sel) {
    if (selectorRequired)
      causes.push({
        field: "spec.selector",
        message: "Required value",
        reason: "FieldValueRequired",
      });
    return;
  }
  if (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length) {
    causes.push({
      field: "spec.selector",
      message: 'Invalid value: "null": empty selector is invalid for deployment',
    });
    return;
  }
  const labels = spec.template?.metadata?.labels ?? {};
  const ok = Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  if (!ok) {
    const shown = `map[string]string{${Object.entries(labels)
      .map(([k, v]) => `"${k}":"${String(v)}"`)
      .join(", ")}}`;
    causes.push({
      field: "spec.template.metadata.labels",
      message: `Invalid value: ${shown}: \`selector\` does not match template \`labels\``,
    });
  }
}

/** Validates a (defaulted) object; throws 422 Invalid. `old` is set for updates. */
export function validate(info: ResourceInfo, o: KubeObject, old?: KubeObject): void {
  const x = o as AnyObj;
  const causes: Cause[] = [];
  const md = x.metadata ?? {};
  if (!md.name) {
    causes.push({
      field: "metadata.name",
      message: "Required value: name or generateName is required",
      reason: "FieldValueRequired",
    });
  } else checkName(info.resource, md.name, "metadata.name", causes);
  if (info.namespaced && !md.namespace)
    causes.push({
      field: "metadata.namespace",
      message: "Required value",
      reason: "FieldValueRequired",
    });
  checkLabels(md.labels, "metadata.labels", causes);
  const g = info.group;
  switch (`${g}/${info.resource}`) {
    case "/pods":
      validatePodSpec(x.spec, "spec", causes);
      if (old) validatePodUpdate(old as AnyObj, x, causes);
      break;
    case "apps/deployments":
    case "apps/replicasets":
    case "apps/daemonsets":
    case "apps/statefulsets":
      selectorMatchesTemplate(x.spec, causes);
      validatePodSpec(x.spec?.template?.spec, "spec.template.spec", causes);
      if (
        info.resource !== "statefulsets" &&
        x.spec?.template?.spec?.restartPolicy &&
        x.spec.template.spec.restartPolicy !== "Always"
      ) {
        causes.push({
          field: "spec.template.spec.restartPolicy",
          message: `Unsupported value: "${x.spec.template.spec.restartPolicy}": supported values: "Always"`,
          reason: "FieldValueNotSupported",
        });
      }
      if (typeof x.spec?.replicas === "number" && x.spec.replicas < 0)
        causes.push({
          field: "spec.replicas",
          message: `Invalid value: ${x.spec.replicas}: must be greater than or equal to 0`,
        });
      if (
        old &&
        stableStringify((old as AnyObj).spec?.selector) !== stableStringify(x.spec?.selector)
      ) {
        causes.push({
          field: "spec.selector",
          message: `Invalid value: ${JSON.stringify(x.spec?.selector)}: field is immutable`,
        });
      }
      break;
    case "batch/jobs":
      validatePodSpec(x.spec?.template?.spec, "spec.template.spec", causes);
      if (!["OnFailure", "Never"].includes(x.spec?.template?.spec?.restartPolicy)) {
        causes.push({
          field: "spec.template.spec.restartPolicy",
          message: `Required value: valid values: "OnFailure", "Never"`,
          reason: "FieldValueRequired",
        });
      }
      break;
    case "batch/cronjobs":
      if (!x.spec?.schedule)
        causes.push({
          field: "spec.schedule",
          message: "Required value",
          reason: "FieldValueRequired",
        });
      validatePodSpec(
        x.spec?.jobTemplate?.spec?.template?.spec,
        "spec.jobTemplate.spec.template.spec",
        causes,
      );
      break;
    case "/services":
      (x.spec?.ports ?? []).forEach((p: AnyObj, i: number) => {
        if (typeof p.port !== "number" || p.port < 1 || p.port > 65535)
          causes.push({
            field: `spec.ports[${i}].port`,
            message: `Invalid value: ${JSON.stringify(p.port ?? 0)}: must be between 1 and 65535, inclusive`,
          });
      });
      if (
        x.spec?.type !== "ExternalName" &&
        !(x.spec?.ports ?? []).length &&
        x.spec?.clusterIP !== "None"
      ) {
        causes.push({
          field: "spec.ports",
          message: "Required value",
          reason: "FieldValueRequired",
        });
      }
      break;
    case "/configmaps":
    case "/secrets":
      for (const k of Object.keys({ ...(x.data ?? {}), ...(x.binaryData ?? {}) })) {
        if (!/^[-._a-zA-Z0-9]+$/.test(k))
          causes.push({
            field: `data[${k}]`,
            message: `Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
          });
      }
      break;
    case "admissionregistration.k8s.io/mutatingwebhookconfigurations":
    case "admissionregistration.k8s.io/validatingwebhookconfigurations":
      (x.webhooks ?? []).forEach((w: AnyObj, i: number) => {
        const p = `webhooks[${i}]`;
        if (!w.name || !DNS1123_SUBDOMAIN.test(w.name) || !String(w.name).includes("."))
          causes.push({
            field: `${p}.name`,
            message: `Invalid value: "${w.name ?? ""}": should be a domain with at least three segments separated by dots`,
          });
        if (!w.sideEffects)
          causes.push({
            field: `${p}.sideEffects`,
            message: `Required value: must specify one of None, NoneOnDryRun`,
            reason: "FieldValueRequired",
          });
        if (!(w.admissionReviewVersions ?? []).length)
          causes.push({
            field: `${p}.admissionReviewVersions`,
            message: "Required value: must specify one of v1, v1beta1",
            reason: "FieldValueRequired",
          });
        const cc = w.clientConfig ?? {};
        if (!cc.url && !cc.service)
          causes.push({
            field: `${p}.clientConfig`,
            message: "Required value: exactly one of url or service is required",
            reason: "FieldValueRequired",
          });
        if (cc.url && !String(cc.url).startsWith("https://"))
          causes.push({
            field: `${p}.clientConfig.url`,
            message: `Unsupported value: "${cc.url}": 'https' is the only allowed URL scheme`,
          });
        if (!["Ignore", "Fail"].includes(w.failurePolicy))
          causes.push({
            field: `${p}.failurePolicy`,
            message: `Unsupported value: "${w.failurePolicy}": supported values: "Fail", "Ignore"`,
            reason: "FieldValueNotSupported",
          });
        if (typeof w.timeoutSeconds === "number" && (w.timeoutSeconds < 1 || w.timeoutSeconds > 30))
          causes.push({
            field: `${p}.timeoutSeconds`,
            message: `Invalid value: ${w.timeoutSeconds}: the timeout value must be between 1 and 30 seconds`,
          });
      });
      break;
    case "apiextensions.k8s.io/customresourcedefinitions":
      validateDefinition(x, causes);
      break;
    case "rbac.authorization.k8s.io/rolebindings":
    case "rbac.authorization.k8s.io/clusterrolebindings":
      if (!x.roleRef?.name)
        causes.push({
          field: "roleRef.name",
          message: "Required value",
          reason: "FieldValueRequired",
        });
      if (old && stableStringify((old as AnyObj).roleRef) !== stableStringify(x.roleRef))
        causes.push({
          field: "roleRef",
          message: `Invalid value: ${JSON.stringify(x.roleRef)}: cannot change roleRef`,
        });
      break;
  }
  if (info.custom) validateCustom(info, o, causes);
  if (causes.length) throw invalid(info.kind, info.group, md.name ?? "", causes);
}

/** Pod updates may change only images, activeDeadlineSeconds, tolerations (additions) and an unset nodeName. */
function validatePodUpdate(old: AnyObj, x: AnyObj, causes: Cause[]): void {
  const norm = (spec: AnyObj | undefined, keepNode: string | undefined) => {
    const s = structuredClone(spec ?? {});
    for (const c of [...(s.containers ?? []), ...(s.initContainers ?? [])]) delete c.image;
    delete s.activeDeadlineSeconds;
    delete s.tolerations;
    delete s.terminationGracePeriodSeconds;
    if (keepNode === undefined) delete s.nodeName;
    return stableStringify(s);
  };
  const oldNode = old.spec?.nodeName as string | undefined;
  if (norm(old.spec, oldNode) !== norm(x.spec, oldNode)) {
    causes.push({
      field: "spec",
      message:
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
      reason: "FieldValueForbidden",
    });
  }
}

export function assertNamespaceActive(
  ns: AnyObj | undefined,
  name: string,
  resource: string,
  group: string,
  objName: string,
): void {
  if (!ns)
    throw new StatusError(404, "NotFound", `namespaces "${name}" not found`, {
      name,
      kind: "namespaces",
    });
  if (ns.metadata?.deletionTimestamp || ns.status?.phase === "Terminating") {
    throw new StatusError(
      403,
      "Forbidden",
      `${group ? `${resource}.${group}` : resource} "${objName}" is forbidden: unable to create new content in namespace ${name} because it is being terminated`,
      { name: objName, group, kind: resource },
    );
  }
}
