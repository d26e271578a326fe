import { describe, expect, it } from "vitest";
import { reflect, type Listed } from "../../../plugin/tui/reflector.js";

type Obj = { metadata: { name: string; resourceVersion: string } };
const obj = (name: string, rv: string): Obj => ({ metadata: { name, resourceVersion: rv } });

type WatchScript = (
  emit: (phase: string, o: unknown) => void,
  done: (err: unknown) => void,
) => void;

/** A reflector over scripted list/watch calls; records what it was asked and what it saw. */
function harness(lists: (() => Listed<Obj>)[], watches: WatchScript[]) {
  const calls: string[] = [];
  const statuses: string[] = [];
  const seen: string[][] = [];
  const controller = new AbortController();
  let l = 0;
  let w = 0;
  const finished = reflect<Obj>({
    list: async () => {
      calls.push("list");
      const next = lists[Math.min(l++, lists.length - 1)]!;
      return next();
    },
    watch: async (rv, onEvent, done) => {
      calls.push(`watch@${rv}`);
      const script = watches[w++];
      if (script) setTimeout(() => script(onEvent as (p: string, o: unknown) => void, done), 5);
      return { abort: () => calls.push("abort") };
    },
    key: (o) => o.metadata.name,
    onChange: (items) => seen.push([...items.keys()].sort()),
    onStatus: (s, err) => statuses.push(err ? `${s}: ${err}` : s),
    signal: controller.signal,
    initialBackoffMs: 10,
    maxBackoffMs: 40,
  });
  return { calls, statuses, seen, stop: () => controller.abort(), finished };
}

async function waitFor(check: () => boolean, ms = 2000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("reflector", () => {
  it("lists, then applies watch events from the list's resourceVersion", async () => {
    const h = harness(
      [() => ({ items: [obj("a", "1")], metadata: { resourceVersion: "5" } })],
      [
        (emit) => {
          emit("ADDED", obj("b", "6"));
          emit("MODIFIED", obj("a", "7"));
          emit("DELETED", obj("b", "8"));
        },
      ],
    );
    await waitFor(() => h.seen.length >= 4);
    h.stop();
    await h.finished;
    expect(h.calls.slice(0, 2)).toEqual(["list", "watch@5"]);
    expect(h.seen).toEqual([["a"], ["a", "b"], ["a", "b"], ["a"]]);
    expect(h.statuses).toEqual(["live"]);
  });

  it("after the server drops the watch with an error: reconnecting, backoff, re-list, watch again", async () => {
    const h = harness(
      [
        () => ({ items: [obj("a", "1")], metadata: { resourceVersion: "5" } }),
        () => {
          throw new Error("connect ECONNREFUSED 127.0.0.1:6443");
        },
        () => ({ items: [obj("c", "9")], metadata: { resourceVersion: "9" } }),
      ],
      [(_emit, done) => done(new Error("socket hang up"))],
    );
    await waitFor(() => h.calls.includes("watch@9"));
    h.stop();
    await h.finished;
    expect(h.calls.filter((c) => c !== "abort")).toEqual([
      "list",
      "watch@5",
      "list",
      "list",
      "watch@9",
    ]);
    expect(h.statuses).toEqual([
      "live",
      "reconnecting: socket hang up",
      "reconnecting: connect ECONNREFUSED 127.0.0.1:6443",
      "live",
    ]);
    // Objects deleted while disconnected are gone after the re-list.
    expect(h.seen.at(-1)).toEqual(["c"]);
  });

  it("410 Gone (ERROR event): re-lists at once", async () => {
    const h = harness(
      [
        () => ({ items: [], metadata: { resourceVersion: "5" } }),
        () => ({ items: [obj("z", "50")], metadata: { resourceVersion: "50" } }),
      ],
      [(emit) => emit("ERROR", { kind: "Status", code: 410, message: "too old resource version" })],
    );
    await waitFor(() => h.calls.includes("watch@50"));
    h.stop();
    await h.finished;
    expect(h.calls.filter((c) => c !== "abort")).toEqual(["list", "watch@5", "list", "watch@50"]);
    expect(h.statuses).toEqual(["live", "live"]);
  });

  it("a clean end of a long watch continues from the last resourceVersion without a re-list", async () => {
    const h = harness(
      [() => ({ items: [], metadata: { resourceVersion: "5" } })],
      [
        (emit, done) => {
          emit("ADDED", obj("a", "6"));
          emit("BOOKMARK", { metadata: { resourceVersion: "12" } });
          setTimeout(() => done(null), 1100);
        },
      ],
    );
    await waitFor(() => h.calls.includes("watch@12"), 4000);
    h.stop();
    await h.finished;
    expect(h.calls.filter((c) => c === "list")).toHaveLength(1);
  });

  it("stops when aborted, aborting the running watch", async () => {
    const h = harness([() => ({ items: [], metadata: { resourceVersion: "1" } })], []);
    await waitFor(() => h.calls.includes("watch@1"));
    h.stop();
    await h.finished;
    expect(h.calls).toContain("abort");
  });
});
