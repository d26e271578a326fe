// The fast path for pods that do not opt in (reviewFast: only the request's fields and the pod's
// metadata are built) against the full path (reviewFull: the whole document parsed, decide()):
// on generated AdmissionReviews written every way JSON allows (escaped keys such as
// "coredog.io\/inject" or "\u0063oredog.io/inject", whitespace, duplicate keys) and damaged
// ones, the same answer, the same log fields, in every namespace (Pod Security labels, unknown
// to the cache, unreadable); and the fast path answers every pod that does not opt in.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  review,
  reviewFast,
  reviewFull,
  type NamespaceLookup,
  type Outcome,
} from "../../../controller/webhook/admission.js";
import { damaged, jsonText, seeded } from "../json-text.js";
import { admissionReview, deploymentPod } from "./helpers.js";

const namespaces: NamespaceLookup = {
  cached: (n) =>
    n === "locked"
      ? { metadata: { name: n, labels: { "pod-security.kubernetes.io/enforce": "baseline" } } }
      : n === "gone" || n === "fresh"
        ? undefined
        : { metadata: { name: n } },
  fetch: async (n) => {
    if (n === "gone") throw new Error("API unreachable");
    return undefined;
  },
};

/** An outcome as data (its error as its message), for comparing two of them. */
async function settled(o: Outcome | Promise<Outcome>): Promise<unknown> {
  const v = await o;
  return { ...v, ...("internalError" in v ? { internalError: v.internalError?.message } : {}) };
}

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
const odd = fc.jsonValue({ maxDepth: 2 });
const annotationKey = fc.constantFrom(
  "coredog.io/inject",
  "coredog.io/inject",
  "coredog.io/path",
  "coredog.io/container",
  "coredog.io/injected",
  "Coredog.io/inject",
  "coredog.io/inject ",
  "prometheus.io/scrape",
  "kubectl.kubernetes.io/restartedAt",
);
const annotations = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.dictionary(
      annotationKey,
      fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom("true", "false", "", "TRUE", "/corefile", "yes") },
        { weight: 1, arbitrary: odd },
      ),
      { maxKeys: 4 },
    ),
  },
  { weight: 1, arbitrary: odd },
);
const ownerReferences = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.array(
      fc.record(
        {
          apiVersion: fc.constant("apps/v1"),
          kind: fc.constantFrom("ReplicaSet", "Job", "StatefulSet"),
          name,
          uid: fc.uuid(),
          controller: fc.oneof(fc.boolean(), odd),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    ),
  },
  { weight: 1, arbitrary: odd },
);
const metadata = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record(
      {
        name: fc.oneof({ weight: 4, arbitrary: name }, { weight: 1, arbitrary: odd }),
        generateName: fc.oneof(
          { weight: 4, arbitrary: name.map((n) => `${n}-`) },
          { weight: 1, arbitrary: odd },
        ),
        namespace: fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom("", "shop", "locked", "gone", "fresh") },
          { weight: 1, arbitrary: odd },
        ),
        labels: fc.dictionary(name, name, { maxKeys: 3 }),
        annotations,
        ownerReferences,
        managedFields: fc.array(odd, { maxLength: 2 }),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: odd },
);
const container = fc.record(
  {
    name: fc.oneof({ weight: 8, arbitrary: name }, { weight: 1, arbitrary: odd }),
    image: fc.constant("busybox"),
    volumeMounts: fc.array(
      fc.record({ name: fc.constantFrom("v", "coredog-dumps"), mountPath: fc.string() }),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: [] },
);
const pod = fc.record(
  {
    apiVersion: fc.constant("v1"),
    kind: fc.constant("Pod"),
    metadata,
    spec: fc.oneof(
      { weight: 6, arbitrary: fc.record({ containers: fc.array(container, { maxLength: 3 }) }) },
      { weight: 1, arbitrary: odd },
    ),
    status: fc.constant({}),
  },
  { requiredKeys: [] },
);
const request = fc.record(
  {
    uid: fc.oneof({ weight: 8, arbitrary: fc.uuid() }, { weight: 1, arbitrary: odd }),
    kind: fc.oneof(
      { weight: 8, arbitrary: fc.constant({ group: "", version: "v1", kind: "Pod" }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom({ group: "apps", version: "v1", kind: "Deployment" }, "Pod"),
      },
      { weight: 1, arbitrary: odd },
    ),
    resource: fc.oneof(
      { weight: 8, arbitrary: fc.constant({ group: "", version: "v1", resource: "pods" }) },
      { weight: 1, arbitrary: odd },
    ),
    subResource: fc.oneof(
      { weight: 1, arbitrary: fc.constantFrom("", "status", "ephemeralcontainers") },
      { weight: 1, arbitrary: odd },
    ),
    namespace: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom("shop", "locked", "gone", "fresh", "") },
      { weight: 1, arbitrary: odd },
    ),
    operation: fc.oneof(
      { weight: 8, arbitrary: fc.constant("CREATE") },
      { weight: 1, arbitrary: fc.constantFrom("UPDATE", "DELETE") },
      { weight: 1, arbitrary: odd },
    ),
    userInfo: fc.constant({ username: "system:serviceaccount:kube-system:replicaset-controller" }),
    object: fc.oneof({ weight: 10, arbitrary: pod }, { weight: 1, arbitrary: odd }),
    oldObject: fc.oneof(fc.constant(null), pod),
    dryRun: fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: odd }),
  },
  { requiredKeys: ["uid", "kind", "operation", "object"] },
);
const admission = fc.record(
  {
    apiVersion: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom("admission.k8s.io/v1", "admission.k8s.io/v1beta1") },
      { weight: 1, arbitrary: odd },
    ),
    kind: fc.oneof(
      { weight: 8, arbitrary: fc.constant("AdmissionReview") },
      { weight: 1, arbitrary: odd },
    ),
    request: fc.oneof({ weight: 10, arbitrary: request }, { weight: 1, arbitrary: odd }),
  },
  { requiredKeys: ["request"] },
);

