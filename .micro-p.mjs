// test/unit/webhook/helpers.ts
function deploymentPod(overrides = {}) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: "api-7d9f8b6c4-",
      namespace: overrides.namespace ?? "",
      labels: { app: "api", "pod-template-hash": "7d9f8b6c4" },
      annotations: overrides.annotations ?? {
        "coredog.io/inject": "true",
        "coredog.io/path": "/corefile"
      },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: "api-7d9f8b6c4",
          uid: "0b4c6f9e-1c1d-4c44-9b1b-6a0f8f7d8a11",
          controller: true,
          blockOwnerDeletion: true
        }
      ]
    },
    spec: {
      containers: [
        {
          name: "app",
          image: "ghcr.io/example/api:1.4.2",
          env: [
            { name: "LOG_LEVEL", value: "info" },
            { name: "DB_HOST", value: "postgres.shop.svc" }
          ],
          ports: [{ containerPort: 8080, name: "http" }],
          volumeMounts: [
            { name: "config", mountPath: "/etc/api" },
            {
              name: "kube-api-access-x7k2p",
              mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
              readOnly: true
            }
          ],
          resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } }
        },
        {
          name: "sidecar",
          image: "ghcr.io/example/proxy:2.0.0",
          args: ["--upstream", "127.0.0.1:8080"],
          volumeMounts: [
            {
              name: "kube-api-access-x7k2p",
              mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
              readOnly: true
            }
          ]
        }
      ],
      volumes: [
        { name: "config", configMap: { name: "api-config" } },
        {
          name: "kube-api-access-x7k2p",
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
              {
                configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] }
              }
            ]
          }
        }
      ],
      serviceAccountName: "default",
      restartPolicy: "Always"
    }
  };
}
function admissionReview(pod, opts = {}) {
  const namespace = opts.namespace ?? "shop";
  return JSON.stringify({
    apiVersion: `admission.k8s.io/${opts.version ?? "v1"}`,
    kind: "AdmissionReview",
    request: {
      uid: opts.uid ?? "705ab4f5-6393-11e8-b7cc-42010a800002",
      kind: opts.kind ?? { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      requestKind: { group: "", version: "v1", kind: "Pod" },
      requestResource: { group: "", version: "v1", resource: "pods" },
      namespace,
      operation: opts.operation ?? "CREATE",
      userInfo: {
        username: "system:serviceaccount:kube-system:replicaset-controller",
        groups: ["system:serviceaccounts"]
      },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" }
    }
  });
}

// src/names.ts
var PRODUCT = "coredog";
var LABEL_NAME = "app.kubernetes.io/name";
var LABEL_COMPONENT = "app.kubernetes.io/component";
var COMPONENT_WEBHOOK = "webhook";
var COMPONENT_WATCHER = "watcher";
var WEBHOOK_SELECTOR = `${LABEL_NAME}=${PRODUCT},${LABEL_COMPONENT}=${COMPONENT_WEBHOOK}`;
var WATCHER_SELECTOR = `${LABEL_NAME}=${PRODUCT},${LABEL_COMPONENT}=${COMPONENT_WATCHER}`;
var ANNOTATION_INJECT = "coredog.io/inject";
var ANNOTATION_PATH = "coredog.io/path";
var ANNOTATION_CONTAINER = "coredog.io/container";
var ANNOTATION_INJECTED = "coredog.io/injected";
var NODE_DUMP_DIR = "/data/coredog-system/dumps";
var VOLUME_NAME = "coredog-dumps";
var ENV_POD_NAMESPACE = "COREDOG_POD_NAMESPACE";
var ENV_POD_NAME = "COREDOG_POD_NAME";

// src/paths.ts
var SYSTEM_DIRS = /* @__PURE__ */ new Set([
  "etc",
  "usr",
  "bin",
  "sbin",
  "var",
  "root",
  "home",
  "boot",
  "proc",
  "sys",
  "dev",
  "run"
]);
var NAME_MAX_BYTES = 255;
function normalizeContainerPath(p) {
  if (typeof p !== "string" || !p.startsWith("/")) return null;
  const parts = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}
function showPath(p) {
  return p.replace(
    /[\u0000-\u001f\u007f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`
  );
}
function notAllowed(p, why) {
  return `path=${showPath(p)} is not allowed (${why})`;
}
function unsafePathReason(p) {
  if (typeof p !== "string" || p === "") return notAllowed("", "must be an absolute path");
  if (/[\u0000-\u001f\u007f]/.test(p)) return notAllowed(p, "contains a control character");
  if (p.includes(":")) return notAllowed(p, 'contains ":"');
  const normal = normalizeContainerPath(p);
  if (normal === null) return notAllowed(p, "must be an absolute path");
  const resolves = normal === p ? "" : `resolves to ${normal}, `;
  if (normal === "/") return notAllowed(p, `${resolves}the root directory`);
  const segments = normal.slice(1).split("/");
  const top = segments[0] ?? "";
  if (SYSTEM_DIRS.has(top) || top.startsWith("lib")) {
    const where = segments.length === 1 ? "system directory" : "under system directory";
    return notAllowed(p, `${resolves}${where} /${top}`);
  }
  const encoder = new TextEncoder();
  if (segments.some((s) => encoder.encode(s).length > NAME_MAX_BYTES)) {
    return notAllowed(p, `${resolves}a path component is longer than ${NAME_MAX_BYTES} bytes`);
  }
  return null;
}

// src/injection.ts
var PSA_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";
function skip(code, reason) {
  return { inject: false, code, reason };
}
function text(value) {
  return typeof value === "string" ? value : String(value);
}
function list(value) {
  return Array.isArray(value) ? value : [];
}
function nameOf(c) {
  return typeof c?.name === "string" ? c.name : "";
}
function parseContainerList(value) {
  if (value === void 0) return [];
  const seen = /* @__PURE__ */ new Set();
  for (const entry of value.split(",")) {
    const name = entry.trim();
    if (name !== "") seen.add(name);
  }
  return [...seen];
}
function podSecurityReason(pod, namespace) {
  const labels = namespace?.metadata?.labels;
  if (!labels || typeof labels !== "object") return null;
  const level = labels[PSA_ENFORCE_LABEL];
  if (level === void 0 || level === "privileged") return null;
  const ns2 = namespace?.metadata?.name ?? pod.metadata?.namespace ?? "";
  if (level === "baseline" || level === "restricted") {
    return `namespace ${ns2} enforces Pod Security "${level}" (${PSA_ENFORCE_LABEL}=${level}), which forbids the hostPath volume CoreDog needs`;
  }
  return `namespace ${ns2} has an invalid ${PSA_ENFORCE_LABEL} label "${showPath(text(level))}", which Pod Security treats as "restricted" and which forbids the hostPath volume CoreDog needs`;
}
function isOurVolume(v) {
  const path = v.hostPath?.path;
  return typeof path === "string" && normalizeContainerPath(path) === NODE_DUMP_DIR;
}
var OUR_SUBPATH_EXPR = new RegExp(
  `^\\$\\(${ENV_POD_NAMESPACE}(_\\d+)?\\)/\\$\\(${ENV_POD_NAME}(_\\d+)?\\)$`
);
function isOurMount(m) {
  return m?.name === VOLUME_NAME && typeof m.subPathExpr === "string" && OUR_SUBPATH_EXPR.test(m.subPathExpr);
}
function mountCollision(c, path) {
  for (const m of list(c.volumeMounts)) {
    if (isOurMount(m)) continue;
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
function decide(pod, namespace) {
  const raw = pod?.metadata?.annotations;
  const annotations = raw && typeof raw === "object" ? raw : {};
  if (Object.keys(annotations).length === 0) return skip("no-annotations", "no annotations");
  const inject = annotations[ANNOTATION_INJECT];
  if (inject === void 0 || inject === null) {
    return skip("inject-not-found", `annotation ${ANNOTATION_INJECT} not found`);
  }
  if (inject !== "true") {
    const shown = text(inject) === "" ? '""' : showPath(text(inject));
    return skip("inject-not-true", `inject=${shown} (only the exact string "true" opts in)`);
  }
  const rawPath = annotations[ANNOTATION_PATH];
  const annotated = rawPath === void 0 || rawPath === null ? "" : text(rawPath).trim();
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
      `volume name ${VOLUME_NAME} is already used by another volume (not hostPath ${NODE_DUMP_DIR})`
    );
  }
  const isObject2 = (c) => !!c && typeof c === "object";
  const containers = list(pod.spec?.containers).filter(isObject2);
  const initContainers = list(pod.spec?.initContainers).filter(isObject2);
  const rawList = annotations[ANNOTATION_CONTAINER];
  const wanted = parseContainerList(
    rawList === void 0 || rawList === null ? void 0 : text(rawList)
  );
  let targets;
  let initTargets;
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
        `${what} ${missing.map((n) => showPath(n)).join(", ")} named in ${ANNOTATION_CONTAINER} not found in the pod (it has: ${has.join(", ") || "none"}; ephemeral containers are never injected)`
      );
    }
    const want = new Set(wanted);
    targets = containers.filter((c) => want.has(nameOf(c)));
    initTargets = initContainers.filter((c) => want.has(nameOf(c)));
  }
  for (const c of [...targets, ...initTargets]) {
    const collision = mountCollision(c, path);
    if (collision !== null) return skip("mount-collision", collision);
  }
  return {
    inject: true,
    path,
    containers: targets.map(nameOf),
    initContainers: initTargets.map(nameOf)
  };
}
function escapePointer(segment) {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}
function injectedAnnotation(decision) {
  const record = {
    path: decision.path,
    containers: decision.containers,
    initContainers: decision.initContainers
  };
  return JSON.stringify(record);
}
function ourVolume() {
  return { name: VOLUME_NAME, hostPath: { path: NODE_DUMP_DIR, type: "DirectoryOrCreate" } };
}
function isFieldRef(env, fieldPath) {
  const ref = env.valueFrom?.fieldRef;
  return env.value === void 0 && ref?.fieldPath === fieldPath && (ref.apiVersion === void 0 || ref.apiVersion === "v1") && // client-node's deserializer leaves absent fields as undefined-valued keys: not a second source
  Object.values(env.valueFrom ?? {}).filter((v) => v !== void 0).length === 1;
}
function envName(env, base, fieldPath) {
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}_${i}`;
    const same = env.filter((e) => e?.name === name);
    if (same.length === 0) return { name, add: true };
    if (same.every((e) => isFieldRef(e, fieldPath))) return { name, add: false };
  }
}
function envVar(name, fieldPath) {
  return { name, valueFrom: { fieldRef: { apiVersion: "v1", fieldPath } } };
}
function containerOps(c, base, path) {
  const ops = [];
  const env = list(c.env);
  const ns2 = envName(env, ENV_POD_NAMESPACE, "metadata.namespace");
  const pod = envName(env, ENV_POD_NAME, "metadata.name");
  const added = [
    ...ns2.add ? [envVar(ns2.name, "metadata.namespace")] : [],
    ...pod.add ? [envVar(pod.name, "metadata.name")] : []
  ];
  if (added.length > 0) {
    if (!Array.isArray(c.env)) ops.push({ op: "add", path: `${base}/env`, value: added });
    else for (const e of added) ops.push({ op: "add", path: `${base}/env/-`, value: e });
  }
  const mount = {
    name: VOLUME_NAME,
    mountPath: path,
    subPathExpr: `$(${ns2.name})/$(${pod.name})`
  };
  const mounts = list(c.volumeMounts);
  const ours = mounts.map((m, i) => ({ m, i })).filter(({ m }) => isOurMount(m));
  const fix = ours.find(({ m }) => normalizeContainerPath(text(m.mountPath)) === path) ?? ours[0];
  if (!Array.isArray(c.volumeMounts)) {
    ops.push({ op: "add", path: `${base}/volumeMounts`, value: [mount] });
  } else if (fix === void 0) {
    ops.push({ op: "add", path: `${base}/volumeMounts/-`, value: mount });
  } else {
    const m = fix.m;
    const current = normalizeContainerPath(text(m.mountPath)) === path && m.subPathExpr === mount.subPathExpr && m.subPath === void 0 && m.readOnly !== true;
    if (!current) ops.push({ op: "replace", path: `${base}/volumeMounts/${fix.i}`, value: mount });
  }
  return ops;
}
function injectionPatch(pod, decision) {
  const containerOpsList = [];
  const groups = [
    { key: "containers", items: list(pod?.spec?.containers), names: decision.containers },
    {
      key: "initContainers",
      items: list(pod?.spec?.initContainers),
      names: decision.initContainers
    }
  ];
  for (const { key, items, names } of groups) {
    const want = new Set(names);
    items.forEach((c, i) => {
      if (c && want.has(nameOf(c))) {
        containerOpsList.push(...containerOps(c, `/spec/${key}/${i}`, decision.path));
      }
    });
  }
  const targetsFound = groups.some(
    ({ items, names }) => items.some((c) => c && names.includes(nameOf(c)))
  );
  if (!targetsFound) return [];
  const ops = [];
  const volumes = pod.spec?.volumes;
  if (!Array.isArray(volumes)) {
    ops.push({ op: "add", path: "/spec/volumes", value: [ourVolume()] });
  } else if (!volumes.some((v) => v?.name === VOLUME_NAME)) {
    ops.push({ op: "add", path: "/spec/volumes/-", value: ourVolume() });
  }
  ops.push(...containerOpsList);
  const value = injectedAnnotation(decision);
  const annotations = pod.metadata?.annotations;
  if (!pod.metadata || typeof pod.metadata !== "object") {
    ops.push({
      op: "add",
      path: "/metadata",
      value: { annotations: { [ANNOTATION_INJECTED]: value } }
    });
  } else if (!annotations || typeof annotations !== "object") {
    ops.push({ op: "add", path: "/metadata/annotations", value: { [ANNOTATION_INJECTED]: value } });
  } else if (annotations[ANNOTATION_INJECTED] !== value) {
    ops.push({
      op: "add",
      path: `/metadata/annotations/${escapePointer(ANNOTATION_INJECTED)}`,
      value
    });
  }
  return ops;
}
function describePod(pod, requestNamespace) {
  const meta = pod?.metadata;
  const ns2 = meta?.namespace || requestNamespace || "";
  if (meta?.name) return `${ns2}/${meta.name}`;
  const refs = list(meta?.ownerReferences);
  const owner = refs.find((r) => r?.controller === true) ?? refs[0];
  const ownerText = owner ? ` (owner ${owner.kind}/${owner.name})` : "";
  if (meta?.generateName) return `${ns2}/${meta.generateName}*${ownerText}`;
  return `${ns2}/<no name>${ownerText}`;
}

// controller/webhook/admission.ts
var ADMISSION_VERSIONS = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"];
var WARN_CODES = /* @__PURE__ */ new Set([
  "path-missing",
  "path-unsafe",
  "pod-security",
  "pod-security-unknown",
  "container-missing",
  "mount-collision"
]);
function warningText(s) {
  const t = `coredog: ${s}`;
  return t.length > 256 ? `${t.slice(0, 253)}...` : t;
}
function statusBody(code, message) {
  const reason = code === 400 ? "BadRequest" : code === 404 ? "NotFound" : code === 405 ? "MethodNotAllowed" : code === 413 ? "RequestEntityTooLarge" : code === 415 ? "UnsupportedMediaType" : code === 503 ? "ServiceUnavailable" : "InternalError";
  return JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    message,
    reason,
    code
  });
}
function reviewBody(apiVersion, uid, patch, warnings) {
  let s = `{"apiVersion":"${apiVersion}","kind":"AdmissionReview","response":{"uid":${JSON.stringify(uid)},"allowed":true`;
  if (patch !== void 0) s += `,"patchType":"JSONPatch","patch":"${patch}"`;
  if (warnings !== void 0 && warnings.length > 0) s += `,"warnings":${JSON.stringify(warnings)}`;
  return `${s}}}`;
}
function isObject(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
var UID_RE = /"uid"\s*:\s*"([0-9A-Za-z-]{1,128})"/;
var VERSION_RE = /"apiVersion"\s*:\s*"(admission\.k8s\.io\/v1(?:beta1)?)"/;
function badRequest(message) {
  return { status: 400, body: statusBody(400, message), badRequest: message };
}
function allow(apiVersion, uid, code, extra = {}, warnings) {
  return {
    status: 200,
    body: reviewBody(apiVersion, uid, void 0, warnings),
    result: "allow",
    code,
    uid,
    ...extra
  };
}
function errorMessage(err) {
  return err instanceof Error ? err.message : String(err);
}
async function review(text2, namespaces) {
  let parsed;
  try {
    parsed = JSON.parse(text2);
  } catch (err) {
    const why = text2.trim() === "" ? "empty body" : `malformed JSON (${errorMessage(err)})`;
    const uid2 = UID_RE.exec(text2)?.[1];
    const version2 = VERSION_RE.exec(text2)?.[1];
    if (uid2 && version2) {
      return allow(version2, uid2, "bad-request", { badRequest: why }, [
        warningText(`the admission request could not be read (${why}); pod admitted unchanged`)
      ]);
    }
    return badRequest(`expected an AdmissionReview: ${why}`);
  }
  if (!isObject(parsed)) return badRequest("expected an AdmissionReview object");
  const apiVersion = parsed.apiVersion;
  if (parsed.kind !== "AdmissionReview" || !ADMISSION_VERSIONS.includes(apiVersion)) {
    return badRequest(
      `expected kind AdmissionReview with apiVersion ${ADMISSION_VERSIONS.join(" or ")}, got ${JSON.stringify(parsed.kind)} ${JSON.stringify(apiVersion)}`.slice(
        0,
        500
      )
    );
  }
  const version = apiVersion;
  const request = parsed.request;
  if (!isObject(request)) return badRequest("AdmissionReview without a request");
  const uid = request.uid;
  if (typeof uid !== "string" || uid === "")
    return badRequest("AdmissionReview request without a uid");
  const dryRun = request.dryRun === true;
  const kind = request.kind;
  const resource = request.resource;
  const isPod = isObject(kind) && kind.kind === "Pod" && (kind.group ?? "") === "" && (kind.version ?? "v1") === "v1";
  const isPodsResource = !isObject(resource) || resource.resource === void 0 || resource.resource === "pods";
  if (!isPod || !isPodsResource || (request.subResource ?? "") !== "") {
    return allow(version, uid, "not-pod", { dryRun });
  }
  if (request.operation !== "CREATE") return allow(version, uid, "not-create", { dryRun });
  const object = request.object;
  if (!isObject(object)) {
    return allow(version, uid, "no-object", {
      dryRun,
      badRequest: "CREATE of a Pod without an object"
    });
  }
  const pod = object;
  const requestNs = typeof request.namespace === "string" ? request.namespace : "";
  let name = "";
  try {
    name = describePod(pod, requestNs);
    const nsName = requestNs || (typeof pod.metadata?.namespace === "string" ? pod.metadata.namespace : "");
    let ns2 = namespaces.cached(nsName);
    let decision = decide(pod, ns2);
    if (decision.inject && ns2 === void 0) {
      try {
        ns2 = await namespaces.fetch(nsName);
      } catch (err) {
        const reason = `pod security of namespace ${nsName} could not be checked (${errorMessage(err)}); not injecting, so that the pod cannot be rejected for a hostPath volume`;
        return {
          status: 200,
          body: reviewBody(version, uid, void 0, [warningText(`skip injection: ${reason}`)]),
          result: "skip",
          code: "pod-security-unknown",
          reason,
          pod: name,
          uid,
          dryRun,
          internalError: new Error(`namespace lookup failed: ${errorMessage(err)}`)
        };
      }
      if (ns2 !== void 0) decision = decide(pod, ns2);
    }
    if (!decision.inject) {
      const warnings = WARN_CODES.has(decision.code) ? [warningText(`skip injection: ${decision.reason}`)] : void 0;
      return {
        status: 200,
        body: reviewBody(version, uid, void 0, warnings),
        result: "skip",
        code: decision.code,
        reason: decision.reason,
        pod: name,
        uid,
        dryRun
      };
    }
    const ops = injectionPatch(pod, decision);
    const patch = ops.length > 0 ? Buffer.from(JSON.stringify(ops)).toString("base64") : void 0;
    return {
      status: 200,
      body: reviewBody(version, uid, patch, void 0),
      result: "inject",
      code: "inject",
      pod: name,
      path: decision.path,
      containers: decision.containers,
      initContainers: decision.initContainers,
      patchOps: ops.length,
      uid,
      dryRun
    };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return {
      status: 200,
      body: reviewBody(version, uid, void 0, [
        warningText(`internal error, pod admitted without the core dump directory: ${e.message}`)
      ]),
      result: "allow",
      code: "internal-error",
      pod: name || void 0,
      uid,
      dryRun,
      internalError: e
    };
  }
}

// controller/webhook/metrics.ts
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
function createMetrics(opts = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: "coredog_webhook_" });
  const requests = new Counter({
    name: "coredog_webhook_requests_total",
    help: "HTTP requests answered, by path and status code",
    labelNames: ["path", "code"],
    registers: [registry]
  });
  const decisions = new Counter({
    name: "coredog_webhook_decisions_total",
    help: "Admission decisions, by result (inject, skip, allow = not a pod creation) and reason code",
    labelNames: ["result", "reason"],
    registers: [registry]
  });
  const errors = new Counter({
    name: "coredog_webhook_errors_total",
    help: "Errors, by kind (bad-request, internal, pod-security-lookup, ...)",
    labelNames: ["kind"],
    registers: [registry]
  });
  const latency = new Histogram({
    name: "coredog_webhook_request_duration_seconds",
    help: "Time to answer /mutate, from request start to response end",
    buckets: [1e-4, 25e-5, 5e-4, 1e-3, 25e-4, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5],
    registers: [registry]
  });
  const reloads = new Counter({
    name: "coredog_webhook_certificate_reloads_total",
    help: "Certificate reloads, by result",
    labelNames: ["result"],
    registers: [registry]
  });
  new Gauge({
    name: "coredog_webhook_info",
    help: "Always 1",
    registers: [registry]
  }).set(1);
  const requestChildren = /* @__PURE__ */ new Map();
  const decisionChildren = /* @__PURE__ */ new Map();
  return {
    registry,
    request(path, code, seconds) {
      const k = `${path} ${code}`;
      let c = requestChildren.get(k);
      if (!c) requestChildren.set(k, c = requests.labels(path, String(code)));
      c.inc();
      if (path === "/mutate") latency.observe(seconds);
    },
    decision(result, reason) {
      const k = `${result} ${reason}`;
      let c = decisionChildren.get(k);
      if (!c) decisionChildren.set(k, c = decisions.labels(result, reason));
      c.inc();
    },
    error(kind) {
      errors.labels(kind).inc();
    },
    certReload(ok) {
      reloads.labels(ok ? "ok" : "rejected").inc();
    }
  };
}

