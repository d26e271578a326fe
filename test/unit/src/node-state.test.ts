import { describe, expect, it } from "vitest";
import { parseNodeState, type NodeState } from "../../../src/node-state.js";

const full: NodeState = {
  node: "node-1",
  corePattern: "/corefile/core.%e.%p.%h.%t",
  filesWaiting: 2,
  bytesWaiting: 4096,
  lastUpload: { at: "2026-11-27T06:00:00.000Z", key: "corefiles/ns/p/t-core.1", bytes: 100 },
  lastError: { at: "2026-11-27T06:01:00.000Z", message: "upload of x failed" },
  settingsError: "Watcher.maxParallelUploads: expected a number",
  updatedAt: "2026-11-27T06:02:00.000Z",
  configuredPath: "/corefile",
};

describe("parseNodeState", () => {
  it("round-trips what the watcher publishes", () => {
    expect(parseNodeState(JSON.stringify(full))).toEqual(full);
  });

  it("accepts the minimal state and an unreadable core_pattern (null)", () => {
    const min = {
      node: "n",
      corePattern: null,
      filesWaiting: 0,
      bytesWaiting: 0,
      updatedAt: "t",
      configuredPath: "/c",
    };
    expect(parseNodeState(JSON.stringify(min))).toEqual(min);
  });

  it("round-trips the limits; refuses an unknown limit", () => {
    const limits = {
      dirBytes: 1000,
      fsFreeBytes: 5000,
      maxUseBytes: 900,
      keepFreeBytes: 100,
      active: [{ limit: "maxUse" as const, since: "t", why: "MaxUse: 1000 bytes" }],
    };
    expect(parseNodeState(JSON.stringify({ ...full, limits }))).toEqual({ ...full, limits });
    const bad = { ...limits, active: [{ limit: "nope", since: "t", why: "w" }] };
    expect(parseNodeState(JSON.stringify({ ...full, limits: bad }))).toBeNull();
  });

  it("drops unknown keys", () => {
    const s = parseNodeState(JSON.stringify({ ...full, extra: 1 }));
    expect(s).not.toHaveProperty("extra");
  });

  it.each([
    ["not JSON", "{nope"],
    ["empty", ""],
    ["an array", "[]"],
    ["null", "null"],
    ["a missing node", JSON.stringify({ ...full, node: undefined })],
    ["negative counts", JSON.stringify({ ...full, filesWaiting: -1 })],
    ["fractional counts", JSON.stringify({ ...full, bytesWaiting: 1.5 })],
    ["a wrong lastUpload", JSON.stringify({ ...full, lastUpload: { at: "t" } })],
    ["a numeric corePattern", JSON.stringify({ ...full, corePattern: 5 })],
  ])("returns null for %s", (_what, text) => {
    expect(parseNodeState(text)).toBeNull();
  });
});
