import type { V1Container, V1Namespace, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  decide,
  describePod,
  escapePointer,
  injectedAnnotation,
  injectionPatch,
  parseContainerList,
  parseInjectedAnnotation,
  type Decision,
  type InjectDecision,
  type SkipCode,
} from "../../../src/injection.js";
import {
  ANNOTATION_INJECTED,
  ENV_POD_NAME,
  ENV_POD_NAMESPACE,
  NODE_DUMP_DIR,
  VOLUME_NAME,
  containerDumpDir,
} from "../../../src/names.js";
import { apply, hostDir } from "./injection.helpers.js";

const OPT_IN = { "coredog.io/inject": "true", "coredog.io/path": "/corefile" };

function pod(
  annotations: Record<string, string> | undefined,
  spec: Partial<NonNullable<V1Pod["spec"]>> = {},
  meta: Partial<NonNullable<V1Pod["metadata"]>> = { name: "api-1", namespace: "shop" },
): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { ...meta, ...(annotations ? { annotations } : {}) },
    spec: { containers: [{ name: "app", image: "busybox" }], ...spec },
  };
}

function ns(name: string, labels?: Record<string, string>): V1Namespace {
  return { metadata: { name, ...(labels ? { labels } : {}) } };
}

function injected(d: Decision): InjectDecision {
  if (!d.inject) throw new Error(`expected an inject decision, got ${d.code}: ${d.reason}`);
  return d;
}

/** decide + patch + apply, as the webhook and the API server do together. */
function admit(p: V1Pod, namespace?: V1Namespace): V1Pod {
  return apply(p, injectionPatch(p, injected(decide(p, namespace))));
}

function container(p: V1Pod, name: string): V1Container {
  const c = [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])].find(
    (x) => x.name === name,
  );
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