// controller/log.ts
import { pino } from "pino";

// src/logfmt.ts
var LEADING_KEYS = ["time", "level", "msg"];
function quote(value) {
  if (value !== "" && /^[^\s"=\\\u0000-\u001f\u007f]+$/.test(value)) return value;
  const escaped = value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t").replace(
    /[\u0000-\u001f\u007f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`
  );
  return `"${escaped}"`;
}
function render(value) {
  if (value === null || value === void 0) return quote("");
  if (typeof value === "string") return quote(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return String(value);
  }
  return quote(JSON.stringify(value));
}
function safeKey(key) {
  const cleaned = key.replace(/[\s"=]/g, "_");
  return cleaned === "" ? "_" : cleaned;
}
function formatLogfmt(record) {
  const parts = [];
  for (const key of LEADING_KEYS) {
    if (key in record) parts.push(`${key}=${render(record[key])}`);
  }
  for (const [key, value] of Object.entries(record)) {
    if (LEADING_KEYS.includes(key) || value === void 0) continue;
    parts.push(`${safeKey(key)}=${render(value)}`);
  }
  return parts.join(" ");
}

// controller/log.ts
function logfmtStream(write) {
  return {
    write(json) {
      write(`${formatLogfmt(JSON.parse(json))}
`);
    }
  };
}
function createLogger(options = {}) {
  const write = options.write ?? ((line) => process.stdout.write(line));
  const format = options.format ?? "logfmt";
  const stream = format === "json" ? { write: (line) => write(line) } : logfmtStream(write);
  return pino(
    {
      level: options.level ?? "info",
      base: void 0,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) }
    },
    stream
  );
}

// controller/webhook/logsink.ts
function batcher(out, delayMs, maxBuffered = 1 << 20) {
  let buf = [];
  let size = 0;
  let timer;
  const drain = () => {
    if (timer !== void 0) {
      if (delayMs > 0) clearTimeout(timer);
      else clearImmediate(timer);
      timer = void 0;
    }
    if (buf.length === 0) return;
    const chunk = buf.length === 1 ? buf[0] : buf.join("");
    buf = [];
    size = 0;
    out(chunk);
  };
  return {
    write(line) {
      buf.push(line);
      size += line.length;
      if (size >= maxBuffered) drain();
      else if (timer === void 0)
        timer = delayMs > 0 ? setTimeout(drain, delayMs) : setImmediate(drain);
    },
    drain
  };
}
function createLogSink(out) {
  const b = batcher(out, 0);
  return {
    write: b.write,
    flush: async () => b.drain(),
    close: async () => b.drain()
  };
}

// .micro-p.ts
var body = admissionReview(deploymentPod(), { uid: "2f0b4c1e-8d57-4d43-a5f4-1b1b7f3c9e10" });
var ns = { cached: (n) => ({ metadata: { name: n } }), fetch: async () => void 0 };
var sinkBytes = 0;
var sink = createLogSink((c) => {
  sinkBytes += c.length;
});
var log = createLogger({ format: "json", write: sink.write });
var metrics = createMetrics();
async function time(name, n, f) {
  for (let i = 0; i < n / 4; i++) await f();
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    await f();
    if (i % 1e3 === 0) await new Promise((r) => setImmediate(r));
  }
  const c = process.cpuUsage(t0);
  const us = (c.user + c.system) / n;
  console.log(`${name.padEnd(30)} ${us.toFixed(2)} \xB5s`);
}
var o = await review(body, ns);
for (let k = 0; k < 2; k++) {
  await time("noop await", 1e5, () => void 0);
  await time("JSON.parse", 1e5, () => JSON.parse(body));
  await time("review", 1e5, () => review(body, ns));
  await time("log.info inject", 1e5, () => log.info({ pod: o.pod, path: o.path, containers: o.containers.join(","), initContainers: void 0, ops: o.patchOps, dryRun: void 0 }, `inject core dump directory at ${o.path} into ${o.pod}`));
  await time("metrics.request", 1e5, () => metrics.request("/mutate", 200, 12e-4));
  await time("metrics.decision", 1e5, () => metrics.decision("inject", "inject"));
  await time("Buffer.from(body)", 1e5, () => Buffer.from(o.body));
}
console.log(sinkBytes);
