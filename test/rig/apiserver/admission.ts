// Admission webhooks called the way kube-apiserver calls them (AdmissionReview v1 over verified HTTPS).
import { randomUUID } from "node:crypto";
import { request as httpsRequest } from "node:https";
import { checkServerIdentity as tlsCheckServerIdentity, type PeerCertificate } from "node:tls";
import fjp from "fast-json-patch";
import type { Operation } from "fast-json-patch";
import { matchMetaSelector, type MetaLabelSelector } from "./selectors.js";
import { StatusError } from "./status.js";
import { apiVersionOf, type ResourceInfo } from "./resources.js";
import { stableStringify, type KubeObject, type Store } from "./store.js";
import type { UserInfo } from "./rbac.js";

type AnyObj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export type Operation_ = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

export interface AdmissionAttributes {
  info: ResourceInfo;
  subresource?: string;
  operation: Operation_;
  namespace?: string;
  name: string;
  object?: KubeObject;
  oldObject?: KubeObject;
  user: UserInfo;
  dryRun: boolean;
  options?: AnyObj;
}

interface Webhook {
  name: string;
  clientConfig: {
    url?: string;
    caBundle?: string;
    service?: { namespace: string; name: string; path?: string; port?: number };
  };
  rules?: {
    operations?: string[];
    apiGroups?: string[];
    apiVersions?: string[];
    resources?: string[];
    scope?: string;
  }[];
  failurePolicy?: string;
  namespaceSelector?: MetaLabelSelector;
  objectSelector?: MetaLabelSelector;
  timeoutSeconds?: number;
  reinvocationPolicy?: string;
}

export interface AdmissionLog {
  (msg: string): void;
}

function ruleMatches(w: Webhook, a: AdmissionAttributes): boolean {
  const res = a.subresource ? `${a.info.resource}/${a.subresource}` : a.info.resource;
  return (w.rules ?? []).some((r) => {
    const ops = r.operations ?? [];
    if (!ops.includes("*") && !ops.includes(a.operation)) return false;
    const groups = r.apiGroups ?? [];
    if (!groups.includes("*") && !groups.includes(a.info.group)) return false;
    const versions = r.apiVersions ?? [];
    if (!versions.includes("*") && !versions.includes(a.info.version)) return false;
    const scope = r.scope ?? "*";
    if (scope === "Cluster" && a.info.namespaced) return false;
    if (scope === "Namespaced" && !a.info.namespaced) return false;
    return (r.resources ?? []).some((x) => {
      if (x === "*/*") return true;
      if (x === "*") return !a.subresource;
      if (x === res) return true;
      const [xr, xs] = x.split("/");
      if (xs === undefined) return false;
      if (xr === "*" && xs === a.subresource) return true;
      if (xr === a.info.resource && xs === "*" && a.subresource) return true;
      return false;
    });
  });
}

function selectorsMatch(w: Webhook, a: AdmissionAttributes, store: Store): boolean {
  if (a.info.resource === "namespaces" && !a.info.group) {
    const labels = (a.object ?? a.oldObject)?.metadata.labels;
    if (!matchMetaSelector(w.namespaceSelector, labels)) return false;
  } else if (a.info.namespaced && a.namespace) {
    const ns = store.get("namespaces", undefined, a.namespace);
    if (!matchMetaSelector(w.namespaceSelector, ns?.metadata.labels)) return false;
  }
  const objOk = matchMetaSelector(w.objectSelector, a.object?.metadata.labels);
  const oldOk = a.oldObject
    ? matchMetaSelector(w.objectSelector, a.oldObject.metadata.labels)
    : false;
  return objOk || oldOk;
}

class CallError extends Error {}

interface Target {
  url: URL;
  shownUrl: string;
  servername: string;
  host: string;
  port: number;
}

