// Prometheus metrics of the webhook, on their own registry. The per-request counters only add to
// plain numbers; prom-client gets them when it collects (at each scrape), so the hot path does
// no label hashing nor validation, and a scrape still sees every request answered before it.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface WebhookMetrics {
  registry: Registry;
  request(path: string, code: number, seconds: number): void;
  decision(result: "inject" | "skip" | "allow", reason: string): void;
  error(kind: string): void;
  certReload(ok: boolean): void;
}

/** One label set of a counter: its prom-client child and what it has not been given yet. */
interface Slot {
  child: { inc(value?: number): void };
  pending: number;
}

function slot<K>(
  slots: Map<string, Map<K, Slot>>,
  a: string,
  b: K,
  child: () => Slot["child"],
): Slot {
  let inner = slots.get(a);
  if (inner === undefined) slots.set(a, (inner = new Map()));
  let s = inner.get(b);
  if (s === undefined) {
    s = { child: child(), pending: 0 };
    inner.set(b, s);
  }
  return s;
}

function flush(slots: Map<string, Map<unknown, Slot>>): void {
  for (const inner of slots.values()) {
    for (const s of inner.values()) {
      if (s.pending > 0) {
        s.child.inc(s.pending);
        s.pending = 0;
      }
    }
  }
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: "coredog_webhook_" });
  const requestSlots = new Map<string, Map<number, Slot>>();
  const decisionSlots = new Map<string, Map<string, Slot>>();
  const requests = new Counter({
    name: "coredog_webhook_requests_total",
    help: "HTTP requests answered, by path and status code",
    labelNames: ["path", "code"] as const,
    registers: [registry],
    collect: () => flush(requestSlots),
  });
  const decisions = new Counter({
    name: "coredog_webhook_decisions_total",
    help: "Admission decisions, by result (inject, skip, allow = not a pod creation) and reason code",
    labelNames: ["result", "reason"] as const,
    registers: [registry],
    collect: () => flush(decisionSlots),
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

  const mutateLatency = latency.labels();
  return {
    registry,
    request(path, code, seconds) {
      slot(requestSlots, path, code, () => requests.labels(path, String(code))).pending++;
      if (path === "/mutate") mutateLatency.observe(seconds);
    },
    decision(result, reason) {
      slot(decisionSlots, result, reason, () => decisions.labels(result, reason)).pending++;
    },
    error(kind) {
      errors.labels(kind).inc();
    },
    certReload(ok) {
      reloads.labels(ok ? "ok" : "rejected").inc();
    },
  };
}
