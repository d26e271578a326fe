/* eslint-disable no-control-regex -- paths with control characters are generated on purpose */
import { posix } from "node:path";
import type { V1Container, V1EnvVar, V1Namespace, V1Pod, V1Volume } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decide, injectionPatch, parseInjectedAnnotation } from "../../../src/injection.js";
import {
  ANNOTATION_INJECTED,
  ENV_POD_NAME,
  ENV_POD_NAMESPACE,
  NODE_DUMP_DIR,
  VOLUME_NAME,
  containerDumpDir,
} from "../../../src/names.js";
import { normalizeContainerPath, unsafePathReason } from "../../../src/paths.js";
import { apply, hostDir } from "./injection.helpers.js";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const C_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SYSTEM = [
  "etc",
  "usr",
  "bin",
  "sbin",
  "var",
  "root",
  "home",
  "boot",
  "proc",
  "sys",
  "dev",
  "run",
];

/** An independent oracle: Node's own resolver, then the DESIGN.md list. */
function oracleUnsafe(p: string): boolean {
  const resolved = posix.resolve(p);
  const top = resolved.split("/")[1] ?? "";
  return resolved === "/" || SYSTEM.includes(top) || top.startsWith("lib");
}

const label = fc.oneof(
  fc.constantFrom("app", "worker", "setup", "sidecar", VOLUME_NAME, "x"),
  fc.stringMatching(/^[a-z]([-a-z0-9]{0,10}[a-z0-9])?$/),
);

const envVar: fc.Arbitrary<V1EnvVar> = fc
  .record({
    name: fc.oneof(
      fc.constantFrom(
        ENV_POD_NAME,
        ENV_POD_NAMESPACE,
        `${ENV_POD_NAME}_2`,
        `${ENV_POD_NAMESPACE}_2`,
      ),
      fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/),
    ),
    how: fc.oneof(
      fc.record({ value: fc.string({ maxLength: 8 }) }),
      fc.record({
        valueFrom: fc.record({
          fieldRef: fc.record(
            {
              apiVersion: fc.constant("v1"),
              fieldPath: fc.constantFrom("metadata.name", "metadata.namespace", "metadata.uid"),
            },
            { requiredKeys: ["fieldPath"] },
          ),
        }),
      }),
    ),
  })
  .map(({ name, how }) => ({ name, ...how }));

const mountPathPool = fc.constantFrom(
  "/corefile",
  "/corefile/",
  "//corefile",
  "/data",
  "/dumps",
  "/app/coredumps",
  "/cache",
  "/var/lib/app",
);

const volume: fc.Arbitrary<V1Volume> = fc.oneof(
  label.map((name) => ({ name, emptyDir: {} })),
  fc
    .tuple(label, fc.constantFrom(NODE_DUMP_DIR, `${NODE_DUMP_DIR}/`, "/data", "/srv"))
    .map(([name, path]) => ({ name, hostPath: { path } })),
);

/** A container whose mounts reference `volumes`, with unique env names and mount paths. */
function containerArb(name: string, volumes: string[]): fc.Arbitrary<V1Container> {
  const mount =
    volumes.length === 0
      ? fc.constant(undefined)
      : fc.record({ name: fc.constantFrom(...volumes), mountPath: mountPathPool });
  return fc
    .record(
      {
        env: fc.uniqueArray(envVar, { maxLength: 4, selector: (e) => e.name }),
        volumeMounts: fc.uniqueArray(mount, {
          maxLength: 3,
          selector: (m) => (m ? normalizeContainerPath(m.mountPath) : ""),
        }),
        volumeDevices: fc.array(
          fc.record({
            name: fc.constant("blk"),
            devicePath: fc.constantFrom("/corefile", "/dev/xvdb"),
          }),
          { maxLength: 1 },
        ),
      },
      { requiredKeys: [] },
    )
    .map((c) => {
      const out: V1Container = { name, image: "busybox" };
      if (c.env) out.env = c.env;
      if (c.volumeMounts) out.volumeMounts = c.volumeMounts.filter((m) => m !== undefined);
      if (c.volumeDevices && c.volumeDevices.length > 0) out.volumeDevices = c.volumeDevices;
      return out;
    });
}

