import type { V1ConfigMap, V1Pod, V1Secret } from "@kubernetes/client-node";
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerArgv, containerEnv, expandVars, ConfigError } from "./node/env.js";
import { isCoredogImage } from "./node/pod.js";
import { runContainer } from "./node/runner.js";
import { MountError, PodVolumes, SA_MOUNT_PATH, type VolumeSources } from "./node/volumes.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

function sources(cms: Map<string, V1ConfigMap>, secrets: Map<string, V1Secret>): VolumeSources {
  return {
    getConfigMap: async (ns, name) => cms.get(`${ns}/${name}`) ?? null,
    getSecret: async (ns, name) => secrets.get(`${ns}/${name}`) ?? null,
    saToken: async (ns, sa) => `token-for-${ns}-${sa}`,
    caPem: () => "-----BEGIN CERTIFICATE-----\nrig\n-----END CERTIFICATE-----\n",
  };
}

const pod: V1Pod = {
  metadata: {
    name: "app-1",
    namespace: "team",
    uid: "u-1",
    labels: { app: "web" },
    annotations: { note: 'say "hi"' },
  },
  spec: {
    nodeName: "node-1",
    serviceAccountName: "runner",
    containers: [],
    volumes: [
      {
        name: "dumps",
        hostPath: { path: "/data/coredog-system/dumps", type: "DirectoryOrCreate" },
      },
      { name: "scratch", emptyDir: {} },
      { name: "cfg", configMap: { name: "settings", defaultMode: 0o640 } },
      {
        name: "creds",
        secret: { secretName: "creds", items: [{ key: "password", path: "sub/pw", mode: 0o600 }] },
      },
      {
        name: "kube-api-access-x",
        projected: {
          sources: [
            { serviceAccountToken: { path: "token" } },
            { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
            {
              downwardAPI: {
                items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }],
              },
            },
          ],
        },
      },
      {
        name: "info",
        downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] },
      },
    ],
  },
  status: { podIP: "127.0.9.2", hostIP: "127.0.0.1" },
};

