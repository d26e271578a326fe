// One AdmissionReview in, one answer out. The decision and the patch are src/injection.ts's;
// this module adds the protocol (v1 and v1beta1), the namespace lookup for Pod Security, and
// the rule that our own failures never block a pod.
import type { V1Namespace, V1Pod } from "@kubernetes/client-node";
import {
  decide,
  describePod,
  injectionPatch,
  type Decision,
  type SkipCode,
} from "../../src/injection.js";

/** The AdmissionReview versions this webhook answers (declare both in admissionReviewVersions). */
export const ADMISSION_VERSIONS = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] as const;
export type AdmissionVersion = (typeof ADMISSION_VERSIONS)[number];

export interface NamespaceLookup {
  /** The cached Namespace, or undefined when the cache does not know it (yet). Synchronous. */
  cached(name: string): V1Namespace | undefined;
  /** A direct GET with a short timeout: undefined when it does not exist, throws when it cannot tell. */
  fetch(name: string): Promise<V1Namespace | undefined>;
}

/** Why a pod was let through unchanged without a decision of src/injection.ts. */
export type AllowCode = "not-pod" | "not-create" | "no-object" | "internal-error" | "bad-request";
export type OutcomeCode = SkipCode | "pod-security-unknown" | AllowCode;

export interface Outcome {
  status: number;
  body: string;
  /** What happened, for the log and the metrics; undefined for plain HTTP errors. */
  result?: "inject" | "skip" | "allow";
  code?: OutcomeCode | "inject";
  pod?: string;
  reason?: string;
  path?: string;
  containers?: string[];
  initContainers?: string[];
  patchOps?: number;
  dryRun?: boolean;
  uid?: string;
  /** Set for failures of our own (not of the input): the caller logs, counts and alerts. */
  internalError?: Error;
  /** Set for bad input. */
  badRequest?: string;
}

/** Skips the pod's owner can fix: also returned as a warning kubectl shows them. */
const WARN_CODES: ReadonlySet<string> = new Set([
  "path-missing",
  "path-unsafe",
  "pod-security",
  "pod-security-unknown",
  "container-missing",
  "container-name",
  "mount-collision",
]);

/** Kubernetes clients may truncate warnings over 120 characters; ours stay whole where we can. */
function warningText(s: string): string {
  const t = `coredog: ${s}`;
  return t.length > 256 ? `${t.slice(0, 253)}...` : t;
}

export function statusBody(code: number, message: string): string {
  const reason =
    code === 400
      ? "BadRequest"
      : code === 404
        ? "NotFound"
        : code === 405
          ? "MethodNotAllowed"
          : code === 413
            ? "RequestEntityTooLarge"
            : code === 415
              ? "UnsupportedMediaType"
              : code === 503
                ? "ServiceUnavailable"
                : "InternalError";
  return JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    message,
    reason,
    code,
  });
}

/** A uid that needs no JSON escaping (every uid the API server sends: a UUID). */
const PLAIN_UID = /^[0-9A-Za-z-]*$/;

