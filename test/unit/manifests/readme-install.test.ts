// The README's install section starts with the image: its commands are the ones that work, and its
// kustomize overlay really points every CoreDog container at the pushed image.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "./render.js";

const readme = readFileSync(path.join(repoRoot, "README.md"), "utf8");
const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8"));
const install = readme.slice(
  readme.indexOf("## Install into a cluster"),
  readme.indexOf("## The kubectl plugin"),
);
const dir = mkdtempSync(path.join(tmpdir(), "coredog-readme-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("README: Install into a cluster", () => {
  it("keeps the two set-up commands at the top", () => {
    expect(readme.split("\n").slice(0, 6).join("\n")).toBe(
      [
        "# CoreDog",
        "",
        "```sh",
        "npm ci && npm run demo   # a real crash, end to end, on the built-in test rig (needs root)",
        "npm ci && npm test       # every check: runtime, lint, format, types, unit, end-to-end",
        "```",
      ].join("\n"),
    );
  });

  it("starts with building and pushing the image, then the manifests", () => {
    const first = install.indexOf("1. ");
    const docker = install.indexOf(
      `docker build -t REGISTRY/coredog:${pkg.version} . && docker push REGISTRY/coredog:${pkg.version}`,
    );
    const skopeo = install.indexOf(
      `skopeo copy oci-archive:.image/coredog.oci.tar docker://REGISTRY/coredog:${pkg.version}`,
    );
    const apply = install.indexOf("kubectl apply -k manifests");
    expect(first).toBeGreaterThan(-1);
    for (const at of [docker, skopeo]) {
      expect(at).toBeGreaterThan(first);
      expect(at).toBeLessThan(apply);
    }
    expect(install).toContain("npm run image");
    expect(pkg.scripts.image).toBe("bash scripts/build-image.sh");
  });

  it("shows a kustomize images: override that points both programs at the pushed image", () => {
    const overlay = /```yaml\n {0,3}(apiVersion: kustomize\.config\.k8s\.io[\s\S]*?)```/.exec(
      install,
    )?.[1];
    expect(overlay).toBeDefined();
    cpSync(path.join(repoRoot, "manifests"), path.join(dir, "manifests"), { recursive: true });
    mkdirSync(path.join(dir, "deploy"));
    writeFileSync(
      path.join(dir, "deploy", "kustomization.yaml"),
      overlay!.replace(/REGISTRY/g, "registry.example.com/team").replace(/^ {3}/gm, ""),
    );
    const out = execFileSync("kubectl", ["kustomize", path.join(dir, "deploy")], {
      encoding: "utf8",
    });
    const images = parseAllDocuments(out)
      .map((d) => d.toJS())
      .filter((d) => d?.spec?.template?.spec)
      .flatMap((d) =>
        d.spec.template.spec.containers.map((c: { image: string }) => `${d.kind}/${c.image}`),
      );
    expect(images.sort()).toEqual([
      `DaemonSet/registry.example.com/team/coredog:${pkg.version}`,
      `Deployment/registry.example.com/team/coredog:${pkg.version}`,
    ]);
  });
});