function resolveTarget(w: Webhook, store: Store): Target {
  const timeout = w.timeoutSeconds ?? 10;
  const cc = w.clientConfig;
  if (cc.url) {
    const u = new URL(cc.url);
    u.searchParams.set("timeout", `${timeout}s`);
    return {
      url: u,
      shownUrl: u.toString(),
      servername: u.hostname,
      host: u.hostname,
      port: Number(u.port || 443),
    };
  }
  const s = cc.service;
  if (!s) throw new CallError("neither url nor service is set");
  const port = s.port ?? 443;
  const dns = `${s.name}.${s.namespace}.svc`;
  const shown = `https://${dns}:${port}${s.path ?? ""}?timeout=${timeout}s`;
  const svc = store.get<KubeObject & AnyObj>("services", s.namespace, s.name);
  if (!svc)
    throw new CallError(`failed to call webhook: Post "${shown}": service "${s.name}" not found`);
  const sp = (svc.spec?.ports ?? []).find((p: AnyObj) => p.port === port);
  if (!sp)
    throw new CallError(`failed to call webhook: Post "${shown}": service port ${port} not found`);
  const sel = svc.spec?.selector as Record<string, string> | undefined;
  const pods = sel
    ? store
        .list<KubeObject & AnyObj>("pods", s.namespace)
        .filter((p) => matchMetaSelector({ matchLabels: sel }, p.metadata.labels))
        .filter((p) => !p.metadata.deletionTimestamp && p.status?.podIP)
        .filter((p) =>
          (p.status?.conditions ?? []).some(
            (c: AnyObj) => c.type === "Ready" && c.status === "True",
          ),
        )
    : [];
  const pod = pods[Math.floor(Math.random() * pods.length)];
  if (!pod)
    throw new CallError(
      `failed to call webhook: Post "${shown}": no endpoints available for service "${s.name}"`,
    );
  let target = sp.targetPort ?? port;
  if (typeof target === "string") {
    const named = (pod.spec?.containers ?? [])
      .flatMap((c: AnyObj) => c.ports ?? [])
      .find((p: AnyObj) => p.name === target);
    if (!named)
      throw new CallError(
        `failed to call webhook: Post "${shown}": no endpoints available for service "${s.name}"`,
      );
    target = named.containerPort;
  }
  const ip = pod.status.podIP as string;
  const u = new URL(`https://${ip}:${target}${s.path ?? ""}`);
  u.searchParams.set("timeout", `${timeout}s`);
  return { url: u, shownUrl: shown, servername: dns, host: ip, port: Number(target) };
}