const pathSegment = fc.constantFrom(
  "",
  ".",
  "..",
  "corefile",
  "dumps",
  "data",
  "app",
  "etc",
  "usr",
  "proc",
  "self",
  "lib",
  "lib64",
  "libx32",
  "run",
  "secrets",
  "var",
  "a:b",
  "x\u0000y",
  "core dumps",
);

const pathValue = fc.oneof(
  { weight: 4, arbitrary: fc.array(pathSegment, { maxLength: 5 }).map((s) => "/" + s.join("/")) },
  { weight: 1, arbitrary: fc.array(pathSegment, { maxLength: 3 }).map((s) => s.join("/")) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 12, arbitrary: fc.constantFrom(" /corefile ", "/corefile", "/data/dumps", "/dumps") },
);

const namespaceArb: fc.Arbitrary<V1Namespace | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  fc
    .option(fc.constantFrom("privileged", "baseline", "restricted", "Restricted", ""), {
      nil: undefined,
    })
    .map((level): V1Namespace => {
      const labels: Record<string, string> = {};
      if (level !== undefined) labels["pod-security.kubernetes.io/enforce"] = level;
      return { metadata: { name: "shop", labels } };
    }),
);

type Case = { pod: V1Pod; namespace: V1Namespace | undefined; finalName: string };

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    containerNames: fc.uniqueArray(label, { minLength: 0, maxLength: 5 }),
    initCount: fc.nat({ max: 2 }),
    ephemeral: fc.boolean(),
    volumes: fc.uniqueArray(volume, { maxLength: 3, selector: (v) => v.name }),
    withVolumes: fc.boolean(),
  })
  .chain(({ containerNames, initCount, ephemeral, volumes, withVolumes }) => {
    const vols = withVolumes ? volumes : [];
    const volNames = vols.map((v) => v.name);
    const split = Math.max(0, containerNames.length - initCount);
    const regular = containerNames.slice(0, split);
    const init = containerNames.slice(split);
    return fc
      .record({
        containers: fc.tuple(...regular.map((n) => containerArb(n, volNames))),
        initContainers: fc.tuple(...init.map((n) => containerArb(n, volNames))),
        inject: fc.option(
          fc.oneof(
            { weight: 14, arbitrary: fc.constant("true") },
            { weight: 1, arbitrary: fc.constantFrom("false", "True", "", " true", "1") },
            { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
          ),
          { nil: undefined, freq: 8 },
        ),
        path: fc.option(pathValue, { nil: undefined, freq: 8 }),
        container: fc.option(
          fc
            .tuple(
              fc.array(fc.oneof(fc.constantFrom(...containerNames, "ghost", "", " "), label), {
                maxLength: 3,
              }),
              fc.constantFrom(",", " , ", ",,"),
            )
            .map(([names, separator]) => names.join(separator)),
          { nil: undefined, freq: 2 },
        ),
        extra: fc.option(fc.constant({ "example.com/team": "shop" }), { nil: undefined }),
        named: fc.boolean(),
        podNamespace: fc.constantFrom("shop", ""),
        namespace: namespaceArb,
        preInjectPath: fc.option(fc.constantFrom("/corefile", "/old-dumps", "/data/dumps"), {
          nil: undefined,
          freq: 3,
        }),
        noSpecArrays: fc.boolean(),
        bare: fc.nat({ max: 19 }), // 0: a pod without any annotation
      })
      .map((g): Case => {
        const annotations: Record<string, string> = g.bare === 0 ? {} : { ...g.extra };
        if (g.bare !== 0) {
          if (g.inject !== undefined) annotations["coredog.io/inject"] = g.inject;
          if (g.path !== undefined) annotations["coredog.io/path"] = g.path;
          if (g.container !== undefined) annotations["coredog.io/container"] = g.container;
        }
        const spec: NonNullable<V1Pod["spec"]> = { containers: [...g.containers] };
        if (g.initContainers.length > 0) spec.initContainers = [...g.initContainers];
        if (ephemeral) spec.ephemeralContainers = [{ name: "debugger", image: "busybox" }];
        if (!g.noSpecArrays || vols.length > 0) spec.volumes = vols;
        let pod: V1Pod = {
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            ...(g.named ? { name: "api-1" } : { generateName: "api-7d9f-" }),
            ...(g.podNamespace ? { namespace: g.podNamespace } : {}),
            ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
          },
          spec,
        };
        // A pod that went through the webhook before (reinvocation, or a copy of a patched pod),
        // possibly with another path.
        if (g.preInjectPath !== undefined) {
          const earlier = structuredClone(pod);
          earlier.metadata!.annotations = {
            ...annotations,
            "coredog.io/inject": "true",
            "coredog.io/path": g.preInjectPath,
          };
          const d = decide(earlier);
          if (d.inject) {
            pod = apply(earlier, injectionPatch(earlier, d));
            pod.metadata!.annotations = { ...annotations, ...pickInjected(pod) };
          }
        }
        return { pod, namespace: g.namespace, finalName: g.named ? "api-1" : "api-7d9f-q2x8z" };
      });
  });

