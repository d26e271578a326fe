// The image `npm run image` built from the Dockerfile (vitest's globalSetup builds it, cached): its programs
// start in it, it has what the guide promises (bash) and what the manifests expect (user, PATH, command),
// and nothing else (no tests, no dev dependencies, no build-time registry or CA).
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { imageDir } from "../rig/node/image.js";
import { runContainer } from "../rig/node/runner.js";
import { CHECKOUT, ensureImage } from "../rig/image-build.js";

const run = promisify(execFile);
const dir = imageDir(CHECKOUT);
const rootfs = join(dir, "rootfs");
const pkg = JSON.parse(readFileSync(join(CHECKOUT, "package.json"), "utf8"));
const lock = JSON.parse(readFileSync(join(CHECKOUT, "package-lock.json"), "utf8"));

interface ImageConfig {
  User: string;
  Env: string[];
  WorkingDir: string;
  Entrypoint: string[];
}
let config: ImageConfig;
let history: string;
let buildOutput: string;

/** The image's environment, as a runtime gives it to a container without env of its own. */
function imageEnv(): Record<string, string> {
  return Object.fromEntries(
    config.Env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
}

/** Runs argv in the image's root as `user` (default: the image's USER), in its WORKDIR, with its Env. */
async function inImage(
  argv: string[],
  user = config.User,
): Promise<{ stdout: string; stderr: string }> {
  const env = Object.entries(imageEnv()).map(([k, v]) => `${k}=${v}`);
  return run(
    "/usr/sbin/chroot",
    [
      `--userspec=${user}`,
      rootfs,
      "/usr/bin/env",
      "-i",
      ...env,
      "HOME=/",
      "bash",
      "-c",
      'cd "$0" && exec "$@"',
      config.WorkingDir,
      ...argv,
    ],
    { timeout: 30_000 },
  );
}

beforeAll(async () => {
  // Built by the globalSetup already: this is the cached path, and it says why when it cannot build.
  buildOutput = await ensureImage();
  const inspected = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  config = inspected.OCIv1.config;
  history = JSON.stringify(inspected.OCIv1.history);
}, 600_000);

describe("the image built from the Dockerfile", () => {
  it("reports its uncompressed size last, under 300 MB, and matches its root filesystem", async () => {
    const last = buildOutput.trim().split("\n").at(-1)!;
    const mb = Number(/^image size: (\d+) MB$/.exec(last)?.[1]);
    expect(mb).toBeGreaterThan(100);
    expect(mb).toBeLessThan(300);
    const { stdout } = await run("du", ["-sbx", rootfs]);
    expect(Math.floor(Number(stdout.split("\t")[0]) / 1_000_000)).toBe(mb);
  });

  it("is an OCI archive that names the image", async () => {
    const { stdout } = await run("tar", ["-xOf", join(dir, "coredog.oci.tar"), "index.json"]);
    const index = JSON.parse(stdout);
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].annotations["org.opencontainers.image.ref.name"]).toBe(
      `coredog:${pkg.version}`,
    );
  });

  it("starts both programs as its default user, 65532, with the pinned Node", async () => {
    expect(config.User).toBe("65532:65532");
    expect(config.Entrypoint).toEqual(["coredog-controller"]);
    expect(imageEnv().PATH?.split(":")[0]).toBe("/app/bin");
    expect((await inImage(["id", "-u"])).stdout.trim()).toBe("65532");
    expect((await inImage(["coredog-controller", "version"])).stdout).toBe(
      `coredog-controller ${pkg.version}\n`,
    );
    const help = await inImage(["kubectl-coredog", "--help"]);
    expect(help.stdout).toContain(
      "Collects the core dumps of crashing processes in Kubernetes pods",
    );
    expect(help.stdout).toMatch(/COMMANDS[\s\S]*doctor/);
    expect((await inImage(["node", "--version"])).stdout.trim()).toBe(
      `v${pkg.devDependencies.node}`,
    );
  });

  it("has bash, for the guide's `kubectl exec ... -- bash` into the watcher", async () => {
    expect((await inImage(["bash", "--version"])).stdout).toMatch(/GNU bash, version 5\./);
  });

  it("runs the webhook and the watcher as the manifests run them", async () => {
    const { stdout } = await run("kubectl", ["kustomize", join(CHECKOUT, "manifests")]);
    const docs = parseAllDocuments(stdout).map((d) => d.toJS());
    const podSpec = (kind: string, name: string) =>
      docs.find((d) => d.kind === kind && d.metadata.name === name).spec.template.spec;
    const watcherPod = podSpec("DaemonSet", "coredog-watcher");
    const webhookPod = podSpec("Deployment", "coredog-webhook");
    for (const c of [watcherPod.containers[0], webhookPod.containers[0]]) {
      expect(c.image).toMatch(new RegExp(`/coredog:${pkg.version.replace(/\./g, "\\.")}$`));
      expect(existsSync(join(rootfs, "app/bin", c.command[0]))).toBe(true);
    }
    // The webhook as its pod's user; its --help parses the same flags the manifest passes.
    const webhookUser = `${webhookPod.securityContext.runAsUser}:${webhookPod.securityContext.runAsGroup}`;
    expect(webhookUser).toBe("65532:65532");
    const wh = await inImage(
      [...webhookPod.containers[0].command.slice(0, 2), "--help"],
      webhookUser,
    );
    expect(wh.stdout).toContain("Usage: coredog-controller webhook");

    // The watcher for real: the manifest's command, as root, on a read-only root, with its directory and settings.
    const w = watcherPod.containers[0];
    expect(w.securityContext.runAsUser).toBe(0);
    expect(w.securityContext.readOnlyRootFilesystem).toBe(true);
    const scratch = mkdtempSync(join(tmpdir(), "coredog-image-test-"));
    try {
      const cores = join(scratch, "corefile");
      const settings = join(scratch, "config");
      const tmp = join(scratch, "tmp");
      for (const d of [cores, settings, tmp]) await run("mkdir", ["-p", d]);
      const cm = docs.find((d) => d.kind === "ConfigMap" && d.metadata.name === "coredog");
      writeFileSync(join(settings, "config.yaml"), cm.data["config.yaml"]);
      const env = { ...imageEnv(), NODE_NAME: "node-1", POD_IP: "127.0.0.1", HOME: "/root" };
      const argv = (w.command as string[]).map((a) =>
        a.replace(/\$\((\w+)\)/g, (_, n: string) => env[n as keyof typeof env] ?? ""),
      );
      const logFile = join(scratch, "watcher.log");
      const h = runContainer({
        command: [...argv.filter((a) => !a.startsWith("--listen")), "--listen=127.0.0.1:0"],
        env,
        workingDir: config.WorkingDir,
        mounts: [
          { source: cores, target: "/corefile" },
          { source: settings, target: "/etc/coredog/config", readOnly: true },
          { source: tmp, target: "/tmp" },
        ],
        logFile,
        rootfs: { dir: rootfs, readOnly: true },
      });
      const deadline = Date.now() + 30_000;
      while (
        !readFileSync(logFile, "utf8").includes("watching /corefile") &&
        Date.now() < deadline
      ) {
        if (h.exit()) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const exit = await h.stop(5000);
      const log = readFileSync(logFile, "utf8");
      expect(log).toContain("watching /corefile: initial scan found 0 files");
      expect(log).toContain("received SIGTERM");
      expect(exit.exitCode).toBe(0);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("holds what the programs need and nothing else: no tests, no sources, no dev dependencies", () => {
    expect(readdirSync(join(rootfs, "app")).sort()).toEqual(
      ["bin", "dist", "node_modules", "oclif.manifest.json", "package.json"].sort(),
    );
    expect(readdirSync(join(rootfs, "app/dist")).sort()).toEqual(["cli", "controller"]);
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else files.push(relative(join(rootfs, "app"), p));
      }
    };
    walk(join(rootfs, "app"));
    expect(files.filter((f) => /\.(test|spec)\.[cm]?[jt]sx?$|\.[cm]?tsx?$|\.map$/.test(f))).toEqual(
      [],
    );
    expect(
      files.filter((f) => f.split("/").includes("test") || f.split("/").includes("__tests__")),
    ).toEqual([]);
    // Every package in node_modules is a production dependency of the lock; the dev ones (the `node`
    // package, vitest, typescript, esbuild...) are not there.
    const packages = Object.keys(lock.packages).filter((k) => {
      const rel = join(rootfs, "app", k, "package.json");
      return k.startsWith("node_modules/") && existsSync(rel);
    });
    expect(packages.length).toBeGreaterThan(0);
    for (const k of packages)
      expect(lock.packages[k].dev, `${k} is a dev dependency`).toBeUndefined();
    for (const name of [
      "node",
      "vitest",
      "typescript",
      "esbuild",
      "tsx",
      "@kubernetes/client-node",
    ])
      expect(existsSync(join(rootfs, "app/node_modules", name)), name).toBe(false);
  });

  it("says why when it cannot be built: not root, or no buildah", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "coredog-image-fail-"));
    try {
      const env = { PATH: process.env.PATH ?? "", COREDOG_IMAGE_DIR: join(scratch, "out") };
      const script = join(CHECKOUT, "scripts", "build-image.sh");
      const asNobody = await run(
        "/usr/bin/setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/bash", script],
        { env },
      ).catch((e: { code: number; stderr: string }) => e);
      expect("code" in asNobody && asNobody.code).toBe(1);
      expect(asNobody.stderr).toBe(
        "npm run image: building the image needs root (buildah with vfs storage and chroot isolation); run it as root.\n",
      );
      // A PATH with what the script needs before its checks, and no buildah.
      const bin = join(scratch, "bin");
      await run("mkdir", ["-p", bin]);
      for (const tool of ["dirname", "id"])
        await run("ln", ["-s", `/usr/bin/${tool}`, join(bin, tool)]);
      const noBuildah = await run("/bin/bash", [script], { env: { ...env, PATH: bin } }).catch(
        (e: { code: number; stderr: string }) => e,
      );
      expect("code" in noBuildah && noBuildah.code).toBe(1);
      expect(noBuildah.stderr).toMatch(
        /^npm run image: buildah is not installed; install it with: apt-get install buildah mmdebstrap/,
      );
      expect(existsSync(join(scratch, "out"))).toBe(false);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("keeps the build's npm registry and CA out of its layers and history", async () => {
    const { stdout: registry } = await run("npm", ["config", "get", "registry"]);
    expect(history).not.toContain("NPM_REGISTRY");
    if (registry.trim() !== "https://registry.npmjs.org/") {
      expect(history).not.toContain(registry.trim());
      const where = ["app", "root", "etc", "usr/local"].map((d) => join(rootfs, d));
      const found = await run("grep", ["-rlF", registry.trim(), ...where]).catch(
        (e: { code?: number; stdout?: string }) =>
          e.code === 1 ? { stdout: "" } : Promise.reject(e),
      );
      expect(found.stdout).toBe("");
    }
    for (const p of ["run/secrets/ca.crt", "root/.npmrc", "app/.npmrc", "root/.npm"])
      expect(existsSync(join(rootfs, p)), p).toBe(false);
    const layers = await run("tar", ["-tf", join(dir, "coredog.oci.tar")]);
    expect(layers.stdout).toMatch(/blobs\/sha256\//);
    expect(statSync(join(dir, "coredog.oci.tar")).size).toBeGreaterThan(10_000_000);
  });
});
