// Any thrown value as one line for a log, an Event or a person: a Kubernetes API error as `HTTP <code>: <the API
// server's message>`, an Error as its message, anything else as text.

const MAX_DETAIL = 200;

function apiMessage(body: unknown): string {
  if (typeof body !== "string") return "";
  try {
    return String((JSON.parse(body) as { message?: unknown }).message ?? body);
  } catch {
    return body;
  }
}

export function errorText(err: unknown): string {
  if (
    err &&
    typeof err === "object" &&
    "code" in err &&
    typeof err.code === "number" &&
    "body" in err
  ) {
    const detail = apiMessage(err.body);
    return `HTTP ${err.code}${detail ? `: ${detail.slice(0, MAX_DETAIL)}` : ""}`;
  }
  return err instanceof Error ? err.message : String(err);
}