describe("decide: skip reasons", () => {
  const skips: [string, V1Pod, V1Namespace | undefined, SkipCode, string][] = [
    ["annotations absent", pod(undefined), undefined, "no-annotations", "no annotations"],
    ["annotations empty", pod({}), undefined, "no-annotations", "no annotations"],
    [
      "inject missing",
      pod({ "coredog.io/path": "/corefile" }),
      undefined,
      "inject-not-found",
      "annotation coredog.io/inject not found",
    ],
    [
      "unrelated annotations only",
      pod({ "example.com/x": "y" }),
      undefined,
      "inject-not-found",
      "annotation coredog.io/inject not found",
    ],
    [
      "inject=false",
      pod({ ...OPT_IN, "coredog.io/inject": "false" }),
      undefined,
      "inject-not-true",
      "inject=false",
    ],
    [
      "inject=True",
      pod({ ...OPT_IN, "coredog.io/inject": "True" }),
      undefined,
      "inject-not-true",
      "inject=True",
    ],
    [
      "inject=yes",
      pod({ ...OPT_IN, "coredog.io/inject": "yes" }),
      undefined,
      "inject-not-true",
      "inject=yes",
    ],
    [
      "inject empty",
      pod({ ...OPT_IN, "coredog.io/inject": "" }),
      undefined,
      "inject-not-true",
      'inject=""',
    ],
    [
      "inject with spaces",
      pod({ ...OPT_IN, "coredog.io/inject": " true" }),
      undefined,
      "inject-not-true",
      "inject= true",
    ],
    [
      "path missing",
      pod({ "coredog.io/inject": "true" }),
      undefined,
      "path-missing",
      "coredog.io/path is required but not set",
    ],
    [
      "path empty",
      pod({ ...OPT_IN, "coredog.io/path": "" }),
      undefined,
      "path-missing",
      "coredog.io/path is required but not set",
    ],
    [
      "path blank",
      pod({ ...OPT_IN, "coredog.io/path": "   " }),
      undefined,
      "path-missing",
      "coredog.io/path is required but not set",
    ],
    [
      "path /etc",
      pod({ ...OPT_IN, "coredog.io/path": "/etc" }),
      undefined,
      "path-unsafe",
      "path=/etc is not allowed",
    ],
    [
      "path /corefile/../etc",
      pod({ ...OPT_IN, "coredog.io/path": "/corefile/../etc" }),
      undefined,
      "path-unsafe",
      "path=/corefile/../etc is not allowed (resolves to /etc",
    ],
    [
      "path relative",
      pod({ ...OPT_IN, "coredog.io/path": "corefile" }),
      undefined,
      "path-unsafe",
      "path=corefile is not allowed (must be an absolute path)",
    ],
    [
      "namespace enforces baseline",
      pod(OPT_IN),
      ns("shop", { "pod-security.kubernetes.io/enforce": "baseline" }),
      "pod-security",
      'namespace shop enforces Pod Security "baseline"',
    ],
    [
      "namespace enforces restricted",
      pod(OPT_IN),
      ns("shop", { "pod-security.kubernetes.io/enforce": "restricted" }),
      "pod-security",
      'namespace shop enforces Pod Security "restricted"',
    ],
    [
      "namespace enforces an invalid level",
      pod(OPT_IN),
      ns("shop", { "pod-security.kubernetes.io/enforce": "Restricted" }),
      "pod-security",
      'invalid pod-security.kubernetes.io/enforce label "Restricted"',
    ],
    [
      "named container missing",
      pod({ ...OPT_IN, "coredog.io/container": "app,ghost" }),
      undefined,
      "container-missing",
      "container ghost named in coredog.io/container not found in the pod (it has: app;",
    ],
    [
      "two named containers missing",
      pod({ ...OPT_IN, "coredog.io/container": "ghost, spectre" }),
      undefined,
      "container-missing",
      "containers ghost, spectre named in coredog.io/container not found",
    ],
    [
      "named container is ephemeral",
      pod(
        { ...OPT_IN, "coredog.io/container": "debug" },
        { ephemeralContainers: [{ name: "debug", image: "busybox" }] },
      ),
      undefined,
      "container-missing",
      "container debug named in coredog.io/container not found",
    ],
    [
      "pod without containers",
      pod(OPT_IN, { containers: [] }),
      undefined,
      "container-missing",
      "the pod has no containers",
    ],
    [
      "mount path used",
      pod(OPT_IN, {
        containers: [{ name: "app", volumeMounts: [{ name: "data", mountPath: "/corefile" }] }],
        volumes: [{ name: "data", emptyDir: {} }],
      }),
      undefined,
      "mount-collision",
      "mount path /corefile is already used by volumeMount data in container app",
    ],
    [
      "mount path used after normalising",
      pod(
        { ...OPT_IN, "coredog.io/path": "/corefile/" },
        {
          containers: [{ name: "app", volumeMounts: [{ name: "data", mountPath: "//corefile" }] }],
          volumes: [{ name: "data", emptyDir: {} }],
        },
      ),
      undefined,
      "mount-collision",
      "mount path /corefile is already used by volumeMount data in container app",
    ],
    [
      "mount path used in an init container (default selection)",
      pod(OPT_IN, {
        initContainers: [
          { name: "setup", volumeMounts: [{ name: "data", mountPath: "/corefile" }] },
        ],
        volumes: [{ name: "data", emptyDir: {} }],
      }),
      undefined,
      "mount-collision",
      "in container setup",
    ],
    [
      "mount path used by a volumeDevice",
      pod(OPT_IN, {
        containers: [{ name: "app", volumeDevices: [{ name: "blk", devicePath: "/corefile" }] }],
      }),
      undefined,
      "mount-collision",
      "mount path /corefile is already used by volumeDevice blk in container app",
    ],
    [
      "mount path used by the user's own mount of the dumps volume",
      pod(OPT_IN, {
        containers: [
          { name: "app", volumeMounts: [{ name: VOLUME_NAME, mountPath: "/corefile" }] },
        ],
        volumes: [{ name: VOLUME_NAME, hostPath: { path: NODE_DUMP_DIR } }],
      }),
      undefined,
      "mount-collision",
      `mount path /corefile is already used by volumeMount ${VOLUME_NAME} in container app`,
    ],
    [
      "volume name taken by another volume",
      pod(OPT_IN, { volumes: [{ name: VOLUME_NAME, emptyDir: {} }] }),
      undefined,
      "mount-collision",
      `volume name ${VOLUME_NAME} is already used by another volume`,
    ],
  ];

  it.each(skips)("%s", (_title, p, namespace, code, text) => {
    const d = decide(p, namespace);
    expect(d).toMatchObject({ inject: false, code });
    if (d.inject) return;
    expect(d.reason).toContain(text);
  });

  it("covers every SkipCode", () => {
    const codes: SkipCode[] = [
      "no-annotations",
      "inject-not-found",
      "inject-not-true",
      "path-missing",
      "path-unsafe",
      "pod-security",
      "container-missing",
      "mount-collision",
    ];
    expect(new Set(skips.map((s) => s[3]))).toEqual(new Set(codes));
  });

  it("checks the annotations before the namespace", () => {
    const restricted = ns("shop", { "pod-security.kubernetes.io/enforce": "restricted" });
    expect(decide(pod({ "coredog.io/inject": "false" }), restricted)).toMatchObject({
      code: "inject-not-true",
    });
  });
});

