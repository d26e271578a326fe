// One rule for where the webhook and the watcher find the API server.
import { describe, expect, it } from "vitest";
import { kubeConfigSource } from "../../../controller/kubeconfig.js";

describe("kubeConfigSource", () => {
  const host = { KUBERNETES_SERVICE_HOST: "10.96.0.1" };
  it("--kubeconfig wins over everything", () => {
    expect(kubeConfigSource("/etc/kc", { ...host, KUBECONFIG: "/x" }, () => true)).toEqual({
      kind: "file",
      file: "/etc/kc",
    });
  });
  it("in a cluster only with the service host and the service-account token both there", () => {
    expect(kubeConfigSource(undefined, host, () => true)).toEqual({ kind: "in-cluster" });
    expect(kubeConfigSource(undefined, host, () => false)).toEqual({ kind: "none" });
    expect(kubeConfigSource(undefined, { ...host, KUBECONFIG: "/x" }, () => false)).toEqual({
      kind: "env",
    });
  });
  it("else $KUBECONFIG, else nothing", () => {
    expect(kubeConfigSource(undefined, { KUBECONFIG: "/x" }, () => true)).toEqual({ kind: "env" });
    expect(kubeConfigSource(undefined, {}, () => true)).toEqual({ kind: "none" });
  });
});
