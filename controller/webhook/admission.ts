// One AdmissionReview in, one answer out. The decision and the patch are src/injection.ts's;
// this module adds the protocol (v1 and v1beta1), the namespace lookup for Pod Security, and
// the rule that our own failures never block a pod.
import type { V1Namespace, V1Pod } from "@kubernetes/client-node";
import {
  decide,
  SKIPS,
  describePod,
  injectionPatch,
  type Decision,
  type SkipCode,
} from "../../src/injection.js";
import { errorText } from "../../src/error-text.js";

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

/** The reply on the wire: an HTTP status and its JSON body. */
interface Reply {
  status: number;
  body: string;
}

/** One admission request's result, one case per kind of answer; the server logs and counts by `kind`. */
export type Outcome = Injected | Skipped | Allowed | BadRequest;

/** The pod gets the directory: the patch is in the body. */
export interface Injected extends Reply {
  kind: "inject";
  uid: string;
  pod: string;
  path: string;
  containers: string[];
  initContainers: string[];
  patchOps: number;
  dryRun: boolean;
}

/** The pod is admitted unchanged for one of the guide's reasons (or because Pod Security could not be checked). */
export interface Skipped extends Reply {
  kind: "skip";
  uid: string;
  pod: string;
  code: SkipCode | "pod-security-unknown";
  reason: string;
  dryRun: boolean;
  /** Set when the skip comes from our own failure (the namespace could not be read): alert. */
  internalError?: Error;
}

/** Admitted unchanged without a decision: not a pod CREATE, input we could only partly read, or our own failure. */
export interface Allowed extends Reply {
  kind: "allow";
  uid: string;
  code: AllowCode;
  dryRun: boolean;
  pod?: string;
  /** Our own failure: the caller logs, counts and alerts. */
  internalError?: Error;
  /** What was wrong with the input, when it was let through anyway. */
  badInput?: string;
}

/** Not an AdmissionReview we can answer: HTTP 400. */
export interface BadRequest extends Reply {
  kind: "bad-request";
  message: string;
}

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
  patch?: string,
  warnings?: string[],
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

// One small constructor per kind of answer.

function badRequest(message: string): BadRequest {
  return { kind: "bad-request", status: 400, body: statusBody(400, message), message };
}

function allowed(
  version: AdmissionVersion,
  uid: string,
  code: AllowCode,
  dryRun: boolean,
): Allowed {
  return { kind: "allow", status: 200, body: reviewBody(version, uid), code, uid, dryRun };
}

/** Bad input from which the uid could still be read: admitted with a warning rather than refused. */
function allowedBadInput(
  version: AdmissionVersion,
  uid: string,
  code: AllowCode,
  badInput: string,
  dryRun: boolean,
  warning?: string,
): Allowed {
  const body = reviewBody(version, uid, undefined, warning ? [warningText(warning)] : undefined);
  return { kind: "allow", status: 200, body, code, uid, dryRun, badInput };
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
    const why = text.trim() === "" ? "empty body" : `malformed JSON (${errorText(err)})`;
    const uid = UID_RE.exec(text)?.[1];
    const version = VERSION_RE.exec(text)?.[1] as AdmissionVersion | undefined;
    if (uid && version) {
      // Answer what we can rather than make the API server apply failurePolicy to a pod.
      return allowedBadInput(
        version,
        uid,
        "bad-request",
        why,
        false,
        `the admission request could not be read (${why}); pod admitted unchanged`,
      );
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
    return allowed(version, uid, "not-pod", dryRun);
  }
  if (request.operation !== "CREATE") return allowed(version, uid, "not-create", dryRun);
  const object = request.object;
  if (!isObject(object)) {
    return allowedBadInput(version, uid, "no-object", "CREATE of a Pod without an object", dryRun);
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
  let ns: V1Namespace | undefined;
  try {
    ns = await namespaces.fetch(nsName);
  } catch (err) {
    // Injecting into an enforcing namespace makes the API server reject the pod; skipping
    // only costs this pod its core dumps. Never block a pod: skip, say so, alert.
    const reason = `pod security of namespace ${nsName} could not be checked (${errorText(err)}); not injecting, so that the pod cannot be rejected for a hostPath volume`;
    return skipped(ctx, "pod-security-unknown", reason, true, {
      internalError: new Error(`namespace lookup failed: ${errorText(err)}`),
    });
  }
  try {
    // Unknown to the API server too: nothing enforces Pod Security there (yet).
    return answer(pod, decide(pod, ns), ctx);
  } catch (err) {
    return internalError(err, ctx);
  }
}

function skipped(
  ctx: Context,
  code: Skipped["code"],
  reason: string,
  warn: boolean,
  extra: { internalError?: Error } = {},
): Skipped {
  const { version, uid, dryRun, name } = ctx;
  const warnings = warn ? [warningText(`skip injection: ${reason}`)] : undefined;
  const body = reviewBody(version, uid, undefined, warnings);
  return { kind: "skip", status: 200, body, code, reason, pod: name, uid, dryRun, ...extra };
}

function injected(pod: V1Pod, decision: Decision & { inject: true }, ctx: Context): Injected {
  const { version, uid, dryRun, name } = ctx;
  const ops = injectionPatch(pod, decision);
  const patch = ops.length > 0 ? Buffer.from(JSON.stringify(ops)).toString("base64") : undefined;
  return {
    kind: "inject",
    status: 200,
    body: reviewBody(version, uid, patch),
    pod: name,
    path: decision.path,
    containers: decision.containers,
    initContainers: decision.initContainers,
    patchOps: ops.length,
    uid,
    dryRun,
  };
}

function answer(pod: V1Pod, decision: Decision, ctx: Context): Injected | Skipped {
  if (decision.inject) return injected(pod, decision, ctx);
  return skipped(ctx, decision.code, decision.reason, SKIPS[decision.code].ownerCanFix);
}

/** Our own failure: the pod is admitted unchanged, with a warning, and the server alerts. */
function internalError(err: unknown, ctx: Context): Allowed {
  const e = err instanceof Error ? err : new Error(String(err));
  const warning = `internal error, pod admitted without the core dump directory: ${e.message}`;
  return {
    kind: "allow",
    status: 200,
    body: reviewBody(ctx.version, ctx.uid, undefined, [warningText(warning)]),
    code: "internal-error",
    uid: ctx.uid,
    dryRun: ctx.dryRun,
    internalError: e,
    ...(ctx.name ? { pod: ctx.name } : {}),
  };
}
