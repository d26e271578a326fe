import { describe, expect, it } from "vitest";
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { decide } from "../../../src/injection.js";
import { podDetails } from "../../../plugin/tui/details.js";
import { coresLastHour, fit, visibleRows, windowStart } from "../../../plugin/tui/view.js";
import { event, NOW, pod } from "./fake.js";

describe("view helpers", () => {
  const pods = [
    pod("b", "two", { cores: 1, node: "node-2" }),
    pod("a", "one", { cores: 5 }),
    pod("a", "zzz", { optedIn: false }),
  ];

  it("filters opted-in pods by key, node or owner, and sorts", () => {
    const base = { showAll: false, filter: "", sort: "name" as const, reverse: false };
    expect(visibleRows(pods, base).map((p) => p.key)).toEqual(["a/one", "b/two"]);
    expect(visibleRows(pods, { ...base, showAll: true }).map((p) => p.key)).toEqual([
      "a/one",
      "a/zzz",
      "b/two",
    ]);
    expect(visibleRows(pods, { ...base, filter: "NODE-2" }).map((p) => p.key)).toEqual(["b/two"]);
    expect(visibleRows(pods, { ...base, sort: "cores" }).map((p) => p.key)).toEqual([
      "a/one",
      "b/two",
    ]);
    expect(visibleRows(pods, { ...base, sort: "cores", reverse: true }).map((p) => p.key)).toEqual([
      "b/two",
      "a/one",
    ]);
  });

  it("keeps the selection inside the window", () => {
    expect(windowStart(0, 0, 10, 5)).toBe(0);
    expect(windowStart(15, 0, 10, 100)).toBe(6);
    expect(windowStart(3, 6, 10, 100)).toBe(3);
    expect(windowStart(99, 0, 10, 100)).toBe(90);
    expect(windowStart(50, 200, 10, 100)).toBe(50);
  });

  it("counts captured cores of the last hour", () => {
    const events = [
      event("CoreDumpCaptured", "p", 5),
      { ...event("CoreDumpCaptured", "p", 59), count: 3 },
      event("CoreDumpUploaded", "p", 5),
      event("CoreDumpCaptured", "p", 61),
    ];
    expect(coresLastHour(events, NOW)).toBe(4);
  });

  it("fits text to a width", () => {
    expect(fit("abc", 5)).toBe("abc  ");
    expect(fit("abcdef", 4)).toBe("abc…");
  });
});

describe("podDetails", () => {
  const p: V1Pod = {
    metadata: {
      name: "api-1",
      namespace: "shop",
      uid: "u1",
      annotations: { "coredog.io/inject": "true", "coredog.io/path": "/etc", other: "x" },
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: "api-7d", uid: "r", controller: true },
      ],
    },
    spec: { containers: [{ name: "app" }] },
  };
  const ev = (reason: string, message: string, at: string, uid = "u1"): CoreV1Event => ({
    metadata: { name: `e-${at}` },
    involvedObject: { kind: "Pod", name: "api-1", namespace: "shop", uid },
    reason,
    message,
    lastTimestamp: new Date(at),
    reportingComponent: "coredog-watcher",
  });

  it("shows the webhook's decision text and the pod's cores, newest first, with their object keys", () => {
    const d = podDetails(p, undefined, [
      ev("CoreDumpCaptured", "Core dump core.a.1 captured", "2026-11-27T10:00:00Z"),
      ev(
        "CoreDumpUploaded",
        "Core dump core.a.1 uploaded to crashes/corefiles/shop/api-1/core.a.1 (size 1 MB)",
        "2026-11-27T10:01:00Z",
      ),
      ev("CoreDumpCaptured", "someone else's", "2026-11-27T10:02:00Z", "u2"),
    ]);
    // The same text the webhook logs: it comes from the shared decide().
    const webhook = decide(p);
    expect(webhook.inject).toBe(false);
    expect(d.decision).toEqual({
      inject: false,
      text: `skip: ${(webhook as { reason: string }).reason}`,
    });
    expect(d.decision.text).toContain("path=/etc is not allowed");
    expect(d.coredogAnnotations).toEqual([
      ["coredog.io/inject", "true"],
      ["coredog.io/path", "/etc"],
    ]);
    expect(d.otherAnnotations).toBe(1);
    expect(d.owner).toBe("ReplicaSet/api-7d");
    expect(d.cores.map((c) => c.reason)).toEqual(["CoreDumpUploaded", "CoreDumpCaptured"]);
    expect(d.cores[0]!.object).toBe("crashes/corefiles/shop/api-1/core.a.1");
    expect(d.cores[0]!.container).toBeUndefined();
  });

  it("names the container of each core, from the Event's fieldPath", () => {
    const e = ev(
      "CoreDumpUploaded",
      "Core dump core.a.1 uploaded to crashes/corefiles/shop/api-1/migrate/core.a.1 (container migrate)",
      "2026-11-27T10:01:00Z",
    );
    e.involvedObject.fieldPath = "spec.initContainers{migrate}";
    const d = podDetails(p, undefined, [e]);
    expect(d.cores[0]!.container).toBe("migrate");
    expect(d.cores[0]!.object).toBe("crashes/corefiles/shop/api-1/migrate/core.a.1");
  });

  it("says where the webhook would inject for a good pod", () => {
    const good = {
      ...p,
      metadata: {
        ...p.metadata,
        annotations: { "coredog.io/inject": "true", "coredog.io/path": "/corefile" },
      },
    };
    expect(podDetails(good, undefined, []).decision).toEqual({
      inject: true,
      text: "inject: /corefile in app",
    });
  });
});