describe("decide: injecting", () => {
  it("opts in with the exact string true and normalises the path", () => {
    expect(decide(pod({ ...OPT_IN, "coredog.io/path": " /corefile//x/./ " }))).toEqual({
      inject: true,
      path: "/corefile/x",
      containers: ["app"],
      initContainers: [],
    });
  });

  it.each([
    ["no labels", ns("shop")],
    ["privileged", ns("shop", { "pod-security.kubernetes.io/enforce": "privileged" })],
    ["only warn/audit", ns("shop", { "pod-security.kubernetes.io/warn": "restricted" })],
    ["no namespace object", undefined],
  ])("allows namespaces without an enforcing Pod Security level (%s)", (_t, namespace) => {
    expect(decide(pod(OPT_IN), namespace)).toMatchObject({ inject: true });
  });

  it("targets all containers and init containers by default, never ephemeral ones", () => {
    const p = pod(OPT_IN, {
      containers: [{ name: "app" }, { name: "sidecar" }],
      initContainers: [{ name: "setup" }],
      ephemeralContainers: [{ name: "debug" }],
    });
    expect(decide(p)).toEqual({
      inject: true,
      path: "/corefile",
      containers: ["app", "sidecar"],
      initContainers: ["setup"],
    });
  });

  it("selects the listed containers, in pod order, trimming and ignoring empty entries", () => {
    const p = pod(
      { ...OPT_IN, "coredog.io/container": " worker ,, setup,worker, " },
      {
        containers: [{ name: "app" }, { name: "worker" }],
        initContainers: [{ name: "setup" }, { name: "migrate" }],
      },
    );
    expect(decide(p)).toEqual({
      inject: true,
      path: "/corefile",
      containers: ["worker"],
      initContainers: ["setup"],
    });
  });

  it("treats an empty container list as the default", () => {
    expect(decide(pod({ ...OPT_IN, "coredog.io/container": " , " }))).toMatchObject({
      inject: true,
      containers: ["app"],
    });
  });

  it("ignores collisions in containers that are not targeted", () => {
    const p = pod(
      { ...OPT_IN, "coredog.io/container": "app" },
      {
        containers: [
          { name: "app" },
          { name: "other", volumeMounts: [{ name: "data", mountPath: "/corefile" }] },
        ],
        volumes: [{ name: "data", emptyDir: {} }],
      },
    );
    expect(decide(p)).toMatchObject({ inject: true, containers: ["app"] });
  });

  it("accepts its own mount from an earlier invocation at the same path", () => {
    const once = admit(pod(OPT_IN));
    expect(decide(once)).toEqual(decide(pod(OPT_IN)));
  });

  it("never throws on malformed objects", () => {
    const bad = [
      {},
      { metadata: null },
      { metadata: { annotations: null } },
      { metadata: { annotations: OPT_IN } },
      { metadata: { annotations: OPT_IN }, spec: { containers: [null, { volumeMounts: [null] }] } },
      { metadata: { annotations: { ...OPT_IN, "coredog.io/inject": 1 } } },
    ] as unknown as V1Pod[];
    for (const p of bad) {
      expect(() => decide(p)).not.toThrow();
      const d = decide(p);
      if (d.inject) expect(() => injectionPatch(p, d)).not.toThrow();
    }
  });
});

describe("parseContainerList", () => {
  it.each([
    [undefined, []],
    ["", []],
    [" , ,", []],
    ["app", ["app"]],
    [" app , worker ", ["app", "worker"]],
    ["a,,b,a", ["a", "b"]],
  ])("%j -> %j", (value, names) => {
    expect(parseContainerList(value)).toEqual(names);
  });
});

