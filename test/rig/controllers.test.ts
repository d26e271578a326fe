// The controllers' pure helpers: node matching, selectors, template hashes, rollout arithmetic.
import type { V1Node, V1PodSpec } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { Expectations } from "./controllers/context.js";
import { daemonPodNode, shouldRunOn } from "./controllers/daemonset.js";
import {
  scaledValue,
  selectorMatches,
  setCondition,
  templateHash,
  type Condition,
} from "./controllers/kube.js";
import {
  nodeReady,
  nodeSelectorMatches,
  podFitsNode,
  taintsTolerated,
} from "./controllers/node-match.js";

const node = (
  name: string,
  labels: Record<string, string> = {},
  extra: Partial<V1Node> = {},
): V1Node => ({
  metadata: { name, labels: { "kubernetes.io/hostname": name, ...labels } },
  status: { conditions: [{ type: "Ready", status: "True" }] },
  ...extra,
});
const spec = (s: Partial<V1PodSpec>): V1PodSpec => ({ containers: [{ name: "c" }], ...s });

describe("node matching", () => {
  it("nodeSelector needs every label", () => {
    expect(
      nodeSelectorMatches(spec({ nodeSelector: { a: "1" } }), node("n", { a: "1", b: "2" })),
    ).toBe(true);
    expect(
      nodeSelectorMatches(spec({ nodeSelector: { a: "1", c: "3" } }), node("n", { a: "1" })),
    ).toBe(false);
    expect(nodeSelectorMatches(spec({}), node("n"))).toBe(true);
  });

  it("required node affinity: terms are ORed, expressions ANDed, matchFields on metadata.name", () => {
    const affinity = (terms: object[]) =>
      spec({
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms },
          },
        },
      });
    const n = node("n1", { zone: "a", gpu: "yes", size: "8" });
    expect(
      nodeSelectorMatches(
        affinity([{ matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }] }]),
        n,
      ),
    ).toBe(true);
    expect(
      nodeSelectorMatches(
        affinity([{ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }]),
        n,
      ),
    ).toBe(false);
    expect(
      nodeSelectorMatches(
        affinity([{ matchExpressions: [{ key: "gpu", operator: "Exists" }] }]),
        n,
      ),
    ).toBe(true);
    expect(
      nodeSelectorMatches(
        affinity([{ matchExpressions: [{ key: "gpu", operator: "DoesNotExist" }] }]),
        n,
      ),
    ).toBe(false);
    expect(
      nodeSelectorMatches(
        affinity([{ matchExpressions: [{ key: "size", operator: "Gt", values: ["4"] }] }]),
        n,
      ),
    ).toBe(true);
    expect(
      nodeSelectorMatches(
        affinity([
          { matchExpressions: [{ key: "zone", operator: "In", values: ["z"] }] },
          { matchFields: [{ key: "metadata.name", operator: "In", values: ["n1"] }] },
        ]),
        n,
      ),
    ).toBe(true);
    expect(nodeSelectorMatches(affinity([{}]), n)).toBe(false);
  });

  it("NoSchedule/NoExecute taints need a toleration; unschedulable nodes and NotReady nodes are filtered", () => {
    const tainted = node(
      "t",
      {},
      { spec: { taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] } },
    );
    expect(taintsTolerated(spec({}), tainted)).toBe(false);
    expect(
      taintsTolerated(
        spec({ tolerations: [{ key: "dedicated", operator: "Equal", value: "db" }] }),
        tainted,
      ),
    ).toBe(true);
    expect(taintsTolerated(spec({ tolerations: [{ operator: "Exists" }] }), tainted)).toBe(true);
    expect(
      taintsTolerated(spec({ tolerations: [{ key: "dedicated", value: "web" }] }), tainted),
    ).toBe(false);
    const soft = node("s", {}, { spec: { taints: [{ key: "x", effect: "PreferNoSchedule" }] } });
    expect(taintsTolerated(spec({}), soft)).toBe(true);
    expect(podFitsNode(spec({}), node("u", {}, { spec: { unschedulable: true } }))).toBe(false);
    const notReady = node(
      "r",
      {},
      { status: { conditions: [{ type: "Ready", status: "False" }] } },
    );
    expect(nodeReady(notReady)).toBe(false);
    expect(podFitsNode(spec({}), notReady)).toBe(false);
  });

  it("a DaemonSet runs on cordoned nodes (its default tolerations) but not where its selector fails", () => {
    const ds = {
      spec: { selector: {}, template: { spec: spec({ nodeSelector: { role: "agent" } }) } },
    };
    expect(shouldRunOn(ds, node("a", { role: "agent" }, { spec: { unschedulable: true } }))).toBe(
      true,
    );
    expect(shouldRunOn(ds, node("b"))).toBe(false);
    expect(
      daemonPodNode({
        spec: spec({
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  { matchFields: [{ key: "metadata.name", operator: "In", values: ["n7"] }] },
                ],
              },
            },
          },
        }),
      }),
    ).toBe("n7");
  });
});