describe("node: env and volumes as the kubelet builds them", () => {
  let dir: string;
  const cms = new Map<string, V1ConfigMap>();
  const secrets = new Map<string, V1Secret>();
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rig-vol-"));
    cms.set("team/settings", { data: { "config.yaml": "level: 1\n", other: "o" } });
    cms.set("team/env", { data: { A: "1", B: "2" } });
    secrets.set("team/creds", { data: { password: b64("s3cret"), user: b64("bob") } });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("expands $(VAR) like Kubernetes", () => {
    expect(expandVars("a-$(X)-$(NOPE)-$$(X)-$$", { X: "1" })).toBe("a-1-$(NOPE)-$(X)-$");
  });

  it("builds env from values, fieldRefs, key refs, envFrom and in-cluster variables", async () => {
    const env = await containerEnv(
      pod,
      {
        name: "c",
        envFrom: [
          { configMapRef: { name: "env" }, prefix: "CM_" },
          { secretRef: { name: "creds" } },
        ],
        env: [
          { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
          { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          { name: "UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
          { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
          { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          { name: "HOST", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
          { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          { name: "NOTE", valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
          { name: "LISTEN", value: "$(IP):9090" },
          { name: "LEVEL", valueFrom: { configMapKeyRef: { name: "settings", key: "other" } } },
          { name: "PW", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } },
          {
            name: "OPT",
            valueFrom: { secretKeyRef: { name: "missing", key: "k", optional: true } },
          },
        ],
        command: ["prog", "--dir=/corefile/$(NS)/$(POD)", "--listen=$(LISTEN)"],
        args: ["$(UNDEFINED)"],
      },
      { PATH: "/usr/bin:/bin", apiHost: "127.0.0.1", apiPort: "6443" },
      sources(cms, secrets),
    );
    expect(env).toMatchObject({
      NS: "team",
      POD: "app-1",
      UID: "u-1",
      NODE: "node-1",
      IP: "127.0.9.2",
      HOST: "127.0.0.1",
      APP: "web",
      NOTE: 'say "hi"',
      LISTEN: "127.0.9.2:9090",
      LEVEL: "o",
      PW: "s3cret",
      CM_A: "1",
      CM_B: "2",
      user: "bob",
      HOSTNAME: "app-1",
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      KUBERNETES_SERVICE_PORT: "6443",
      PATH: "/usr/bin:/bin",
    });
    expect(env.OPT).toBeUndefined();
    expect(
      containerArgv(
        {
          name: "c",
          command: ["prog", "--dir=/corefile/$(NS)/$(POD)", "--listen=$(LISTEN)"],
          args: ["$(UNDEFINED)"],
        },
        env,
      ),
    ).toEqual(["prog", "--dir=/corefile/team/app-1", "--listen=127.0.9.2:9090", "$(UNDEFINED)"]);
    expect(containerArgv({ name: "c", args: ["x"] }, env)).toBeNull();
    await expect(
      containerEnv(
        pod,
        {
          name: "c",
          env: [{ name: "X", valueFrom: { secretKeyRef: { name: "creds", key: "nope" } } }],
        },
        { PATH: "", apiHost: "", apiPort: "" },
        sources(cms, secrets),
      ),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it("maps images: a repository ending in coredog is this checkout", () => {
    expect(isCoredogImage("ghcr.io/coredog/coredog:0.1.0")).toBe(true);
    expect(isCoredogImage("localhost:5000/coredog@sha256:abc")).toBe(true);
    expect(isCoredogImage("busybox:1.36")).toBe(false);
    expect(isCoredogImage("coredog/tools:1")).toBe(false);
  });

  it("creates volumes with the kubelet's layout, modes and subPathExpr; refreshes config maps atomically", async () => {
    const hostRoot = join(dir, "root");
    const vols = new PodVolumes(pod, join(dir, "pod"), hostRoot, sources(cms, secrets));
    await vols.setup();
    const env = { COREDOG_POD_NAMESPACE: "team", COREDOG_POD_NAME: "app-1" };
    const mounts = vols.mountsFor(
      {
        name: "c",
        volumeMounts: [
          {
            name: "dumps",
            mountPath: "/corefile",
            subPathExpr: "$(COREDOG_POD_NAMESPACE)/$(COREDOG_POD_NAME)",
          },
          { name: "cfg", mountPath: "/etc/app" },
          { name: "cfg", mountPath: "/etc/app-fixed.yaml", subPath: "config.yaml" },
          { name: "creds", mountPath: "/etc/creds" },
          { name: "kube-api-access-x", mountPath: SA_MOUNT_PATH },
          { name: "info", mountPath: "/etc/podinfo" },
          { name: "scratch", mountPath: "/tmp" },
        ],
      },
      env,
    );
    expect(mounts[0]).toEqual({
      source: join(hostRoot, "data/coredog-system/dumps/team/app-1"),
      target: "/corefile",
      readOnly: false,
    });
    expect(statSync(mounts[0]!.source).isDirectory()).toBe(true);
    expect(mounts.slice(1, 6).every((m) => m.readOnly)).toBe(true); // API data volumes are read-only
    expect(mounts[6]!.readOnly).toBe(false);

    const cfgDir = mounts[1]!.source;
    expect(readlinkSync(join(cfgDir, "config.yaml"))).toBe("..data/config.yaml");
    expect(readlinkSync(join(cfgDir, "..data"))).toMatch(
      /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d{9}$/,
    );
    expect(statSync(join(cfgDir, "config.yaml")).mode & 0o777).toBe(0o640);
    const credDir = mounts[3]!.source;
    expect(readFileSync(join(credDir, "sub/pw"), "utf8")).toBe("s3cret");
    expect(statSync(join(credDir, "sub/pw")).mode & 0o777).toBe(0o600);
    expect(lstatSync(join(credDir, "sub")).isSymbolicLink()).toBe(true);
    const sa = mounts[4]!.source;
    expect(readFileSync(join(sa, "token"), "utf8")).toBe("token-for-team-runner");
    expect(readFileSync(join(sa, "ca.crt"), "utf8")).toContain("BEGIN CERTIFICATE");
    expect(readFileSync(join(sa, "namespace"), "utf8")).toBe("team");
    expect(readFileSync(join(mounts[5]!.source, "labels"), "utf8")).toBe('app="web"');

    // A container reads the mounted file repeatedly while the ConfigMap changes.
    const log = join(dir, "logs", "reader.log");
    const h = runContainer({
      command: [
        "/bin/sh",
        "-c",
        "while :; do cat /etc/app/config.yaml /etc/app-fixed.yaml; sleep 0.05; done",
      ],
      env: { PATH: "/usr/bin:/bin" },
      mounts: mounts.slice(1, 3),
      logFile: log,
    });
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(await vols.refresh(pod)).toBe(false); // unchanged: nothing rewritten
      cms.set("team/settings", { data: { "config.yaml": "level: 2\n" } });
      expect(await vols.refresh(pod)).toBe(true);
      const deadline = Date.now() + 3000;
      while (!readFileSync(log, "utf8").includes("level: 2") && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const lines = readFileSync(log, "utf8").split("\n");
      expect(lines).toContain("level: 2");
      expect(lines.filter((l) => l !== "").every((l) => l === "level: 1" || l === "level: 2")).toBe(
        true,
      );
      // The removed key disappears from the volume; the subPath mount keeps the old content (as in Kubernetes).
      expect(() => lstatSync(join(cfgDir, "other"))).toThrow();
      const i = lines.indexOf("level: 2");
      expect(lines.slice(i, i + 2)).toEqual(["level: 2", "level: 1"]);
    } finally {
      await h.stop(0);
    }
    vols.cleanup();
  });

  it("reports missing objects and bad hostPath types as mount errors", async () => {
    const bad: V1Pod = {
      ...pod,
      spec: { containers: [], volumes: [{ name: "c", configMap: { name: "absent" } }] },
    };
    await expect(
      new PodVolumes(bad, join(dir, "p2"), join(dir, "r2"), sources(cms, secrets)).setup(),
    ).rejects.toBeInstanceOf(MountError);
    const opt: V1Pod = {
      ...pod,
      spec: {
        containers: [],
        volumes: [{ name: "c", configMap: { name: "absent", optional: true } }],
      },
    };
    await new PodVolumes(opt, join(dir, "p3"), join(dir, "r3"), sources(cms, secrets)).setup();
    const dirType: V1Pod = {
      ...pod,
      spec: {
        containers: [],
        volumes: [{ name: "h", hostPath: { path: "/nope", type: "Directory" } }],
      },
    };
    await expect(
      new PodVolumes(dirType, join(dir, "p4"), join(dir, "r4"), sources(cms, secrets)).setup(),
    ).rejects.toThrow(/not a directory/);
  });
});
