import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { blockedUsers, canCreateIn, containerUsers } from "../../../src/dir-write.js";

const mount = [{ name: "coredog-dumps", mountPath: "/corefile" }];
const pod = (spec: Partial<NonNullable<V1Pod["spec"]>>): V1Pod => ({
  spec: { containers: [{ name: "app", volumeMounts: mount }], ...spec },
});
const root = (mode: string) => ({ mode, uid: 0, gid: 0 });

describe("canCreateIn", () => {
  it("needs write and search permission from the class the user falls in", () => {
    const u = (uid: number, gid = uid, groups: number[] = []) => ({ uid, gid, groups });
    expect(canCreateIn(root("0755"), u(0))).toBe(true);
    expect(canCreateIn(root("0755"), u(1000))).toBe(false);
    expect(canCreateIn(root("1733"), u(1000))).toBe(true);
    expect(canCreateIn(root("1733"), u(1000680000, 0))).toBe(true);
    expect(canCreateIn(root("0775"), u(1000, 0))).toBe(true); // group 0: the group bits
    expect(canCreateIn(root("0775"), u(1000, 5, [0]))).toBe(true);
    expect(canCreateIn(root("0775"), u(1000, 5))).toBe(false);
    expect(canCreateIn({ mode: "0700", uid: 1000, gid: 0 }, u(1000))).toBe(true); // owner
    expect(canCreateIn(root("1731"), u(1000))).toBe(false); // execute only
  });
});

describe("containerUsers / blockedUsers", () => {
  it("reads runAsUser/runAsGroup per container, fsGroup and supplementalGroups from the pod", () => {
    const p = pod({
      securityContext: { runAsUser: 1000, fsGroup: 4000, supplementalGroups: [5000] },
      initContainers: [
        {
          name: "migrate",
          securityContext: { runAsUser: 1001, runAsGroup: 7 },
          volumeMounts: mount,
        },
        { name: "untouched" },
      ],
    });
    expect(containerUsers(p)).toEqual([
      { container: "migrate", init: true, uid: 1001, gid: 7, groups: [5000, 4000] },
      { container: "app", init: false, uid: 1000, groups: [5000, 4000] },
    ]);
    expect(blockedUsers(p, root("0755")).map((b) => b.user.container)).toEqual(["migrate", "app"]);
    expect(blockedUsers(p, root("1733"))).toEqual([]);
  });
  it("marks a container without runAsUser as unknown (the image's USER decides)", () => {
    const b = blockedUsers(pod({}), root("0755"));
    expect(b).toHaveLength(1);
    expect(b[0]!.unknown).toBe(true);
  });
});
