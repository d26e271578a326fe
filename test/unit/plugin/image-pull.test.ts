// CoreDog's own pods stuck without their image: doctor and status name the pods, the image and the fix
// (build and push it, then point the manifests at it).
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { runChecks, verdict, type DoctorInput } from "../../../plugin/lib/doctor.js";
import { imagePullFailures } from "../../../plugin/lib/image-pull.js";
import { buildStatus } from "../../../plugin/lib/status.js";

const IMAGE = "ghcr.io/coredog/coredog:0.1.0";

function pod(
  name: string,
  container: string,
  waiting?: { reason: string; message?: string },
): V1Pod {
  return {
    metadata: { name, namespace: "coredog-system" },
    spec: { nodeName: "node-1", containers: [{ name: container, image: IMAGE }] },
    status: {
      conditions: [{ type: "Ready", status: waiting ? "False" : "True" }],
      containerStatuses: [
        {
          name: container,
          image: IMAGE,
          imageID: "",
          ready: !waiting,
          restartCount: 0,
          state: waiting ? { waiting } : { running: {} },
        },
      ],
    },
  };
}

function input(webhookPods: V1Pod[], watcherPods: V1Pod[]): DoctorInput {
  return {
    now: new Date(),
    webhookConfig: { ok: true, value: null },
    webhookPods: { ok: true, value: webhookPods },
    tlsSecret: { ok: true, value: null },
    configMap: { ok: true, value: null },
    watcher: { ok: true, value: null },
    watcherPods: { ok: true, value: watcherPods },
  };
}

const backOff = {
  reason: "ImagePullBackOff",
  message: `Back-off pulling image "${IMAGE}": not found`,
};

describe("CoreDog's pods without their image", () => {
  it("finds ErrImagePull and ImagePullBackOff, not other waiting reasons", () => {
    const failures = imagePullFailures([
      pod("a", "webhook", backOff),
      pod("b", "webhook", { reason: "ErrImagePull" }),
      pod("c", "webhook", { reason: "CrashLoopBackOff" }),
      pod("d", "webhook"),
    ]);
    expect(failures.map((f) => `${f.pod}/${f.container} ${f.reason} ${f.image}`)).toEqual([
      `a/webhook ImagePullBackOff ${IMAGE}`,
      `b/webhook ErrImagePull ${IMAGE}`,
    ]);
  });

  it("doctor: the webhook check says the image cannot be pulled and how to fix it", () => {
    const checks = runChecks(
      input(
        [
          pod("coredog-webhook-1", "webhook", backOff),
          pod("coredog-webhook-2", "webhook", backOff),
        ],
        [],
      ),
    );
    const c = checks.find((x) => x.id === "webhook-pods")!;
    expect(c.status).toBe("fail");
    expect(c.detail).toContain(`0/2 ready, 2 pod(s) cannot pull ${IMAGE} (ImagePullBackOff)`);
    expect(c.fix).toContain(
      "docker build -t REGISTRY/coredog:0.1.0 . && docker push REGISTRY/coredog:0.1.0",
    );
    expect(c.fix).toContain("skopeo copy oci-archive:.image/coredog.oci.tar");
    expect(c.fix).toContain("kustomize images: override");
    expect(c.fix).not.toContain("certificate");
    expect(verdict(checks)).toBe("problems");
  });

  it("doctor: watcher pods without their image fail a check of their own", () => {
    const checks = runChecks(
      input(
        [pod("coredog-webhook-1", "webhook")],
        [pod("coredog-watcher-x", "watcher", { reason: "ErrImagePull" })],
      ),
    );
    const c = checks.find((x) => x.id === "watcher-image")!;
    expect(c.status).toBe("fail");
    expect(c.detail).toBe(`1 pod(s) cannot pull ${IMAGE} (ErrImagePull)`);
    expect(c.fix).toContain("docker push");
    // Healthy watchers: no such check.
    const fine = runChecks(
      input([pod("coredog-webhook-1", "webhook")], [pod("coredog-watcher-x", "watcher")]),
    );
    expect(fine.some((x) => x.id === "watcher-image")).toBe(false);
  });

  it("status: lists the pods that cannot pull", () => {
    const { now: _now, ...rest } = input(
      [pod("coredog-webhook-1", "webhook", backOff)],
      [pod("w", "watcher")],
    );
    const s = buildStatus(rest);
    expect(s.imagePull).toEqual([
      {
        pod: "coredog-webhook-1",
        container: "webhook",
        image: IMAGE,
        reason: "ImagePullBackOff",
        message: backOff.message,
      },
    ]);
    expect(s.webhook.ready).toBe(0);
  });
});
