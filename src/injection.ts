// The injection decision and the JSON patch, shared by the webhook and the CLI (`doctor`).
import type {
  V1Container,
  V1EnvVar,
  V1Namespace,
  V1Pod,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import type { Operation } from "fast-json-patch";
import {
  ANNOTATION_CONTAINER,
  ANNOTATION_INJECT,
  ANNOTATION_INJECTED,
  ANNOTATION_PATH,
  ENV_POD_NAME,
  ENV_POD_NAMESPACE,
  NODE_DUMP_DIR,
  VOLUME_NAME,
} from "./names.js";
import { isDns1123Label } from "./core-file.js";
import { normalizeContainerPath, showPath, unsafePathReason } from "./paths.js";

export type SkipCode =
  | "no-annotations"
  | "inject-not-found"
  | "inject-not-true"
  | "path-missing"
  | "path-unsafe"
  | "pod-security"
  | "container-missing"
  | "container-name"
  | "mount-collision";

/**
 * What each skip means to the pod's owner: whether the owner can fix it (the webhook then also returns a warning
 * that kubectl shows), and how (doctor prints it). Keyed by SkipCode: a new code does not compile until it is here.
 */
export const SKIPS: Record<SkipCode, { ownerCanFix: boolean; fix: string }> = {
  "no-annotations": {
    ownerCanFix: false,
    fix: 'add the annotations: kubectl coredog enable <workload> (coredog.io/inject: "true", coredog.io/path: "/corefile")',
  },
  "inject-not-found": {
    ownerCanFix: false,
    fix: 'add coredog.io/inject: "true" (kubectl coredog enable <workload>)',
  },
  "inject-not-true": { ownerCanFix: false, fix: 'set coredog.io/inject to exactly "true"' },
  "path-missing": { ownerCanFix: true, fix: 'add coredog.io/path: "/corefile"' },
  "path-unsafe": {
    ownerCanFix: true,
    fix: "use a safe path such as /corefile (kubectl coredog enable <workload> --path /corefile)",
  },
  "pod-security": {
    ownerCanFix: true,
    fix: "label the namespace pod-security.kubernetes.io/enforce=privileged if hostPath is acceptable there (an operator decision), or leave it out",
  },
  "container-missing": {
    ownerCanFix: true,
    fix: "fix coredog.io/container to name existing containers",
  },
  "container-name": {
    ownerCanFix: true,
    fix: "rename the container to a DNS label (lower-case letters, digits, '-'), as the API server requires",
  },
  "mount-collision": {
    ownerCanFix: true,
    fix: "choose another coredog.io/path that no volumeMount uses",
  },
};

export type Decision =
  | { inject: true; path: string; containers: string[]; initContainers: string[] }
  | { inject: false; code: SkipCode; reason: string };

export type InjectDecision = Decision & { inject: true };

/** The Pod Security Admission label whose `baseline`/`restricted` levels forbid hostPath volumes. */
export const PSA_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

/** What the webhook records in `coredog.io/injected`. */
export type InjectedRecord = { path: string; containers: string[]; initContainers: string[] };

type Annotations = Record<string, unknown>;

function skip(code: SkipCode, reason: string): Decision {
  return { inject: false, code, reason };
}

function text(value: unknown): string {
  return typeof value === "string" ? value : String(value);
}

function list<T>(value: T[] | undefined | null): T[] {
  return Array.isArray(value) ? value : [];
}

function nameOf(c: V1Container | undefined | null): string {
  return typeof c?.name === "string" ? c.name : "";
}

/**
 * `coredog.io/container`: a comma list, entries trimmed, empty entries and duplicates dropped.
 * An empty list (annotation absent, "" or only commas) means every container and init container.
 */
export function parseContainerList(value: string | undefined): string[] {
  if (value === undefined) return [];
  const seen = new Set<string>();
  for (const entry of value.split(",")) {
    const name = entry.trim();
    if (name !== "") seen.add(name);
  }
  return [...seen];
}

function podSecurityReason(pod: V1Pod, namespace: V1Namespace | undefined): string | null {
  const labels = namespace?.metadata?.labels;
  if (!labels || typeof labels !== "object") return null;
  const level: unknown = labels[PSA_ENFORCE_LABEL];
  if (level === undefined || level === "privileged") return null;
  const ns = namespace?.metadata?.name ?? pod.metadata?.namespace ?? "";
  if (level === "baseline" || level === "restricted") {
    return `namespace ${ns} enforces Pod Security "${level}" (${PSA_ENFORCE_LABEL}=${level}), which forbids the hostPath volume CoreDog needs`;
  }
  // Pod Security Admission evaluates an unparsable level as "restricted".
  return `namespace ${ns} has an invalid ${PSA_ENFORCE_LABEL} label "${showPath(text(level))}", which Pod Security treats as "restricted" and which forbids the hostPath volume CoreDog needs`;
}

/** True for the hostPath volume this webhook adds (whatever its `type`). */
function isOurVolume(v: V1Volume): boolean {
  const path = v.hostPath?.path;
  return typeof path === "string" && normalizeContainerPath(path) === NODE_DUMP_DIR;
}

// `<namespace>/<pod>/<container>`, or `<namespace>/<pod>` as the webhook wrote it before each container had its own.
const OUR_SUBPATH_EXPR = new RegExp(
  `^\\$\\(${ENV_POD_NAMESPACE}(_\\d+)?\\)/\\$\\(${ENV_POD_NAME}(_\\d+)?\\)(/[a-z0-9]([-a-z0-9]*[a-z0-9])?)?$`,
);

/** A mount this webhook added earlier: our volume with our subPathExpr (not a user's own mount of it). */
function isOurMount(m: V1VolumeMount | undefined | null): boolean {
  return (
    m?.name === VOLUME_NAME &&
    typeof m.subPathExpr === "string" &&
    OUR_SUBPATH_EXPR.test(m.subPathExpr)
  );
}

function mountCollision(c: V1Container, path: string): string | null {
  for (const m of list(c.volumeMounts)) {
    if (isOurMount(m)) continue; // from an earlier invocation: moved if needed, never duplicated
    if (typeof m?.mountPath === "string" && normalizeContainerPath(m.mountPath) === path) {
      return `mount path ${path} is already used by volumeMount ${text(m.name)} in container ${nameOf(c)}`;
    }
  }
  for (const d of list(c.volumeDevices)) {
    if (typeof d?.devicePath === "string" && normalizeContainerPath(d.devicePath) === path) {
      return `mount path ${path} is already used by volumeDevice ${text(d.name)} in container ${nameOf(c)}`;
    }
  }
  return null;
}

/**
 * Whether and where to inject. `namespace` is the pod's Namespace object when the caller has it
 * (for the Pod Security check); without it that check is skipped. Never throws.
 */
export function decide(pod: V1Pod, namespace?: V1Namespace): Decision {
  const raw: unknown = pod?.metadata?.annotations;
  const annotations: Annotations =
    raw && typeof raw === "object" ? (raw as Annotations) : ({} as Annotations);
  if (Object.keys(annotations).length === 0) return skip("no-annotations", "no annotations");

  const inject = annotations[ANNOTATION_INJECT];
  if (inject === undefined || inject === null) {
    return skip("inject-not-found", `annotation ${ANNOTATION_INJECT} not found`);
  }
  if (inject !== "true") {
    const shown = text(inject) === "" ? '""' : showPath(text(inject));
    return skip("inject-not-true", `inject=${shown} (only the exact string "true" opts in)`);
  }

  const rawPath = annotations[ANNOTATION_PATH];
  // Surrounding whitespace in an annotation value is a typo, never part of a directory name.
  const annotated = rawPath === undefined || rawPath === null ? "" : text(rawPath).trim();
  if (annotated === "") {
    return skip("path-missing", `${ANNOTATION_PATH} is required but not set`);
  }
  const unsafe = unsafePathReason(annotated);
  const path = normalizeContainerPath(annotated);
  if (unsafe !== null || path === null) {
    return skip("path-unsafe", unsafe ?? `path=${showPath(annotated)} is not allowed`);
  }

  const psa = podSecurityReason(pod, namespace);
  if (psa !== null) return skip("pod-security", psa);

  if (list(pod.spec?.volumes).some((v) => v?.name === VOLUME_NAME && !isOurVolume(v))) {
    return skip(
      "mount-collision",
      `volume name ${VOLUME_NAME} is already used by another volume (not hostPath ${NODE_DUMP_DIR})`,
    );
  }

  const isObject = (c: unknown): c is V1Container => !!c && typeof c === "object";
  const containers = list(pod.spec?.containers).filter(isObject);
  const initContainers = list(pod.spec?.initContainers).filter(isObject);
  const rawList = annotations[ANNOTATION_CONTAINER];
  const wanted = parseContainerList(
    rawList === undefined || rawList === null ? undefined : text(rawList),
  );
  let targets: V1Container[];
  let initTargets: V1Container[];
  if (wanted.length === 0) {
    targets = containers;
    initTargets = initContainers;
    if (targets.length + initTargets.length === 0) {
      return skip("container-missing", "the pod has no containers");
    }
  } else {
    const known = new Set([...containers, ...initContainers].map(nameOf));
    const missing = wanted.filter((n) => !known.has(n));
    if (missing.length > 0) {
      const has = [...containers.map(nameOf), ...initContainers.map((c) => `${nameOf(c)} (init)`)];
      const what = missing.length === 1 ? "container" : "containers";
      return skip(
        "container-missing",
        `${what} ${missing.map((n) => showPath(n)).join(", ")} named in ${ANNOTATION_CONTAINER} not found in the pod (it has: ${has.join(", ") || "none"}; ephemeral containers are never injected)`,
      );
    }
    const want = new Set(wanted);
    targets = containers.filter((c) => want.has(nameOf(c)));
    initTargets = initContainers.filter((c) => want.has(nameOf(c)));
  }

  for (const c of [...targets, ...initTargets]) {
    // The name becomes a literal directory in subPathExpr: only a DNS label (what the API server accepts) is safe.
    if (!isDns1123Label(nameOf(c))) {
      return skip(
        "container-name",
        `container name ${showPath(nameOf(c))} is not a DNS label, so it cannot name its directory`,
      );
    }
    const collision = mountCollision(c, path);
    if (collision !== null) return skip("mount-collision", collision);
  }

  return {
    inject: true,
    path,
    containers: targets.map(nameOf),
    initContainers: initTargets.map(nameOf),
  };
}

/** RFC 6901: `~` becomes `~0`, `/` becomes `~1`. */
export function escapePointer(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** The value of `coredog.io/injected` for a decision (stable key order, compact JSON). */
export function injectedAnnotation(decision: InjectDecision): string {
  const record: InjectedRecord = {
    path: decision.path,
    containers: decision.containers,
    initContainers: decision.initContainers,
  };
  return JSON.stringify(record);
}

/** Reads `coredog.io/injected`; null when absent or not ours. */
export function parseInjectedAnnotation(value: string | undefined): InjectedRecord | null {
  if (typeof value !== "string") return null;
  try {
    const v: unknown = JSON.parse(value);
    if (!v || typeof v !== "object") return null;
    const r = v as Record<string, unknown>;
    const names = (x: unknown): x is string[] =>
      Array.isArray(x) && x.every((s) => typeof s === "string");
    if (typeof r.path !== "string" || !names(r.containers) || !names(r.initContainers)) return null;
    return { path: r.path, containers: r.containers, initContainers: r.initContainers };
  } catch {
    return null;
  }
}

function ourVolume(): V1Volume {
  return { name: VOLUME_NAME, hostPath: { path: NODE_DUMP_DIR, type: "DirectoryOrCreate" } };
}

function isFieldRef(env: V1EnvVar, fieldPath: string): boolean {
  const ref = env.valueFrom?.fieldRef;
  return (
    env.value === undefined &&
    ref?.fieldPath === fieldPath &&
    (ref.apiVersion === undefined || ref.apiVersion === "v1") &&
    // client-node's deserializer leaves absent fields as undefined-valued keys: not a second source
    Object.values(env.valueFrom ?? {}).filter((v) => v !== undefined).length === 1
  );
}

/**
 * The env var carrying `fieldPath` in this container: `base` if free or already ours, else the
 * first of `base_2`, `base_3`, ... that is. Deterministic for a given env list, so a second run
 * over the patched container picks the same name and adds nothing.
 */
function envName(env: V1EnvVar[], base: string, fieldPath: string): { name: string; add: boolean } {
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}_${i}`;
    const same = env.filter((e) => e?.name === name);
    if (same.length === 0) return { name, add: true };
    if (same.every((e) => isFieldRef(e, fieldPath))) return { name, add: false };
  }
}

function envVar(name: string, fieldPath: string): V1EnvVar {
  return { name, valueFrom: { fieldRef: { apiVersion: "v1", fieldPath } } };
}

function containerOps(c: V1Container, base: string, path: string): Operation[] {
  const ops: Operation[] = [];
  const env = list(c.env);
  const ns = envName(env, ENV_POD_NAMESPACE, "metadata.namespace");
  const pod = envName(env, ENV_POD_NAME, "metadata.name");
  const added = [
    ...(ns.add ? [envVar(ns.name, "metadata.namespace")] : []),
    ...(pod.add ? [envVar(pod.name, "metadata.name")] : []),
  ];
  if (added.length > 0) {
    if (!Array.isArray(c.env)) ops.push({ op: "add", path: `${base}/env`, value: added });
    else for (const e of added) ops.push({ op: "add", path: `${base}/env/-`, value: e });
  }

  // The container's name is literal: DNS labels hold neither `$` nor `(`, so Kubernetes leaves it as it is.
  const mount: V1VolumeMount = {
    name: VOLUME_NAME,
    mountPath: path,
    subPathExpr: `$(${ns.name})/$(${pod.name})/${nameOf(c)}`,
  };
  const mounts = list(c.volumeMounts);
  const ours = mounts.map((m, i) => ({ m, i })).filter(({ m }) => isOurMount(m));
  const fix = ours.find(({ m }) => normalizeContainerPath(text(m.mountPath)) === path) ?? ours[0];
  if (!Array.isArray(c.volumeMounts)) {
    ops.push({ op: "add", path: `${base}/volumeMounts`, value: [mount] });
  } else if (fix === undefined) {
    ops.push({ op: "add", path: `${base}/volumeMounts/-`, value: mount });
  } else {
    const m = fix.m;
    const current =
      normalizeContainerPath(text(m.mountPath)) === path &&
      m.subPathExpr === mount.subPathExpr &&
      m.subPath === undefined &&
      m.readOnly !== true;
    if (!current) ops.push({ op: "replace", path: `${base}/volumeMounts/${fix.i}`, value: mount });
  }
  return ops;
}

/**
 * The RFC 6902 patch giving each target container its own node directory
 * `NODE_DUMP_DIR/<namespace>/<pod>/<container>` at `decision.path` (so a core's path names the
 * container that dumped it): one hostPath volume for NODE_DUMP_DIR and, per container,
 * downward-API env for the namespace and name plus a volumeMount with `subPathExpr`. The kubelet expands it once the pod has its final name, so it needs neither
 * `metadata.name` (absent for `generateName` pods at admission) nor `metadata.namespace` (may be
 * empty in the admitted object). Empty when the pod already carries all of it. Never throws.
 */
export function injectionPatch(pod: V1Pod, decision: InjectDecision): Operation[] {
  const containerOpsList: Operation[] = [];
  const groups = [
    { key: "containers", items: list(pod?.spec?.containers), names: decision.containers },
    {
      key: "initContainers",
      items: list(pod?.spec?.initContainers),
      names: decision.initContainers,
    },
  ] as const;
  for (const { key, items, names } of groups) {
    const want = new Set(names);
    items.forEach((c, i) => {
      if (c && want.has(nameOf(c))) {
        containerOpsList.push(...containerOps(c, `/spec/${key}/${i}`, decision.path));
      }
    });
  }
  const targetsFound = groups.some(({ items, names }) =>
    items.some((c) => c && names.includes(nameOf(c))),
  );
  if (!targetsFound) return [];

  const ops: Operation[] = [];
  const volumes = pod.spec?.volumes;
  if (!Array.isArray(volumes)) {
    ops.push({ op: "add", path: "/spec/volumes", value: [ourVolume()] });
  } else if (!volumes.some((v) => v?.name === VOLUME_NAME)) {
    ops.push({ op: "add", path: "/spec/volumes/-", value: ourVolume() });
  }
  ops.push(...containerOpsList);

  const value = injectedAnnotation(decision);
  const annotations: unknown = pod.metadata?.annotations;
  if (!pod.metadata || typeof pod.metadata !== "object") {
    ops.push({
      op: "add",
      path: "/metadata",
      value: { annotations: { [ANNOTATION_INJECTED]: value } },
    });
  } else if (!annotations || typeof annotations !== "object") {
    ops.push({ op: "add", path: "/metadata/annotations", value: { [ANNOTATION_INJECTED]: value } });
  } else if ((annotations as Annotations)[ANNOTATION_INJECTED] !== value) {
    // "add" on an existing member replaces it (RFC 6902 4.1), so one op covers both cases.
    ops.push({
      op: "add",
      path: `/metadata/annotations/${escapePointer(ANNOTATION_INJECTED)}`,
      value,
    });
  }
  return ops;
}

/**
 * "ns/name", or "ns/generateName* (owner Kind/name)" while the name is not assigned yet.
 * `requestNamespace` (the AdmissionRequest's `namespace`) fills in an empty `metadata.namespace`.
 */
export function describePod(pod: V1Pod, requestNamespace?: string): string {
  const meta = pod?.metadata;
  const ns = meta?.namespace || requestNamespace || "";
  if (meta?.name) return `${ns}/${meta.name}`;
  const refs = list(meta?.ownerReferences);
  const owner = refs.find((r) => r?.controller === true) ?? refs[0];
  const ownerText = owner ? ` (owner ${owner.kind}/${owner.name})` : "";
  if (meta?.generateName) return `${ns}/${meta.generateName}*${ownerText}`;
  return `${ns}/<no name>${ownerText}`;
}