function goError(
  err: NodeJS.ErrnoException & { reason?: string; host?: string },
  t: Target,
): string {
  const code = err.code ?? "";
  if (
    [
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "SELF_SIGNED_CERT_IN_CHAIN",
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      "UNABLE_TO_GET_ISSUER_CERT",
      "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
      "CERT_SIGNATURE_FAILURE",
    ].includes(code)
  ) {
    return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
    return `tls: failed to verify certificate: x509: certificate is not valid for ${t.servername}: ${err.reason ?? err.message}`;
  if (code === "CERT_HAS_EXPIRED")
    return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid";
  if (code === "ECONNREFUSED") return `dial tcp ${t.host}:${t.port}: connect: connection refused`;
  if (code === "ECONNRESET") return "read: connection reset by peer";
  return err.message;
}

async function post(w: Webhook, t: Target, body: string): Promise<AnyObj> {
  const timeoutMs = (w.timeoutSeconds ?? 10) * 1000;
  const ca = w.clientConfig.caBundle
    ? Buffer.from(w.clientConfig.caBundle, "base64").toString("utf8")
    : undefined;
  const prefix = `failed to call webhook: Post "${t.shownUrl}"`;
  return await new Promise<AnyObj>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        fn();
      }
    };
    const req = httpsRequest(
      {
        host: t.host,
        port: t.port,
        path: `${t.url.pathname}${t.url.search}`,
        method: "POST",
        servername: /^\d+\.\d+\.\d+\.\d+$/.test(t.servername) ? undefined : t.servername,
        ...(ca ? { ca } : {}),
        checkServerIdentity: (_host, cert) => {
          // Verify against the service DNS name (or the URL host), not the pod IP we dialled.
          return tlsCheck(t.servername, cert);
        },
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json, */*",
          "Content-Length": Buffer.byteLength(body),
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          finish(() => {
            const text = Buffer.concat(chunks).toString("utf8");
            if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
              reject(
                new CallError(
                  `received invalid webhook response: expected response code 200, got ${res.statusCode}: ${text.slice(0, 300)}`,
                ),
              );
              return;
            }
            try {
              resolve(JSON.parse(text) as AnyObj);
            } catch (e) {
              reject(new CallError(`received invalid webhook response: ${(e as Error).message}`));
            }
          }),
        );
        res.on("error", (e) => finish(() => reject(new CallError(`${prefix}: ${e.message}`))));
      },
    );
    const timer = setTimeout(() => {
      finish(() => reject(new CallError(`${prefix}: context deadline exceeded`)));
      req.destroy();
    }, timeoutMs);
    req.on("error", (e) =>
      finish(() => reject(new CallError(`${prefix}: ${goError(e as NodeJS.ErrnoException, t)}`))),
    );
    req.end(body);
  });
}

function tlsCheck(name: string, cert: PeerCertificate): Error | undefined {
  return tlsCheckServerIdentity(name, cert);
}

function review(a: AdmissionAttributes, object: KubeObject | undefined): AnyObj {
  const gvk = {
    group: a.info.group,
    version: a.info.version,
    kind: a.subresource === "scale" ? "Scale" : a.info.kind,
  };
  const gvr = { group: a.info.group, version: a.info.version, resource: a.info.resource };
  const optionsKind = {
    CREATE: "CreateOptions",
    UPDATE: "UpdateOptions",
    DELETE: "DeleteOptions",
    CONNECT: "",
  }[a.operation];
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: randomUUID(),
      kind: gvk,
      resource: gvr,
      ...(a.subresource ? { subResource: a.subresource, requestSubResource: a.subresource } : {}),
      requestKind: gvk,
      requestResource: gvr,
      name: a.name,
      ...(a.namespace ? { namespace: a.namespace } : {}),
      operation: a.operation,
      userInfo: {
        username: a.user.username,
        ...(a.user.uid ? { uid: a.user.uid } : {}),
        groups: a.user.groups,
      },
      object: object ?? null,
      oldObject: a.oldObject ?? null,
      dryRun: a.dryRun,
      options: { apiVersion: "meta.k8s.io/v1", kind: optionsKind, ...(a.options ?? {}) },
    },
  };
}

function webhooksOf(store: Store, resource: string): (Webhook & { configuration: string })[] {
  const configs = store.list<KubeObject & { webhooks?: Webhook[] }>(resource);
  configs.sort((x, y) => (x.metadata.name ?? "").localeCompare(y.metadata.name ?? ""));
  return configs.flatMap((c) =>
    (c.webhooks ?? []).map((w) => ({ ...w, configuration: c.metadata.name ?? "" })),
  );
}

/**
 * Runs every matching mutating webhook; returns the patched object and the warnings to pass on.
 * `redefault` re-applies scheme defaults after each patch (as kube-apiserver's decode does).
 */
export async function runMutatingWebhooks(
  store: Store,
  a: AdmissionAttributes,
  redefault: (o: KubeObject) => void,
  log: AdmissionLog,
): Promise<{ object: KubeObject | undefined; warnings: string[] }> {
  const hooks = webhooksOf(store, "mutatingwebhookconfigurations.admissionregistration.k8s.io");
  let object = a.object ? structuredClone(a.object) : undefined;
  const warnings: string[] = [];
  let version = 0;
  const invokedAt = new Map<number, number>();
  const callOne = async (w: Webhook, i: number): Promise<void> => {
    const attrs = { ...a, object };
    if (!ruleMatches(w, attrs) || !selectorsMatch(w, attrs, store)) return;
    invokedAt.set(i, version);
    const response = await call(store, w, attrs, object, log);
    if (!response) return;
    warnings.push(...((response.warnings as string[] | undefined) ?? []));
    if (response.patch && object) {
      if (response.patchType !== "JSONPatch") {
        throw new StatusError(
          500,
          "InternalError",
          `Internal error occurred: unsupported patch type "${response.patchType}"`,
        );
      }
      let ops: Operation[];
      try {
        ops = JSON.parse(
          Buffer.from(response.patch as string, "base64").toString("utf8"),
        ) as Operation[];
      } catch (e) {
        throw new StatusError(
          500,
          "InternalError",
          `Internal error occurred: failed to decode patch of webhook "${w.name}": ${(e as Error).message}`,
        );
      }
      let patched: KubeObject;
      try {
        patched = fjp.applyPatch(structuredClone(object), ops, true, false).newDocument;
      } catch (e) {
        throw new StatusError(
          500,
          "InternalError",
          `Internal error occurred: ${(e as Error).message}`,
        );
      }
      redefault(patched);
      if (stableStringify(patched) !== stableStringify(object)) {
        object = patched;
        version++;
        invokedAt.set(i, version);
      }
    }
  };
  for (const [i, w] of hooks.entries()) await callOne(w, i);
  // reinvocationPolicy: IfNeeded — call again once if a later webhook changed the object after this one ran.
  for (const [i, w] of hooks.entries()) {
    if (w.reinvocationPolicy !== "IfNeeded") continue;
    const at = invokedAt.get(i);
    if (at !== undefined && at < version) await callOne(w, i);
  }
  return { object, warnings };
}

export async function runValidatingWebhooks(
  store: Store,
  a: AdmissionAttributes,
  log: AdmissionLog,
): Promise<string[]> {
  const warnings: string[] = [];
  for (const w of webhooksOf(
    store,
    "validatingwebhookconfigurations.admissionregistration.k8s.io",
  )) {
    if (!ruleMatches(w, a) || !selectorsMatch(w, a, store)) continue;
    const response = await call(store, w, a, a.object, log);
    warnings.push(...((response?.warnings as string[] | undefined) ?? []));
  }
  return warnings;
}

/** Calls one webhook; returns its response, or undefined when the call failed and failurePolicy is Ignore. */
async function call(
  store: Store,
  w: Webhook,
  a: AdmissionAttributes,
  object: KubeObject | undefined,
  log: AdmissionLog,
): Promise<AnyObj | undefined> {
  const rv = review(a, object);
  let out: AnyObj;
  try {
    const target = resolveTarget(w, store);
    out = await post(w, target, JSON.stringify(rv));
    const resp = out.response as AnyObj | undefined;
    if (!resp) throw new CallError("received invalid webhook response: response is nil");
    if (resp.uid !== rv.request.uid) {
      throw new CallError(
        `received invalid webhook response: expected response.uid="${rv.request.uid}", got "${resp.uid ?? ""}"`,
      );
    }
  } catch (e) {
    const msg = (e as Error).message;
    if (w.failurePolicy === "Ignore") {
      log(`failed calling webhook "${w.name}" (failurePolicy Ignore): ${msg}`);
      return undefined;
    }
    throw new StatusError(
      500,
      "InternalError",
      `Internal error occurred: failed calling webhook "${w.name}": ${msg}`,
    );
  }
  const resp = out.response as AnyObj;
  if (!resp.allowed) {
    const st = (resp.status ?? {}) as AnyObj;
    const denied = `admission webhook "${w.name}" denied the request`;
    const message = st.message
      ? `${denied}: ${st.message}`
      : st.reason
        ? `${denied}: ${st.reason}`
        : `${denied} without explanation`;
    const code = typeof st.code === "number" && st.code >= 400 ? st.code : 400;
    throw new StatusError(code, st.reason ?? "", message);
  }
  return resp;
}

export { apiVersionOf };