describe("injectionPatch", () => {
  const annotationPath = "/metadata/annotations/coredog.io~1injected";

  it("creates the arrays a bare pod lacks", () => {
    const p = pod(OPT_IN);
    const ops = injectionPatch(p, injected(decide(p)));
    expect(ops).toEqual([
      {
        op: "add",
        path: "/spec/volumes",
        value: [
          {
            name: VOLUME_NAME,
            hostPath: { path: NODE_DUMP_DIR, type: "DirectoryOrCreate" },
          },
        ],
      },
      {
        op: "add",
        path: "/spec/containers/0/env",
        value: [
          {
            name: ENV_POD_NAMESPACE,
            valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } },
          },
          {
            name: ENV_POD_NAME,
            valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } },
          },
        ],
      },
      {
        op: "add",
        path: "/spec/containers/0/volumeMounts",
        value: [
          {
            name: VOLUME_NAME,
            mountPath: "/corefile",
            subPathExpr: `$(${ENV_POD_NAMESPACE})/$(${ENV_POD_NAME})/app`,
          },
        ],
      },
      {
        op: "add",
        path: annotationPath,
        value: '{"path":"/corefile","containers":["app"],"initContainers":[]}',
      },
    ]);
    const out = apply(p, ops);
    expect(hostDir(out, container(out, "app"), { namespace: "shop", name: "api-1" })).toBe(
      containerDumpDir("shop", "api-1", "app"),
    );
  });

  it("appends to existing volumes, mounts and env without touching them", () => {
    const p = pod(OPT_IN, {
      containers: [
        {
          name: "app",
          env: [{ name: "MODE", value: "prod" }],
          volumeMounts: [{ name: "data", mountPath: "/data" }],
        },
      ],
      volumes: [{ name: "data", emptyDir: {} }],
    });
    const ops = injectionPatch(p, injected(decide(p)));
    expect(ops.map((o) => `${o.op} ${o.path}`)).toEqual([
      "add /spec/volumes/-",
      "add /spec/containers/0/env/-",
      "add /spec/containers/0/env/-",
      "add /spec/containers/0/volumeMounts/-",
      `add ${annotationPath}`,
    ]);
    const out = apply(p, ops);
    const app = container(out, "app");
    expect(out.spec?.volumes?.map((v) => v.name)).toEqual(["data", VOLUME_NAME]);
    expect(app.env?.map((e) => e.name)).toEqual(["MODE", ENV_POD_NAMESPACE, ENV_POD_NAME]);
    expect(app.volumeMounts?.map((m) => m.mountPath)).toEqual(["/data", "/corefile"]);
  });

  it("handles mixed containers: one with env only, one with mounts only", () => {
    const p = pod(OPT_IN, {
      containers: [
        { name: "a", env: [{ name: "X", value: "1" }] },
        { name: "b", volumeMounts: [] },
      ],
    });
    const out = admit(p);
    for (const name of ["a", "b"]) {
      expect(hostDir(out, container(out, name), { namespace: "shop", name: "api-1" })).toBe(
        containerDumpDir("shop", "api-1", name),
      );
    }
  });

  it("gives generateName pods the directory of the name assigned later, without using the namespace field", () => {
    const p = pod(OPT_IN, undefined, {
      generateName: "api-7d9f-",
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: "api-7d9f", uid: "u", controller: true },
      ],
    });
    const withNamespace = pod(OPT_IN, undefined, { generateName: "api-7d9f-", namespace: "shop" });
    const ops = injectionPatch(p, injected(decide(p)));
    // Nothing in the patch depends on the (missing) name or namespace.
    expect(ops).toEqual(injectionPatch(withNamespace, injected(decide(withNamespace))));
    expect(JSON.stringify(ops)).not.toContain("api-7d9f");
    const out = apply(p, ops);
    // The API server assigns the name after mutating admission; the kubelet expands subPathExpr then.
    expect(hostDir(out, container(out, "app"), { namespace: "shop", name: "api-7d9f-x2k4q" })).toBe(
      containerDumpDir("shop", "api-7d9f-x2k4q", "app"),
    );
  });

  it("patches only the selected containers, init containers at their own paths", () => {
    const p = pod(
      { ...OPT_IN, "coredog.io/container": "worker,setup" },
      {
        containers: [{ name: "app" }, { name: "worker" }],
        initContainers: [{ name: "migrate" }, { name: "setup" }],
        ephemeralContainers: [{ name: "debug" }],
      },
    );
    const ops = injectionPatch(p, injected(decide(p)));
    const touched = new Set(
      ops.map((o) => /^\/spec\/(\w+\/\d+)/.exec(o.path)?.[1]).filter((x) => x !== undefined),
    );
    expect(touched).toEqual(new Set(["containers/1", "initContainers/1"]));
    const out = apply(p, ops);
    expect(container(out, "app")).toEqual({ name: "app" });
    expect(container(out, "migrate")).toEqual({ name: "migrate" });
    expect(out.spec?.ephemeralContainers).toEqual([{ name: "debug" }]);
    for (const name of ["worker", "setup"]) {
      expect(container(out, name).volumeMounts?.[0]?.mountPath).toBe("/corefile");
    }
    expect(parseInjectedAnnotation(out.metadata?.annotations?.[ANNOTATION_INJECTED])).toEqual({
      path: "/corefile",
      containers: ["worker"],
      initContainers: ["setup"],
    });
  });

  const idempotenceCases: [string, V1Pod][] = [
    ["bare pod", pod(OPT_IN)],
    [
      "pod with volumes, mounts and env",
      pod(OPT_IN, {
        containers: [
          {
            name: "app",
            env: [{ name: "A", value: "1" }],
            volumeMounts: [{ name: "d", mountPath: "/d" }],
          },
          { name: "side" },
        ],
        initContainers: [{ name: "init", env: [] }],
        volumes: [{ name: "d", emptyDir: {} }],
      }),
    ],
    ["generateName pod", pod(OPT_IN, undefined, { generateName: "job-" })],
    [
      "env names taken",
      pod(OPT_IN, {
        containers: [{ name: "app", env: [{ name: ENV_POD_NAME, value: "mine" }] }],
      }),
    ],
  ];

  it.each(idempotenceCases)("is idempotent: %s", (_t, p) => {
    const once = admit(p);
    const d2 = injected(decide(once));
    expect(d2).toEqual(decide(p));
    expect(injectionPatch(once, d2)).toEqual([]);
    expect(apply(once, injectionPatch(once, d2))).toEqual(once);
  });

  it("picks other env names when the container already uses ours for something else", () => {
    const p = pod(OPT_IN, {
      containers: [
        {
          name: "app",
          env: [
            { name: ENV_POD_NAME, value: "mine" },
            {
              name: `${ENV_POD_NAME}_2`,
              valueFrom: { fieldRef: { fieldPath: "metadata.uid" } },
            },
          ],
        },
      ],
    });
    const out = admit(p);
    const app = container(out, "app");
    expect(app.env?.map((e) => e.name)).toEqual([
      ENV_POD_NAME,
      `${ENV_POD_NAME}_2`,
      ENV_POD_NAMESPACE,
      `${ENV_POD_NAME}_3`,
    ]);
    expect(app.env?.[0]).toEqual({ name: ENV_POD_NAME, value: "mine" });
    expect(app.volumeMounts?.[0]?.subPathExpr).toBe(
      `$(${ENV_POD_NAMESPACE})/$(${ENV_POD_NAME}_3)/app`,
    );
    expect(hostDir(out, app, { namespace: "shop", name: "api-1" })).toBe(
      containerDumpDir("shop", "api-1", "app"),
    );
  });

  it("reuses env vars that already carry the downward-API fields", () => {
    const p = pod(OPT_IN, {
      containers: [
        {
          name: "app",
          env: [{ name: ENV_POD_NAME, valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
        },
      ],
    });
    const ops = injectionPatch(p, injected(decide(p)));
    const envOps = ops.filter((o) => o.path.includes("/env"));
    expect(envOps).toEqual([
      {
        op: "add",
        path: "/spec/containers/0/env/-",
        value: {
          name: ENV_POD_NAMESPACE,
          valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } },
        },
      },
    ]);
  });

  it("recognises its env in objects deserialized by client-node (undefined-valued keys)", () => {
    const once = admit(pod(OPT_IN));
    const app = container(once, "app");
    for (const e of app.env ?? []) {
      e.value = undefined;
      Object.assign(e.valueFrom!, { secretKeyRef: undefined, configMapKeyRef: undefined });
    }
    expect(injectionPatch(once, injected(decide(once)))).toEqual([]);
  });

  it("moves its own mount when the annotated path changed", () => {
    const once = admit(pod(OPT_IN));
    const moved = structuredClone(once);
    moved.metadata!.annotations!["coredog.io/path"] = "/dumps";
    const ops = injectionPatch(moved, injected(decide(moved)));
    expect(ops.map((o) => `${o.op} ${o.path}`)).toEqual([
      "replace /spec/containers/0/volumeMounts/0",
      `add ${annotationPath}`,
    ]);
    const out = apply(moved, ops);
    expect(container(out, "app").volumeMounts).toEqual([
      {
        name: VOLUME_NAME,
        mountPath: "/dumps",
        subPathExpr: `$(${ENV_POD_NAMESPACE})/$(${ENV_POD_NAME})/app`,
      },
    ]);
    expect(parseInjectedAnnotation(out.metadata?.annotations?.[ANNOTATION_INJECTED])?.path).toBe(
      "/dumps",
    );
  });

  it("keeps a copied pod's volume and adds only what is missing", () => {
    const once = admit(pod(OPT_IN));
    const copy = structuredClone(once);
    delete copy.metadata!.annotations![ANNOTATION_INJECTED];
    copy.spec!.containers.push({ name: "new" });
    const ops = injectionPatch(copy, injected(decide(copy)));
    expect(ops.map((o) => `${o.op} ${o.path}`)).toEqual([
      "add /spec/containers/1/env",
      "add /spec/containers/1/volumeMounts",
      `add ${annotationPath}`,
    ]);
  });

  it("returns no operations when no target container exists in the pod", () => {
    const p = pod(OPT_IN);
    expect(
      injectionPatch(p, { inject: true, path: "/corefile", containers: ["x"], initContainers: [] }),
    ).toEqual([]);
  });

  it("escapes '/' and '~' in JSON pointers", () => {
    expect(escapePointer("coredog.io/injected")).toBe("coredog.io~1injected");
    expect(escapePointer("a~b/c~1")).toBe("a~0b~1c~01");
    const p = pod(OPT_IN);
    const ops = injectionPatch(p, injected(decide(p)));
    expect(ops.at(-1)?.path).toBe(annotationPath);
    expect(apply(p, ops).metadata?.annotations?.[ANNOTATION_INJECTED]).toBeDefined();
  });
});