function pickInjected(pod: V1Pod): Record<string, string> {
  const v = pod.metadata?.annotations?.[ANNOTATION_INJECTED];
  return v === undefined ? {} : { [ANNOTATION_INJECTED]: v };
}

function allContainers(pod: V1Pod): V1Container[] {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
}

/** The API-server validation this feature can break, plus the safety rules. */
function expectValidPod(pod: V1Pod): void {
  const volumes = pod.spec?.volumes ?? [];
  const names = volumes.map((v) => v.name);
  expect(new Set(names).size).toBe(names.length);
  for (const n of names) {
    expect(n.length).toBeLessThanOrEqual(63);
    expect(n).toMatch(DNS1123_LABEL);
  }
  for (const c of allContainers(pod)) {
    const env = (c.env ?? []).map((e) => e.name);
    expect(new Set(env).size).toBe(env.length);
    for (const e of env) expect(e).toMatch(C_IDENTIFIER);
    const paths = (c.volumeMounts ?? []).map((m) => normalizeContainerPath(m.mountPath));
    expect(new Set(paths).size).toBe(paths.length);
    for (const m of c.volumeMounts ?? []) {
      expect(names).toContain(m.name);
      expect(m.mountPath.startsWith("/")).toBe(true);
      if (m.subPathExpr !== undefined) {
        for (const [, ref] of m.subPathExpr.matchAll(/\$\(([^)]*)\)/g)) expect(env).toContain(ref);
      }
    }
  }
}

