import { afterEach, describe, expect, it } from "vitest";
import { cleanup } from "ink-testing-library";
import { deleteRequest, resultText, type PurgeReview } from "../../../plugin/tui/purge-flow.js";
import { dumpFile, FakeSource, pod } from "./fake.js";
import { KEYS, setup } from "./harness.js";

const MiB = 1024 * 1024;

function cluster() {
  const source = new FakeSource({
    pods: [pod("shop", "api-7d9f-aaaaa", { node: "node-2" }), pod("shop", "api-7d9f-bbbbb")],
  });
  source.disk = {
    "node-1": [
      dumpFile("node-1", "core.app.1", 3 * MiB, 48),
      dumpFile("node-1", "core.app.2", 1024, 1),
    ],
    "node-2": [dumpFile("node-2", "core.app.3", 2 * MiB, 30)],
    "node-3": [dumpFile("node-3", "core.app.4", 5 * MiB, 200)],
  };
  return source;
}

/** Opens the emergency menu and its purge entry (the 9th). */
async function openPurge(ui: ReturnType<typeof setup>) {
  await ui.press("!");
  await ui.until(/9\. purge dumps.*\[cannot be undone\]/);
  await ui.press("9");
  await ui.until(/all nodes \(3\)/);
}

afterEach(() => cleanup());

