// review() on its own, without TLS or HTTP: one AdmissionReview text in, one kind of answer out.
import type { V1Namespace } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  review,
  type NamespaceLookup,
  type Outcome,
} from "../../../controller/webhook/admission.js";
import { admissionReview, deploymentPod, patchOf } from "./helpers.js";

const UID = "705ab4f5-6393-11e8-b7cc-42010a800002";
const shop: V1Namespace = { metadata: { name: "shop" } };
const restricted: V1Namespace = {
  metadata: { name: "shop", labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
};

function lookup(
  cached: V1Namespace | undefined,
  fetched?: () => Promise<V1Namespace | undefined>,
): NamespaceLookup {
  return { cached: () => cached, fetch: fetched ?? (async () => cached) };
}

async function answer(text: string, namespaces = lookup(shop)): Promise<Outcome> {
  return await review(text, namespaces);
}

function body(o: Outcome): {
  apiVersion: string;
  response: { uid: string; allowed: boolean; warnings?: string[] };
} {
  return JSON.parse(o.body) as never;
}

describe("review", () => {
  it("injects: a JSON patch for the opted-in pod, answered in the same turn when the namespace is cached", () => {
    const o = review(admissionReview(deploymentPod()), lookup(shop));
    expect(o).not.toBeInstanceOf(Promise);
    const r = o as Outcome;
    expect(r).toMatchObject({
      kind: "inject",
      status: 200,
      uid: UID,
      path: "/corefile",
      dryRun: false,
    });
    if (r.kind !== "inject") throw new Error("unreachable");
    expect(r.containers).toEqual(["app", "sidecar"]);
    expect(r.patchOps).toBe(patchOf(body(r))!.length);
    expect(body(r).response).toMatchObject({ uid: UID, allowed: true });
    expect(body(r).response.warnings).toBeUndefined();
  });

  it("recognises the annotation keys however the JSON text escapes them", async () => {
    const plain = admissionReview(deploymentPod());
    const escaped = [
      plain.replaceAll('"coredog.io/inject"', '"coredog.io\\/inject"'),
      plain.replaceAll('"coredog.io/inject"', '"\\u0063oredog.io\\u002finject"'),
      plain.replaceAll('"coredog.io/path"', '"coredog.io\\/path"'),
    ];
    const want = await answer(plain);
    expect(want.kind).toBe("inject");
    for (const text of escaped) {
      expect(text).not.toBe(plain);
      expect(await answer(text)).toEqual(want);
    }
  });

  it("answers a pod that has not opted in at once, without looking its namespace up", () => {
    let fetched = 0;
    const pod = deploymentPod({ annotations: { team: "shop" } });
    const o = review(
      admissionReview(pod),
      lookup(undefined, async () => {
        fetched++;
        return shop;
      }),
    );
    expect(o).not.toBeInstanceOf(Promise);
    expect((o as Outcome).kind).toBe("skip");
    expect(fetched).toBe(0);
  });

  it("echoes the AdmissionReview version it was asked in", async () => {
    const o = await answer(admissionReview(deploymentPod(), { version: "v1beta1" }));
    expect(body(o).apiVersion).toBe("admission.k8s.io/v1beta1");
  });

  it("skips with the guide's reason; only skips the owner can fix carry a warning", async () => {
    const none = await answer(admissionReview(deploymentPod({ annotations: {} })));
    expect(none).toMatchObject({
      kind: "skip",
      code: "no-annotations",
      reason: expect.stringContaining("no annotations"),
    });
    expect(body(none).response.warnings).toBeUndefined();
    const etc = await answer(
      admissionReview(
        deploymentPod({ annotations: { "coredog.io/inject": "true", "coredog.io/path": "/etc" } }),
      ),
    );
    expect(etc).toMatchObject({ kind: "skip", code: "path-unsafe" });
    expect(body(etc).response.warnings).toEqual([
      expect.stringMatching(/^coredog: skip injection: .*path=\/etc is not allowed/),
    ]);
  });

  it("lets through what is not a pod CREATE without deciding", async () => {
    expect(await answer(admissionReview(deploymentPod(), { operation: "UPDATE" }))).toMatchObject({
      kind: "allow",
      code: "not-create",
    });
    expect(
      await answer(
        admissionReview({}, { kind: { group: "apps", version: "v1", kind: "Deployment" } }),
      ),
    ).toMatchObject({ kind: "allow", code: "not-pod" });
    expect(await answer(admissionReview(null))).toMatchObject({
      kind: "allow",
      code: "no-object",
      badInput: "CREATE of a Pod without an object",
    });
  });

  it("malformed input: 400 when nothing can be answered, an allowing review when the uid can be read", async () => {
    expect(await answer("{not json")).toMatchObject({ kind: "bad-request", status: 400 });
    expect(await answer(JSON.stringify({ kind: "Pod" }))).toMatchObject({
      kind: "bad-request",
      status: 400,
    });
    const cut = admissionReview(deploymentPod()).slice(0, 600);
    const o = await answer(cut);
    expect(o).toMatchObject({ kind: "allow", code: "bad-request", uid: UID });
    expect(body(o).response.allowed).toBe(true);
    expect(body(o).response.warnings?.[0]).toMatch(/could not be read/);
  });

  it("an uncached namespace is fetched: enforcing Pod Security skips, a failed lookup skips and alerts", async () => {
    const fetched = review(
      admissionReview(deploymentPod()),
      lookup(undefined, async () => restricted),
    );
    expect(fetched).toBeInstanceOf(Promise);
    expect(await fetched).toMatchObject({ kind: "skip", code: "pod-security" });
    const failed = await answer(
      admissionReview(deploymentPod()),
      lookup(undefined, async () => {
        throw new Error("connection refused");
      }),
    );
    expect(failed).toMatchObject({ kind: "skip", code: "pod-security-unknown" });
    if (failed.kind !== "skip") throw new Error("unreachable");
    expect(failed.internalError?.message).toMatch(/namespace lookup failed: connection refused/);
    expect(body(failed).response).toMatchObject({ allowed: true });
  });

  it("our own failure admits the pod unchanged with a warning, and carries the error for the alert", async () => {
    const broken: NamespaceLookup = {
      cached: () => {
        throw new Error("cache exploded");
      },
      fetch: async () => undefined,
    };
    const o = await answer(admissionReview(deploymentPod()), broken);
    expect(o).toMatchObject({ kind: "allow", code: "internal-error", uid: UID });
    if (o.kind !== "allow") throw new Error("unreachable");
    expect(o.internalError?.message).toBe("cache exploded");
    expect(body(o).response.warnings?.[0]).toMatch(
      /internal error, pod admitted without the core dump directory/,
    );
  });
});