describe("injection properties", () => {
  it("never mounts an unsafe path, always yields a valid pod, never throws, and is idempotent", () => {
    const seen = new Map<string, number>();
    const count = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);
    fc.assert(
      fc.property(caseArb, ({ pod, namespace, finalName }) => {
        const before = structuredClone(pod);
        const d = decide(pod, namespace);
        expect(pod).toEqual(before); // decide does not mutate its input
        const level = namespace?.metadata?.labels?.["pod-security.kubernetes.io/enforce"];
        if (level !== undefined && level !== "privileged") expect(d.inject).toBe(false);
        if (!d.inject) {
          expect(d.reason.length).toBeGreaterThan(0);
          count(d.code);
          return;
        }
        count("inject");
        const annotated = pod.metadata?.annotations?.["coredog.io/path"] ?? "";
        expect(unsafePathReason(annotated.trim())).toBeNull();
        expect(unsafePathReason(d.path)).toBeNull();
        expect(normalizeContainerPath(d.path)).toBe(d.path);

        const ops = injectionPatch(pod, d);
        expect(pod).toEqual(before);
        for (const op of ops) count(op.op);
        if (ops.length === 0) count("empty patch");
        if (JSON.stringify(ops).includes(`${ENV_POD_NAME}_`)) count("renamed env");
        if (!pod.metadata?.name) count("generateName");
        if (d.initContainers.length > 0) count("init container");
        const out = apply(pod, ops); // validating apply: throws on any invalid operation
        expectValidPod(out);
        // Whatever mount the patch added or changed sits at a safe path.
        for (const c of allContainers(out)) {
          const was = allContainers(pod).find((x) => x.name === c.name);
          for (const m of c.volumeMounts ?? []) {
            if (!(was?.volumeMounts ?? []).some((w) => JSON.stringify(w) === JSON.stringify(m))) {
              expect(unsafePathReason(m.mountPath)).toBeNull();
              expect(m.name).toBe(VOLUME_NAME);
            }
          }
        }

        const ns = pod.metadata?.namespace || "shop";
        const targets = new Set([...d.containers, ...d.initContainers]);
        for (const c of allContainers(out)) {
          if (targets.has(c.name)) {
            const mount = c.volumeMounts?.find(
              (m) => m.name === VOLUME_NAME && normalizeContainerPath(m.mountPath) === d.path,
            );
            expect(mount).toBeDefined();
            expect(hostDir(out, c, { namespace: ns, name: finalName }, d.path)).toBe(
              containerDumpDir(ns, finalName, c.name),
            );
          } else {
            expect(c).toEqual(allContainers(pod).find((x) => x.name === c.name));
          }
        }
        expect(out.spec?.ephemeralContainers).toEqual(pod.spec?.ephemeralContainers);
        expect(parseInjectedAnnotation(out.metadata?.annotations?.[ANNOTATION_INJECTED])).toEqual({
          path: d.path,
          containers: d.containers,
          initContainers: d.initContainers,
        });

        // The API server may call the webhook again on the patched pod: nothing more to do.
        const again = decide(out, namespace);
        expect(again).toEqual(d);
        expect(injectionPatch(out, d)).toEqual([]);
      }),
      { numRuns: 1000 },
    );
    // The generators must reach every branch, or the property above proves little.
    for (const what of [
      "inject",
      "no-annotations",
      "inject-not-found",
      "inject-not-true",
      "path-missing",
      "path-unsafe",
      "pod-security",
      "container-missing",
      "mount-collision",
      "add",
      "replace",
      "renamed env",
      "generateName",
      "init container",
    ]) {
      expect(seen.get(what) ?? 0, what).toBeGreaterThan(0);
    }
    expect(seen.get("inject")).toBeGreaterThan(80);
  });

  it("agrees with Node's path resolver on which absolute paths are unsafe", () => {
    const absolute = fc.oneof(
      fc.array(pathSegment, { maxLength: 6 }).map((s) => "/" + s.join("/")),
      fc.string({ maxLength: 16 }).map((s) => "/" + s),
    );
    fc.assert(
      fc.property(absolute, (p) => {
        expect(normalizeContainerPath(p)).toBe(posix.resolve(p));
        const reason = unsafePathReason(p);
        if (/[\u0000-\u001f\u007f:]/.test(p)) {
          expect(reason).not.toBeNull();
        } else {
          expect(reason !== null).toBe(oracleUnsafe(p));
        }
        if (reason !== null) expect(reason).toContain(`is not allowed`);
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses every relative path", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 16 }).filter((s) => !s.startsWith("/")),
        (p) => {
          expect(normalizeContainerPath(p)).toBeNull();
          expect(unsafePathReason(p)).toContain("is not allowed");
        },
      ),
    );
  });
});