describe("injected annotation", () => {
  it("round-trips and rejects what is not ours", () => {
    const d: InjectDecision = {
      inject: true,
      path: "/corefile",
      containers: ["a"],
      initContainers: ["i"],
    };
    expect(parseInjectedAnnotation(injectedAnnotation(d))).toEqual({
      path: "/corefile",
      containers: ["a"],
      initContainers: ["i"],
    });
    for (const bad of [undefined, "", "nope", "[]", "null", '{"path":1}', '{"path":"/c"}']) {
      expect(parseInjectedAnnotation(bad)).toBeNull();
    }
  });
});

describe("describePod", () => {
  it.each<[string, V1Pod, string | undefined, string]>([
    ["named", pod(undefined), undefined, "shop/api-1"],
    [
      "generateName with controller owner",
      pod(undefined, undefined, {
        namespace: "shop",
        generateName: "api-7d9f-",
        ownerReferences: [
          { apiVersion: "v1", kind: "Other", name: "o", uid: "1" },
          {
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            name: "api-7d9f",
            uid: "2",
            controller: true,
          },
        ],
      }),
      undefined,
      "shop/api-7d9f-* (owner ReplicaSet/api-7d9f)",
    ],
    [
      "generateName without owner",
      pod(undefined, undefined, { namespace: "shop", generateName: "x-" }),
      undefined,
      "shop/x-*",
    ],
    [
      "namespace from the AdmissionRequest",
      pod(undefined, undefined, {
        generateName: "job-",
        ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "job", uid: "3" }],
      }),
      "batch",
      "batch/job-* (owner Job/job)",
    ],
    ["object namespace wins", pod(undefined), "other", "shop/api-1"],
    ["nothing known", { metadata: {} }, undefined, "/<no name>"],
  ])("%s", (_t, p, requestNamespace, text) => {
    expect(describePod(p, requestNamespace)).toBe(text);
  });
});
