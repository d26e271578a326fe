// Prometheus metrics of the webhook, on their own registry. Label children are cached so the
// hot path does no label hashing.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface WebhookMetrics {
  registry: Registry;
  request(path: string, code: number, seconds: number): void;
  decision(result: "inject" | "skip" | "allow", reason: string): void;
  error(kind: string): void;
  certReload(ok: boolean): void;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: "coredog_webhook_" });
  const requests = new Counter({
    name: "coredog_webhook_requests_total",
    help: "HTTP requests answered, by path and status code",
    labelNames: ["path", "code"] as const,
    registers: [registry],
  });
  const decisions = new Counter({
    name: "coredog_webhook_decisions_total",
    help: "Admission decisions, by result (inject, skip, allow = not a pod creation) and reason code",
    labelNames: ["result", "reason"] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: "coredog_webhook_errors_total",
    help: "Errors, by kind (bad-request, internal, pod-security-lookup, ...)",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "coredog_webhook_request_duration_seconds",
    help: "Time to answer /mutate, from request start to response end",
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5],
    registers: [registry],
  });
  const reloads = new Counter({
    name: "coredog_webhook_certificate_reloads_total",
    help: "Certificate reloads, by result",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "coredog_webhook_info",
    help: "Always 1",
    registers: [registry],
  }).set(1);

  const requestChildren = new Map<string, ReturnType<typeof requests.labels>>();
  const decisionChildren = new Map<string, ReturnType<typeof decisions.labels>>();
  return {
    registry,
    request(path, code, seconds) {
      const k = `${path} ${code}`;
      let c = requestChildren.get(k);
      if (!c) requestChildren.set(k, (c = requests.labels(path, String(code))));
      c.inc();
      if (path === "/mutate") latency.observe(seconds);
    },
    decision(result, reason) {
      const k = `${result} ${reason}`;
      let c = decisionChildren.get(k);
      if (!c) decisionChildren.set(k, (c = decisions.labels(result, reason)));
      c.inc();
    },
    error(kind) {
      errors.labels(kind).inc();
    },
    certReload(ok) {
      reloads.labels(ok ? "ok" : "rejected").inc();
    },
  };
}