function reviewBody(
  apiVersion: AdmissionVersion,
  uid: string,
  patch: string | undefined,
  warnings: string[] | undefined,
): string {
  // Hand-built: the only variable parts are JSON-escaped strings; this is the hot path.
  const quotedUid = PLAIN_UID.test(uid) ? `"${uid}"` : JSON.stringify(uid);
  let s = `{"apiVersion":"${apiVersion}","kind":"AdmissionReview","response":{"uid":${quotedUid},"allowed":true`;
  if (patch !== undefined) s += `,"patchType":"JSONPatch","patch":"${patch}"`;
  if (warnings !== undefined && warnings.length > 0) s += `,"warnings":${JSON.stringify(warnings)}`;
  return `${s}}}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const UID_RE = /"uid"\s*:\s*"([0-9A-Za-z-]{1,128})"/;
const VERSION_RE = /"apiVersion"\s*:\s*"(admission\.k8s\.io\/v1(?:beta1)?)"/;

function badRequest(message: string): Outcome {
  return { status: 400, body: statusBody(400, message), badRequest: message };
}

function allow(
  apiVersion: AdmissionVersion,
  uid: string,
  code: AllowCode,
  extra: Partial<Outcome> = {},
  warnings?: string[],
): Outcome {
  return {
    status: 200,
    body: reviewBody(apiVersion, uid, undefined, warnings),
    result: "allow",
    code,
    uid,
    ...extra,
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Answers one /mutate body. Never throws: bad input gets 400 (or an allowing review when the
 * uid is still recoverable), our own failures an allowing review with a warning. Synchronous
 * (no promise, no microtask) unless the namespace must be fetched; such a promise never rejects.
 */
export function review(text: string, namespaces: NamespaceLookup): Outcome | Promise<Outcome> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const why = text.trim() === "" ? "empty body" : `malformed JSON (${errorMessage(err)})`;
    const uid = UID_RE.exec(text)?.[1];
    const version = VERSION_RE.exec(text)?.[1] as AdmissionVersion | undefined;
    if (uid && version) {
      // Answer what we can rather than make the API server apply failurePolicy to a pod.
      return allow(version, uid, "bad-request", { badRequest: why }, [
        warningText(`the admission request could not be read (${why}); pod admitted unchanged`),
      ]);
    }
    return badRequest(`expected an AdmissionReview: ${why}`);
  }
  if (!isObject(parsed)) return badRequest("expected an AdmissionReview object");
  const apiVersion = parsed.apiVersion;
  if (
    parsed.kind !== "AdmissionReview" ||
    !ADMISSION_VERSIONS.includes(apiVersion as AdmissionVersion)
  ) {
    return badRequest(
      `expected kind AdmissionReview with apiVersion ${ADMISSION_VERSIONS.join(" or ")}, got ${JSON.stringify(parsed.kind)} ${JSON.stringify(apiVersion)}`.slice(
        0,
        500,
      ),
    );
  }
  const version = apiVersion as AdmissionVersion;
  const request = parsed.request;
  if (!isObject(request)) return badRequest("AdmissionReview without a request");
  const uid = request.uid;
  if (typeof uid !== "string" || uid === "")
    return badRequest("AdmissionReview request without a uid");

  const dryRun = request.dryRun === true;
  const kind = request.kind;
  const resource = request.resource;
  const isPod =
    isObject(kind) &&
    kind.kind === "Pod" &&
    (kind.group ?? "") === "" &&
    (kind.version ?? "v1") === "v1";
  const isPodsResource =
    !isObject(resource) || resource.resource === undefined || resource.resource === "pods";
  if (!isPod || !isPodsResource || (request.subResource ?? "") !== "") {
    return allow(version, uid, "not-pod", { dryRun });
  }
  if (request.operation !== "CREATE") return allow(version, uid, "not-create", { dryRun });
  const object = request.object;
  if (!isObject(object)) {
    return allow(version, uid, "no-object", {
      dryRun,
      badRequest: "CREATE of a Pod without an object",
    });
  }

  const pod = object as V1Pod;
  const requestNs = typeof request.namespace === "string" ? request.namespace : "";
  const ctx: Context = { version, uid, dryRun, name: "" };
  try {
    ctx.name = describePod(pod, requestNs);
    const nsName =
      requestNs || (typeof pod.metadata?.namespace === "string" ? pod.metadata.namespace : "");
    const ns = namespaces.cached(nsName);
    const decision = decide(pod, ns);
    // Pod Security not checked yet: the cache does not know the namespace.
    if (decision.inject && ns === undefined) return afterLookup(pod, nsName, namespaces, ctx);
    return answer(pod, decision, ctx);
  } catch (err) {
    return internalError(err, ctx);
  }
}

interface Context {
  version: AdmissionVersion;
  uid: string;
  dryRun: boolean;
  /** describePod's text, "" until known. */
  name: string;
}

async function afterLookup(
  pod: V1Pod,
  nsName: string,
  namespaces: NamespaceLookup,
  ctx: Context,
): Promise<Outcome> {
  const { version, uid, dryRun } = ctx;
  let ns: V1Namespace | undefined;
  try {
    ns = await namespaces.fetch(nsName);
  } catch (err) {
    // Injecting into an enforcing namespace makes the API server reject the pod; skipping
    // only costs this pod its core dumps. Never block a pod: skip, say so, alert.
    const reason = `pod security of namespace ${nsName} could not be checked (${errorMessage(err)}); not injecting, so that the pod cannot be rejected for a hostPath volume`;
    return {
      status: 200,
      body: reviewBody(version, uid, undefined, [warningText(`skip injection: ${reason}`)]),
      result: "skip",
      code: "pod-security-unknown",
      reason,
      pod: ctx.name,
      uid,
      dryRun,
      internalError: new Error(`namespace lookup failed: ${errorMessage(err)}`),
    };
  }
  try {
    // Unknown to the API server too: nothing enforces Pod Security there (yet).
    return answer(pod, decide(pod, ns), ctx);
  } catch (err) {
    return internalError(err, ctx);
  }
}

function answer(pod: V1Pod, decision: Decision, ctx: Context): Outcome {
  const { version, uid, dryRun, name } = ctx;
  if (!decision.inject) {
    const warnings = WARN_CODES.has(decision.code)
      ? [warningText(`skip injection: ${decision.reason}`)]
      : undefined;
    return {
      status: 200,
      body: reviewBody(version, uid, undefined, warnings),
      result: "skip",
      code: decision.code,
      reason: decision.reason,
      pod: name,
      uid,
      dryRun,
    };
  }
  const ops = injectionPatch(pod, decision);
  const patch = ops.length > 0 ? Buffer.from(JSON.stringify(ops)).toString("base64") : undefined;
  return {
    status: 200,
    body: reviewBody(version, uid, patch, undefined),
    result: "inject",
    code: "inject",
    pod: name,
    path: decision.path,
    containers: decision.containers,
    initContainers: decision.initContainers,
    patchOps: ops.length,
    uid,
    dryRun,
  };
}

function internalError(err: unknown, ctx: Context): Outcome {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    status: 200,
    body: reviewBody(ctx.version, ctx.uid, undefined, [
      warningText(`internal error, pod admitted without the core dump directory: ${e.message}`),
    ]),
    result: "allow",
    code: "internal-error",
    pod: ctx.name || undefined,
    uid: ctx.uid,
    dryRun: ctx.dryRun,
    internalError: e,
  };
}
