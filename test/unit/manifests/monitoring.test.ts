// The monitoring overlay against the programs: every metric its alerts and dashboard use is one the watcher and
// the webhook really serve at /metrics (both started here and scraped), the PodMonitors point at the ports the
// pods name, and the dashboard is valid JSON in a ConfigMap Grafana's sidecar finds.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { V1Namespace } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebhook, type RunningWebhook } from "../../../controller/webhook/main.js";
import type { NamespaceCache } from "../../../controller/webhook/namespaces.js";
import { makeLayout, type Layout } from "../watcher/harness.js";
import { startInProcess, type InProcess } from "../watcher/in-process.js";
import { logCollector, makeCA, makeCert, send, tempDir } from "../webhook/helpers.js";
import { find, kustomize, repoRoot, type K8sObject } from "./render.js";

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are plain JSON */

const DIR = "manifests/overlays/monitoring";
/** Metrics of other programs the alerts rely on: kube-state-metrics, the API server, Prometheus itself. */
const EXTERNAL = new Set([
  "kube_daemonset_status_number_unavailable",
  "kube_daemonset_status_desired_number_scheduled",
  "kube_node_info",
  "apiserver_admission_webhook_fail_open_count",
  "up",
]);
const PROMQL_WORDS = new Set(
  "sum max min count avg rate increase histogram_quantile absent by on unless and or without group_left le".split(
    " ",
  ),
);

let watcher: InProcess;
let layout: Layout;
let hook: RunningWebhook;
let exported: Set<string>;

/** Metric names in an exposition (histograms' _bucket/_sum/_count included). */
function names(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^# TYPE (\S+) (\w+)/.exec(line);
    if (!m) continue;
    out.push(m[1]!);
    if (m[2] === "histogram") out.push(`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`);
  }
  return out;
}

/** The metric names an expression reads: identifiers that are not PromQL words, label names or strings. */
function metricsIn(expr: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, "");
  const noGroups = noStrings.replace(/\b(by|on|without|group_left)\s*\([^)]*\)/g, "");
  const noLabels = noGroups.replace(/\{[^}]*\}/g, "");
  const ids = noLabels.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return ids.filter((id) => !PROMQL_WORDS.has(id) && !/^\d/.test(id));
}

beforeAll(async () => {
  layout = makeLayout("cdw-monitoring-");
  watcher = await startInProcess(layout, "");
  const dir = tempDir();
  const ca = makeCA(dir);
  const cert = makeCert(ca, "serving");
  const config = join(dir, "config.yaml");
  writeFileSync(config, "");
  const namespaces: NamespaceCache = {
    synced: () => true,
    cached: (name) => ({ metadata: { name } }) as V1Namespace,
    fetch: async (name) => ({ metadata: { name } }) as V1Namespace,
    stop: async () => {},
  };
  hook = await startWebhook(
    {
      host: "127.0.0.1",
      port: 0,
      tlsCert: cert.certFile,
      tlsKey: cert.keyFile,
      config,
      kubeconfig: undefined,
      logFormat: "logfmt",
      logLevel: "info",
    },
    { write: logCollector().write, namespaces },
  );
  const watcherText = await (await fetch(`http://${watcher.w.address}/metrics`)).text();
  const webhookText = (await send(hook.port, { ca: ca.pem, method: "GET", path: "/metrics" })).body;
  exported = new Set([...names(watcherText), ...names(webhookText)]);
}, 60_000);

afterAll(async () => {
  await watcher?.w.stop();
  await hook?.stop(1000);
  rmSync(layout.root, { recursive: true, force: true });
});

describe("the monitoring overlay", () => {
  const objects: K8sObject[] = kustomize(DIR);
  const rule = find(objects, "PrometheusRule", "coredog") as any;
  const dashboardCm = find(objects, "ConfigMap", "coredog-dashboard") as any;
  const dashboard = JSON.parse(dashboardCm.data["coredog-dashboard.json"]);
  const ruleExprs: string[] = rule.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.expr));
  const panelExprs: string[] = dashboard.panels.flatMap((p: any) =>
    p.targets.map((t: any) => t.expr),
  );

  it("scrapes both programs for real (sanity: the names are there)", () => {
    expect(exported).toContain("coredog_watcher_cores_uploaded_total");
    expect(exported).toContain("coredog_watcher_cores_skipped_total");
    expect(exported).toContain("coredog_watcher_dir_bytes");
    expect(exported).toContain("coredog_webhook_errors_total");
  });

  it("every metric in the alerts and the dashboard is exported by the watcher or the webhook (or is a known external one)", () => {
    const used = new Set([...ruleExprs, ...panelExprs].flatMap(metricsIn));
    expect(used.size).toBeGreaterThan(10);
    const missing = [...used].filter((n) => !exported.has(n) && !EXTERNAL.has(n));
    expect(missing).toEqual([]);
    for (const n of used) if (!n.startsWith("coredog_")) expect(EXTERNAL).toContain(n);
  });

  it("the name extraction sees a misspelt metric", () => {
    const used = metricsIn(
      'sum by (node) (rate(coredog_watcher_cores_stored_totl{limit="x"}[5m])) > 0',
    );
    expect(used).toEqual(["coredog_watcher_cores_stored_totl"]);
    expect(exported.has(used[0]!)).toBe(false);
  });

  it("alerts on the disk limit, failing uploads, webhook errors or failing open, and missing watchers", () => {
    const alerts = rule.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert));
    expect(alerts).toEqual(
      expect.arrayContaining([
        "CoreDogDiskLimitReached",
        "CoreDogUploadsFailing",
        "CoreDogWebhookErrors",
        "CoreDogWebhookFailingOpen",
        "CoreDogWatcherMissing",
      ]),
    );
    for (const r of rule.spec.groups.flatMap((g: any) => g.rules)) {
      expect(r.annotations.summary, r.alert).toBeTruthy();
      expect(["info", "warning", "critical"], r.alert).toContain(r.labels.severity);
    }
  });

  it("scrapes the ports the watcher and the webhook pods name", () => {
    const port = (kind: string, name: string) =>
      (find(objects, kind, name) as any).spec.template.spec.containers[0].ports.map(
        (p: any) => p.name,
      );
    const pw = find(objects, "PodMonitor", "coredog-watcher") as any;
    const pk = find(objects, "PodMonitor", "coredog-webhook") as any;
    expect(port("DaemonSet", "coredog-watcher")).toContain(pw.spec.podMetricsEndpoints[0].port);
    expect(port("Deployment", "coredog-webhook")).toContain(pk.spec.podMetricsEndpoints[0].port);
    expect(pk.spec.podMetricsEndpoints[0].scheme).toBe("https");
    const ds = find(objects, "DaemonSet", "coredog-watcher") as any;
    for (const [k, v] of Object.entries(pw.spec.selector.matchLabels))
      expect(ds.spec.template.metadata.labels[k]).toBe(v);
  });

  it("ships the dashboard as JSON for Grafana's sidecar, the same as the file", () => {
    expect(dashboardCm.metadata.labels.grafana_dashboard).toBe("1");
    expect(dashboard.uid).toBe("coredog");
    expect(panelExprs.length).toBeGreaterThan(8);
    const file = readFileSync(join(repoRoot, DIR, "coredog-dashboard.json"), "utf8");
    expect(JSON.parse(file)).toEqual(dashboard);
  });
});