describe("tui emergency purge", () => {
  it("chooses nodes and an age, shows progress, then the dry-run listing; cancel deletes nothing", async () => {
    const source = cluster();
    const ui = setup(source);
    await openPurge(ui);
    let f = ui.frame();
    expect(f).toContain("Purge dumps: delete core files under /data/coredog-system/dumps");
    expect(f).toContain("> (•) all nodes (3)");
    expect(f).toContain("( ) the node of the selected pod shop/api-7d9f-aaaaa: node-2");
    expect(f).toMatch(/\[ \] node-1[\s\S]*\[ \] node-2[\s\S]*\[ \] node-3/);
    expect(f).toContain("[any age]");

    // Pick node-1 and node-3 (rows: all, pod's node, node-1, node-2, node-3), age 24h.
    await ui.press("j", "j", " ", "j", "j", " ", "t", "t");
    f = ui.frame();
    expect(f).toContain("[x] node-1");
    expect(f).toContain("[ ] node-2");
    expect(f).toContain("[x] node-3");
    expect(f).toContain("( ) all nodes");
    expect(f).toContain("[older than 24h]");

    let release!: () => void;
    source.purgeGate = new Promise<void>((r) => (release = r));
    await ui.press(KEYS.enter);
    await ui.until(/node-1: 1 file\(s\), 3\.0 MiB/);
    f = ui.frame();
    expect(f).toContain("listing files, older than 24h, on node-1, node-3 (1/2 nodes done)");
    expect(f).toContain("node-3: listing…");
    release();
    await ui.until(/Delete these 2 file\(s\)/);
    f = ui.frame();
    expect(f).toContain("dry run (nothing deleted yet): older than 24h, on node-1, node-3");
    expect(f).toMatch(/NODE\s+SIZE\s+MODIFIED\s+PATH/);
    expect(f).toMatch(
      /node-1\s+3\.0 MiB\s+2026-11-25T12:00\s+\/data\/coredog-system\/dumps\/shop\/p\/core\.app\.1/,
    );
    expect(f).toMatch(
      /node-3\s+5\.0 MiB\s+\S+\s+\/data\/coredog-system\/dumps\/shop\/p\/core\.app\.4/,
    );
    expect(f).not.toContain("core.app.2");
    expect(f).toContain("Total: 2 file(s), 8.0 MiB");
    expect(f).toContain("This cannot be undone");
    expect(f).toMatch(/y delete\s+n\/Esc cancel/);
    expect(source.purgeCalls).toMatchObject([
      { nodes: ["node-1", "node-3"], olderThanMinutes: 1440, delete: false },
    ]);

    await ui.press("n");
    await ui.until(/purge cancelled: nothing was deleted/);
    expect(source.purgeCalls).toHaveLength(1);
    expect(source.disk["node-1"]).toHaveLength(2);
    expect(source.disk["node-3"]).toHaveLength(1);
    expect(ui.frame()).toMatch(/NAMESPACE\s+POD/);
  });

  it("y deletes with the listing's options and reports the files and bytes deleted", async () => {
    const source = cluster();
    const ui = setup(source);
    await openPurge(ui);
    await ui.press("t", "t", KEYS.enter);
    await ui.until(/Delete these 3 file\(s\) on node-1, node-2, node-3 for good\?/);
    await ui.press("y");
    await ui.until(/Deleted 3 file\(s\), 10\.0 MiB in total\. This cannot be undone\./);
    expect(ui.frame()).toContain("node-1: deleted 1 file(s), 3.0 MiB");
    expect(ui.frame()).toContain("node-3: deleted 1 file(s), 5.0 MiB");
    await ui.press(KEYS.enter);
    await ui.until(
      /done: purge deleted 3 file\(s\), 10\.0 MiB, on node-1, node-2, node-3 \(this cannot be undone\)/,
    );
    const [listing, deletion] = source.purgeCalls;
    expect(listing).toMatchObject({
      nodes: ["node-1", "node-2", "node-3"],
      olderThanMinutes: 1440,
      delete: false,
    });
    expect(deletion).toEqual({ ...listing, delete: true });
    expect(listing!.notNewerThan).toBeInstanceOf(Date); // the delete spares cores written after the listing began
    expect(source.disk["node-1"]!.map((f) => f.path)).toEqual([
      "/data/coredog-system/dumps/shop/p/core.app.2",
    ]);
    expect(source.disk["node-2"]).toEqual([]);
  });

  it("the node of the selected pod; any age; Esc in the listing cancels", async () => {
    const source = cluster();
    const ui = setup(source);
    await openPurge(ui);
    await ui.press(KEYS.down, " ", KEYS.right, KEYS.left);
    expect(ui.frame()).toContain("(•) the node of the selected pod shop/api-7d9f-aaaaa: node-2");
    expect(ui.frame()).toContain("[any age]");
    await ui.press(KEYS.enter);
    await ui.until(/Delete these 1 file\(s\) on node-2/);
    expect(source.purgeCalls).toMatchObject([
      { nodes: ["node-2"], olderThanMinutes: undefined, delete: false },
    ]);
    await ui.press(KEYS.escape);
    await ui.until(/purge cancelled: nothing was deleted/);

    // Esc while the listing pods run: back to the list, the late answer changes nothing.
    source.purgeGate = new Promise<void>(() => undefined);
    await openPurge(ui);
    await ui.press(KEYS.enter);
    await ui.until(/listing files/);
    await ui.press(KEYS.escape);
    await ui.until(/purge cancelled: nothing was deleted/);
    expect(source.purgeCalls.every((c) => !c.delete)).toBe(true);
    expect(source.disk["node-2"]).toHaveLength(1);
  });

  it("errors stay in the UI: a failing node, no node list, nothing chosen, a failed purge", async () => {
    const source = cluster();
    source.purgeErrors["node-2"] = "the purge pod on node node-2 failed: permission denied";
    const ui = setup(source);
    await openPurge(ui);
    await ui.press(KEYS.enter);
    await ui.until(/Delete these 3 file\(s\) on node-1, node-3/);
    expect(ui.frame()).toContain(
      "failed: node-2: the purge pod on node node-2 failed: permission denied",
    );
    await ui.press("y");
    await ui.until(/Deleted 3 file\(s\), 8\.0 MiB in total/);
    // Never deletes where nobody saw the listing.
    expect(source.purgeCalls[1]).toMatchObject({
      nodes: ["node-1", "node-3"],
      olderThanMinutes: undefined,
      delete: true,
    });
    expect(ui.frame()).not.toContain("node-2: failed");
    await ui.press(KEYS.escape);
    await ui.until(/purge deleted 3 file\(s\), 8\.0 MiB, on node-1, node-3/);
    expect(source.disk["node-2"]).toHaveLength(1);

    // Picking nothing: told so, nothing runs.
    const calls = source.purgeCalls.length;
    await openPurge(ui);
    await ui.press("j", "j", " ", " ", KEYS.enter);
    await ui.until(/choose at least one node \(Space\)/);
    expect(source.purgeCalls).toHaveLength(calls);
    await ui.press(KEYS.escape);

    // The node list cannot be read: said in the view; "all" cannot run, the pod's node still can.
    source.nodesError = 'nodes is forbidden: User "dev" cannot list resource "nodes"';
    await ui.press("!", "9");
    await ui.until(/cannot list the nodes: nodes is forbidden/);
    await ui.press(KEYS.enter);
    await ui.until(/without the node list, only the selected pod's node can be chosen/);
    expect(source.purgeCalls).toHaveLength(calls);

    // The whole purge rejected: an error line, back to the list.
    source.purgeFailure = "still connecting to the cluster";
    await ui.press("j", " ", KEYS.enter);
    await ui.until(/error: purge: still connecting to the cluster/);
    expect(ui.frame()).toMatch(/NAMESPACE\s+POD/);
  });

  it("nothing to purge: says so and only closes", async () => {
    const source = cluster();
    source.disk = {};
    const ui = setup(source);
    await openPurge(ui);
    await ui.press(KEYS.enter);
    await ui.until(/no files to purge · Esc close/);
    expect(ui.frame()).toContain("Total: 0 file(s), 0 B");
    await ui.press("y");
    expect(source.purgeCalls).toHaveLength(1);
    await ui.press(KEYS.escape);
    await ui.until(/purge cancelled: nothing was deleted/);
  });

  it("a long listing scrolls and keeps the prompt on screen", async () => {
    const source = cluster();
    source.disk = {
      "node-1": Array.from({ length: 40 }, (_, i) => dumpFile("node-1", `core.${i}`, 1024, 50)),
    };
    const ui = setup(source, { rows: 24 });
    await openPurge(ui);
    await ui.press(KEYS.enter);
    await ui.until(/Delete these 40 file\(s\)/);
    expect(ui.frame().split("\n").length).toBeLessThanOrEqual(24);
    expect(ui.frame()).toMatch(/… \d+ more \(↑↓ scroll\)/);
    expect(ui.frame()).toMatch(/core\.0 *\n/);
    await ui.press("j", "j");
    expect(ui.frame()).not.toMatch(/core\.0 *\n/);
    expect(ui.frame()).toMatch(/core\.2 *\n/);
    expect(ui.frame()).toContain("Delete these 40 file(s)");
  });
});

describe("purge flow helpers", () => {
  const review = (results: PurgeReview["results"]): PurgeReview => ({
    step: "review",
    request: { nodes: results.map((r) => r.node), olderThanMinutes: 60, delete: false },
    results,
    offset: 0,
  });

  it("deletes only where files were listed, with the same age", () => {
    expect(
      deleteRequest(
        review([
          { node: "a", files: [dumpFile("a", "c", 1, 2)] },
          { node: "b", files: [] },
          { node: "c", error: "boom" },
        ]),
      ),
    ).toMatchObject({ nodes: ["a"], olderThanMinutes: 60, delete: true });
    expect(deleteRequest(review([{ node: "a", files: [] }]))).toBeUndefined();
  });

  it("the result line: done, partly failed, failed", () => {
    const one = { node: "a", files: [dumpFile("a", "c", 2048, 2)] };
    expect(resultText([one])).toEqual({
      text: "done: purge deleted 1 file(s), 2.0 KiB, on a (this cannot be undone)",
      tone: "ok",
    });
    expect(resultText([one, { node: "b", error: "x" }]).tone).toBe("warn");
    expect(resultText([{ node: "b", error: "x" }])).toEqual({
      text: "error: purge: b: x",
      tone: "bad",
    });
  });
});
