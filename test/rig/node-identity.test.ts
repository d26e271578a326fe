// The rig gives a container's process the credentials the kubelet and the runtime would (identity.ts), and the
// runner really runs it with them.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { containerIdentity, type UserDb } from "./node/identity.js";
import { runContainer } from "./node/runner.js";

const db: UserDb = {
  passwd: "root:x:0:0::/root:/bin/bash\napp:x:1000:1000::/home/app:/bin/sh\n",
  group: "root:x:0:\napp:x:1000:\naudio:x:29:app,other\n",
};
const pod = (psc: NonNullable<V1Pod["spec"]>["securityContext"]): V1Pod => ({
  spec: { securityContext: psc, containers: [] },
});
const c = (sc?: V1Container["securityContext"]): V1Container => ({
  name: "c",
  securityContext: sc,
});

describe("containerIdentity", () => {
  it("takes runAsUser/runAsGroup from the container, then the pod", () => {
    expect(
      containerIdentity(pod({ runAsUser: 5, runAsGroup: 6 }), c({ runAsUser: 7 }), db),
    ).toEqual({
      uid: 7,
      gid: 6,
      groups: [],
    });
  });
  it("without runAsGroup: the uid's primary group in the image, else 0", () => {
    expect(containerIdentity(pod({ runAsUser: 1000 }), c(), db)).toEqual({
      uid: 1000,
      gid: 1000,
      groups: [29],
    });
    expect(containerIdentity(pod({ runAsUser: 1000680000 }), c(), db)).toEqual({
      uid: 1000680000,
      gid: 0,
      groups: [],
    });
  });
  it("adds supplementalGroups and fsGroup as supplementary groups", () => {
    expect(
      containerIdentity(
        pod({ runAsUser: 2000, runAsGroup: 3000, fsGroup: 4000, supplementalGroups: [5000, 4000] }),
        c(),
        db,
      ),
    ).toEqual({ uid: 2000, gid: 3000, groups: [5000, 4000] });
  });
  it("refuses runAsNonRoot with no user, like the kubelet", () => {
    expect(() => containerIdentity(pod({ runAsNonRoot: true }), c(), db)).toThrow(/runAsNonRoot/);
    expect(containerIdentity(pod({}), c(), db)).toEqual({ uid: 0, gid: 0, groups: [] });
  });
});

describe("runContainer with an identity", () => {
  it("runs the process with that uid, gid and supplementary groups", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rig-id-"));
    try {
      const log = join(dir, "log");
      const h = runContainer({
        command: ["/bin/sh", "-c", "id -u; id -g; id -G"],
        env: { PATH: "/usr/bin:/bin" },
        mounts: [],
        logFile: log,
        user: { uid: 1000680000, gid: 0, groups: [4000, 5000] },
      });
      expect((await h.exited).exitCode).toBe(0);
      const [u, g, all] = readFileSync(log, "utf8").trim().split("\n");
      expect(u).toBe("1000680000");
      expect(g).toBe("0");
      expect(all!.split(" ").map(Number).sort()).toEqual([0, 4000, 5000]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
