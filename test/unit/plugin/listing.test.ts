import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  countCores,
  isOptedIn,
  lsColumns,
  mountedContainers,
  podRow,
} from "../../../plugin/lib/listing.js";
import { age, formatTable } from "../../../plugin/lib/output.js";
import { annotationsPatch, parseKind, parseRef } from "../../../plugin/lib/workloads.js";
import { decide, injectionPatch } from "../../../src/injection.js";
import fjp from "fast-json-patch";

function pod(annotations: Record<string, string>, extra: Partial<V1Pod["spec"]> = {}): V1Pod {
  return {
    metadata: {
      name: "api-1",
      namespace: "shop",
      uid: "u1",
      annotations,
      creationTimestamp: new Date(Date.now() - 300_000),
    },
    spec: {
      nodeName: "node-1",
      containers: [
        { name: "app", image: "x" },
        { name: "side", image: "y" },
      ],
      ...extra,
    },
    status: { phase: "Running" },
  };
}

function injected(p: V1Pod): V1Pod {
  const d = decide(p);
  if (!d.inject) throw new Error(d.reason);
  return fjp.applyPatch(structuredClone(p), injectionPatch(p, d)).newDocument;
}

const event = (e: Partial<CoreV1Event>): CoreV1Event =>
  ({
    metadata: {},
    involvedObject: { uid: "u1", namespace: "shop", name: "api-1" },
    reason: "CoreDumpCaptured",
    ...e,
  }) as CoreV1Event;

describe("ls rows", () => {
  const annotations = {
    "coredog.io/inject": "true",
    "coredog.io/path": "/corefile",
    "coredog.io/container": "app",
  };

  it("says INJECTED only when the pod really mounts the node directory", () => {
    const annotated = pod(annotations);
    expect(isOptedIn(annotated)).toBe(true);
    expect(mountedContainers(annotated)).toEqual([]);
    expect(podRow(annotated, new Map()).injected).toBe(false);
    const patched = injected(annotated);
    expect(mountedContainers(patched)).toEqual(["app"]);
    const row = podRow(patched, new Map());
    expect(row).toMatchObject({
      injected: true,
      path: "/corefile",
      containers: ["app"],
      node: "node-1",
    });
  });

  it("counts captured cores from Events, aggregated counts included", () => {
    const t1 = new Date("2026-01-01T00:00:00Z");
    const t2 = new Date("2026-01-01T01:00:00Z");
    const cores = countCores([
      event({ count: 3, lastTimestamp: t1 }),
      event({ lastTimestamp: t2 }),
      event({ reason: "CoreDumpUploaded", count: 9 }),
      event({ involvedObject: { uid: "other" }, count: 5 }),
    ]);
    const row = podRow(pod(annotations), cores);
    expect(row.cores).toBe(4);
    expect(row.lastCore).toBe(t2.toISOString());
  });

  it("counts cores per container from the Events' fieldPath and shows them in CORES", () => {
    const on = (fieldPath: string, count = 1) =>
      event({
        involvedObject: { uid: "u1", namespace: "shop", name: "api-1", fieldPath },
        count,
      });
    const cores = countCores([
      on("spec.containers{worker}", 2),
      on("spec.initContainers{migrate}"),
      event({}),
    ]);
    const row = podRow(pod(annotations), cores);
    expect(row.cores).toBe(4);
    expect(row.coresByContainer).toEqual({ worker: 2, migrate: 1 });
    const cores1 = lsColumns().find((c) => c.header === "CORES")!;
    expect(cores1.value(row)).toBe("4 (migrate:1,worker:2)");
    expect(cores1.value(podRow(pod(annotations), new Map()))).toBe("0");
  });

  it("names in INJECTED the containers whose user cannot write the node directory", () => {
    const p = injected(pod(annotations));
    p.spec!.securityContext = { runAsUser: 1000 };
    const dirs = new Map([["node-1", { mode: "0755", uid: 0, gid: 0 }]]);
    const column = lsColumns().find((c) => c.header === "INJECTED")!;
    const row = podRow(p, new Map(), dirs);
    expect(row.cannotWrite).toEqual(["app"]);
    expect(column.value(row)).toBe("yes, app cannot write");
    const fixed = new Map([["node-1", { mode: "1733", uid: 0, gid: 0 }]]);
    expect(column.value(podRow(p, new Map(), fixed))).toBe("yes");
    expect(column.value(podRow(p, new Map()))).toBe("yes"); // no node state: nothing claimed
  });

  it("prints kubectl-style columns, wide ones only with -o wide", () => {
    const rows = [podRow(injected(pod(annotations)), new Map())];
    const table = formatTable(rows, lsColumns(), false);
    const [header, line] = table.split("\n");
    expect(header).toMatch(
      /^NAMESPACE\s+POD\s+PATH\s+CONTAINERS\s+INJECTED\s+NODE\s+CORES\s+LAST CORE\s+AGE$/,
    );
    expect(line).toMatch(/^shop\s+api-1\s+\/corefile\s+app\s+yes\s+node-1\s+0\s+<none>\s+5m$/);
    expect(formatTable(rows, lsColumns(), true).split("\n")[0]).toMatch(/STATUS\s+OWNER$/);
  });

  it("formats ages like kubectl", () => {
    const now = Date.parse("2026-01-10T00:00:00Z");
    expect(age(new Date(now - 30_000), now)).toBe("30s");
    expect(age(new Date(now - 30 * 60_000), now)).toBe("30m");
    expect(age(new Date(now - 5 * 3600_000), now)).toBe("5h");
    expect(age(new Date(now - 3 * 86400_000), now)).toBe("3d");
    expect(age(undefined)).toBe("<unknown>");
  });
});

describe("workload references", () => {
  it("parses kubectl's forms", () => {
    expect(parseRef("deploy/api")).toEqual({ kind: "Deployment", name: "api" });
    expect(parseRef("statefulset", "db")).toEqual({ kind: "StatefulSet", name: "db" });
    expect(parseRef("ds")).toEqual({ kind: "DaemonSet" });
    expect(parseRef("api")).toEqual({ name: "api" });
    expect(parseRef("deployments.apps/api")).toEqual({ kind: "Deployment", name: "api" });
    expect(parseKind("CJ")).toBe("CronJob");
  });

  it("refuses unknown kinds and empty names with a hint", () => {
    expect(() => parseRef("service/api")).toThrow(/not a workload CoreDog can enable/);
    expect(() => parseRef("deploy/")).toThrow(/names no object/);
  });

  it("puts the annotations where each kind keeps its pod template", () => {
    const a = { "coredog.io/inject": "true" };
    expect(annotationsPatch("Pod", a)).toEqual({ metadata: { annotations: a } });
    expect(annotationsPatch("Deployment", a)).toEqual({
      spec: { template: { metadata: { annotations: a } } },
    });
    expect(annotationsPatch("CronJob", a)).toEqual({
      spec: { jobTemplate: { spec: { template: { metadata: { annotations: a } } } } },
    });
  });
});
