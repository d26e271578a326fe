// enable/disable are one plan for the CLI and the TUI: the webhook's decision first, the annotation changes, and
// what happens to the running pods, told truthfully for each update strategy (OnDelete rolls nothing).
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path, { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiServer } from "../../rig/apiserver/index.js";
import { connect, type Cluster } from "../../../plugin/lib/kube.js";
import { prepareAction } from "../../../plugin/tui/actions.js";

const exec = promisify(execFile);
const root = fileURLToPath(new URL("../../..", import.meta.url));
let server: Awaited<ReturnType<typeof startApiServer>>;
let dir: string;
let cluster: Cluster;

const template = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: "app", image: "registry.example/app:1" }] },
});

async function cli(args: string[]) {
  return exec(
    path.join(root, "bin", "kubectl-coredog"),
    [...args, "--kubeconfig", server.kubeconfigPath],
    {
      env: {
        ...process.env,
        PATH: `${path.join(root, "node_modules/.bin")}:${process.env.PATH}`,
        NO_COLOR: "1",
      },
      encoding: "utf8",
    },
  );
}

const ownedPod = (name: string, kind: string, owner: string): V1Pod => ({
  metadata: {
    name,
    namespace: "shop",
    ownerReferences: [
      { apiVersion: "apps/v1", kind, name: owner, uid: "u-" + owner, controller: true },
    ],
  },
  spec: { containers: [{ name: "app", image: "registry.example/app:1" }] },
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "coredog-enablement-"));
  server = await startApiServer({ dir });
  cluster = await connect({ kubeconfig: server.kubeconfigPath });
  await cluster.core.createNamespace({ body: { metadata: { name: "shop" } } });
  for (const [name, strategy] of [
    ["db", "OnDelete"],
    ["cache", "RollingUpdate"],
  ] as const) {
    await cluster.apps.createNamespacedStatefulSet({
      namespace: "shop",
      body: {
        metadata: { name },
        spec: {
          serviceName: name,
          selector: { matchLabels: { app: name } },
          updateStrategy: { type: strategy },
          template: template(name),
        },
      },
    });
  }
  await cluster.apps.createNamespacedDaemonSet({
    namespace: "shop",
    body: {
      metadata: { name: "agent" },
      spec: {
        selector: { matchLabels: { app: "agent" } },
        updateStrategy: { type: "OnDelete" },
        template: template("agent"),
      },
    },
  });
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("enable and disable: one plan for the CLI and the TUI", () => {
  it("the CLI says an OnDelete StatefulSet rolls nothing, and a RollingUpdate one rolls", async () => {
    let r = await cli(["enable", "sts/db", "-n", "shop"]);
    expect(r.stdout).toMatch(/statefulsets\/db enabled: cores go to \/corefile in app/);
    expect(r.stdout).toMatch(
      /updateStrategy OnDelete, so nothing rolls: its pods get the directory once you delete them/,
    );
    expect(r.stdout).not.toMatch(/rolling out/);
    r = await cli(["enable", "sts/cache", "-n", "shop"]);
    expect(r.stdout).toMatch(/statefulsets\/cache is rolling out: its new pods get the directory/);
    r = await cli(["disable", "sts/db", "-n", "shop"]);
    expect(r.stdout).toMatch(
      /statefulsets\/db disabled\n.*OnDelete, so nothing rolls: its pods come without the directory once you delete them/,
    );
  });

  it("the TUI tells the same for an OnDelete DaemonSet's pod, and refuses a restart that would roll nothing", async () => {
    const pod = ownedPod("agent-x1", "DaemonSet", "agent");
    const podOf = () => pod;
    const enable = await prepareAction(
      cluster,
      { kind: "enable", namespace: "shop", pod: "agent-x1" },
      podOf,
    );
    expect(enable.refused).toBeUndefined();
    expect(enable.changes).toContain(
      '+ coredog.io/inject: "true" (pod template of daemonsets/agent)',
    );
    expect(enable.done).toMatch(/OnDelete, so nothing rolls/);
    expect(enable.done).not.toMatch(/rolls its pods/);
    await enable.apply();
    const again = await prepareAction(
      cluster,
      { kind: "enable", namespace: "shop", pod: "agent-x1" },
      podOf,
    );
    expect(again.noop).toBe("daemonsets/agent is already enabled");
    const restart = await prepareAction(
      cluster,
      { kind: "restart", namespace: "shop", pod: "agent-x1" },
      podOf,
    );
    expect(restart.refused).toMatch(/OnDelete, so a restart rolls nothing: delete its pods/);
    const disable = await prepareAction(
      cluster,
      { kind: "disable", namespace: "shop", pod: "agent-x1" },
      podOf,
    );
    expect(disable.changes).toEqual(["- coredog.io/inject", "- coredog.io/path"]);
    expect(disable.done).toMatch(/OnDelete/);
  });

  it("the TUI and the CLI agree for a RollingUpdate StatefulSet's pod", async () => {
    const pod = ownedPod("cache-0", "StatefulSet", "cache");
    const disable = await prepareAction(
      cluster,
      { kind: "disable", namespace: "shop", pod: "cache-0" },
      () => pod,
    );
    expect(disable.done).toBe(
      "statefulsets/cache disabled: statefulsets/cache is rolling out: its new pods come without the directory",
    );
  });
});