/** Well-formed pod CREATEs: only the pod varies, so many reach decide() and some inject. */
const wellFormed = fc.record({
  apiVersion: fc.constantFrom("admission.k8s.io/v1", "admission.k8s.io/v1beta1"),
  kind: fc.constant("AdmissionReview"),
  request: fc.record({
    uid: fc.uuid(),
    kind: fc.constant({ group: "", version: "v1", kind: "Pod" }),
    resource: fc.constant({ group: "", version: "v1", resource: "pods" }),
    namespace: fc.constantFrom("shop", "locked", "gone", "fresh", ""),
    operation: fc.constant("CREATE"),
    object: fc.record({
      metadata: fc.record(
        {
          generateName: name.map((n) => `${n}-`),
          namespace: fc.constantFrom("", "shop"),
          ownerReferences,
          annotations: fc.oneof(
            annotations,
            fc.record(
              {
                "coredog.io/inject": fc.constantFrom("true", "true", "false"),
                "coredog.io/path": fc.constantFrom("/corefile", "/cores", "/etc"),
                other: fc.string({ maxLength: 4 }),
              },
              { requiredKeys: ["coredog.io/inject", "coredog.io/path"] },
            ),
          ),
        },
        { requiredKeys: ["generateName"] },
      ),
      spec: fc.record({ containers: fc.array(container, { minLength: 1, maxLength: 2 }) }),
    }),
  }),
});

function readsInjectKey(text: string): boolean {
  try {
    return JSON.stringify(JSON.parse(text)).includes('"coredog.io/inject"');
  } catch {
    return false;
  }
}

const NOT_OPTED_IN = new Set(["no-annotations", "inject-not-found", "inject-not-true"]);

describe("the fast path for pods that do not opt in", () => {
  it("answers exactly as the full path, for every way the request is written", async () => {
    const seen = { fast: 0, full: 0, notOptedIn: 0, inject: 0, damaged: 0, escapedKey: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 2, arbitrary: wellFormed }, { weight: 1, arbitrary: admission }),
        fc.integer(),
        fc.nat(9),
        async (value, seed, roll) => {
          const r = seeded(seed);
          let text = jsonText(value, r);
          if (roll === 0) {
            text = damaged(text, r);
            seen.damaged++;
          }
          // The key is there, but not as plain "coredog.io/inject".
          if (!text.includes('"coredog.io/inject"') && readsInjectKey(text)) seen.escapedKey++;
          const full = await settled(reviewFull(text, namespaces));
          const fast = reviewFast(text, namespaces);
          expect(await settled(review(text, namespaces))).toEqual(full);
          const o = full as Outcome;
          if (o.kind === "inject") seen.inject++;
          if (fast === undefined) {
            seen.full++;
            // Only a pod that opts in goes on, or a text the pruned reading leaves to JSON.parse
            // (not JSON, or a __proto__ key).
            let canonical: string | undefined;
            try {
              canonical = JSON.stringify(JSON.parse(text));
            } catch {
              canonical = undefined;
            }
            if (canonical !== undefined && !canonical.includes('"__proto__"')) {
              const optedIn =
                o.kind === "inject" ||
                (o.kind === "skip" && !NOT_OPTED_IN.has(o.code)) ||
                (o.kind === "allow" && o.code === "internal-error");
              expect(optedIn, `${o.kind}: ${text}`).toBe(true);
            }
            return;
          }
          seen.fast++;
          if (o.kind === "skip" && NOT_OPTED_IN.has(o.code)) seen.notOptedIn++;
          expect(await settled(fast)).toEqual(full);
        },
      ),
      { numRuns: 1500 },
    );
    // The generators reach every case that matters, often.
    expect(seen.notOptedIn).toBeGreaterThan(250);
    expect(seen.inject).toBeGreaterThan(15);
    expect(seen.full).toBeGreaterThan(100);
    expect(seen.damaged).toBeGreaterThan(50);
    expect(seen.escapedKey).toBeGreaterThan(300);
  });

  it("recognises an escaped coredog.io/inject key: the pod goes on to be injected", async () => {
    const plain = admissionReview(deploymentPod());
    for (const escaped of ['"coredog.io\\/inject"', '"\\u0063oredog.io/inject"']) {
      const text = plain.replace('"coredog.io/inject"', escaped);
      expect(text).not.toBe(plain);
      expect(reviewFast(text, namespaces)).toBeUndefined();
      const o = await review(text, namespaces);
      expect(o.kind).toBe("inject");
    }
    const no = plain.replace('"coredog.io/inject":"true"', '"\\u0063oredog.io\\/inject":"no"');
    const o = (await reviewFast(no, namespaces)) as Outcome;
    expect(o).toMatchObject({ kind: "skip", code: "inject-not-true" });
  });

  it("answers a deployment's pod that carries other tools' annotations", async () => {
    const text = admissionReview(
      deploymentPod({ annotations: { "prometheus.io/scrape": "true" } }),
    );
    const o = (await reviewFast(text, namespaces)) as Outcome;
    expect(o).toMatchObject({ kind: "skip", code: "inject-not-found", pod: expect.any(String) });
    expect(await settled(o)).toEqual(await settled(reviewFull(text, namespaces)));
  });
});
