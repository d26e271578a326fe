// Turns whatever went wrong into one sentence for a person, and what to do about it.

export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "UserError";
  }
}

interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
}

function statusBody(body: unknown): StatusBody | undefined {
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return body.trim() ? { message: body.trim() } : undefined;
    }
  }
  if (body && typeof body === "object") return body as StatusBody;
  return undefined;
}

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Explains an error from the Kubernetes client or the network; undefined when it is not one of those. */
export function explainKubeError(err: unknown, server?: string): UserError | undefined {
  if (err instanceof UserError) return err;
  const where = server ? ` at ${server}` : "";
  const code = errorCode(err);
  if (
    code === "ECONNREFUSED" ||
    code === "EHOSTUNREACH" ||
    code === "ENOTFOUND" ||
    code === "ETIMEDOUT"
  ) {
    return new UserError(
      `cannot reach the Kubernetes API server${where} (${code})`,
      "check that the cluster is running and that --context / --kubeconfig point at it",
    );
  }
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new UserError(
      `the API server's certificate${where} is not trusted (${code})`,
      "check the certificate-authority data of this context in your kubeconfig",
    );
  }
  // undici's "fetch failed" with a cause it has no code for (a refused port number, a bad URL).
  if (err instanceof TypeError && err.message === "fetch failed") {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    return new UserError(
      `cannot reach the Kubernetes API server${where}${cause ? ` (${cause})` : ""}`,
      "check that the cluster is running and that --context / --kubeconfig point at it",
    );
  }
  const status = (err as { code?: unknown })?.code;
  if (typeof status === "number" && status >= 400) {
    const body = statusBody((err as { body?: unknown }).body);
    const message = body?.message ?? `the API server answered HTTP ${status}`;
    switch (status) {
      case 401:
        return new UserError(
          `the API server${where} did not accept your credentials: ${message}`,
          "log in again or pick another --context",
        );
      case 403:
        return new UserError(
          message,
          "ask a cluster administrator for the RBAC permission named above",
        );
      case 404:
        return new UserError(message);
      case 409:
        return new UserError(message, "someone changed it at the same time: try again");
      default:
        return new UserError(message);
    }
  }
  return undefined;
}