describe("helpers", () => {
  it("label selectors: empty selects nothing, expressions work", () => {
    expect(selectorMatches({}, { a: "1" })).toBe(false);
    expect(selectorMatches(undefined, { a: "1" })).toBe(false);
    expect(selectorMatches({ matchLabels: { a: "1" } }, { a: "1", b: "2" })).toBe(true);
    expect(
      selectorMatches(
        { matchExpressions: [{ key: "a", operator: "NotIn", values: ["1"] }] },
        { a: "1" },
      ),
    ).toBe(false);
    expect(
      selectorMatches({ matchExpressions: [{ key: "b", operator: "DoesNotExist" }] }, { a: "1" }),
    ).toBe(true);
  });

  it("template hashes ignore dates, key order and dropped labels, and change with the template", () => {
    const raw = {
      metadata: {
        labels: { app: "x", "pod-template-hash": "abc" },
        creationTimestamp: "2026-01-01T00:00:00Z",
      },
      spec: { containers: [{ name: "c", image: "i" }] },
    };
    const typed = {
      spec: { containers: [{ image: "i", name: "c" }] },
      metadata: { creationTimestamp: new Date("2026-01-01T00:00:00Z"), labels: { app: "x" } },
    };
    const h = templateHash(raw as never, ["pod-template-hash"]);
    expect(h).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    expect(templateHash(typed as never, ["pod-template-hash"])).toBe(h);
    const restarted = {
      ...raw,
      metadata: { ...raw.metadata, annotations: { "kubectl.kubernetes.io/restartedAt": "now" } },
    };
    expect(templateHash(restarted as never, ["pod-template-hash"])).not.toBe(h);
    expect(templateHash(raw as never, ["pod-template-hash"], 1)).not.toBe(h);
  });

  it("maxSurge/maxUnavailable percentages round as Kubernetes does", () => {
    expect(scaledValue(undefined, 3, true, "25%")).toBe(1);
    expect(scaledValue(undefined, 3, false, "25%")).toBe(0);
    expect(scaledValue("50%", 5, false, "25%")).toBe(2);
    expect(scaledValue(2, 5, true, "25%")).toBe(2);
    expect(scaledValue("3", 5, true, "25%")).toBe(3);
  });

  it("conditions keep lastTransitionTime while their status stays", () => {
    const first = setCondition<Condition>([], { type: "Available", status: "True", reason: "A" });
    const t = first[0]!.lastTransitionTime;
    const same = setCondition(first, { type: "Available", status: "True", reason: "A" });
    expect(same[0]!.lastTransitionTime).toBe(t);
    const flipped = setCondition<Condition>(
      [{ ...first[0]!, lastTransitionTime: "2000-01-01T00:00:00Z" }],
      {
        type: "Available",
        status: "False",
        reason: "B",
      },
    );
    expect(flipped[0]!.lastTransitionTime).not.toBe("2000-01-01T00:00:00Z");
    expect(flipped).toHaveLength(1);
  });

  it("expectations hold until the cache shows the controller's own writes", () => {
    const e = new Expectations();
    e.created("u", "p1");
    e.deleted("u", "p0");
    const p0 = { metadata: { name: "p0" } };
    const p1 = { metadata: { name: "p1" } };
    expect(e.satisfied("u", [p0])).toBe(false); // p1 not seen, p0 still there
    expect(e.satisfied("u", [p0, p1])).toBe(false); // p0 still there
    expect(
      e.satisfied("u", [{ metadata: { name: "p0", deletionTimestamp: new Date() } }, p1]),
    ).toBe(true);
    expect(e.satisfied("other", [])).toBe(true);
  });
});
