// Small pieces of the watcher: flags, container matching, backoff, the journal file format, empty-directory sweep.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../controller/log.js";
import { parseListen, parseWatcherArgs } from "../../../controller/watcher/args.js";
import { matchContainer } from "../../../controller/watcher/container.js";
import { DiskGuard } from "../../../controller/watcher/disk-guard.js";
import { Journal, type JournalEntry } from "../../../controller/watcher/journal.js";
import { backoffDelay } from "../../../controller/retry.js";
import type { PodInfo } from "../../../controller/watcher/types.js";

describe("watcher flags", () => {
  it("parses --listen as :port or IP:port", () => {
    expect(parseListen(":9090")).toEqual({ host: "0.0.0.0", port: 9090 });
    expect(parseListen("127.0.0.1:0")).toEqual({ host: "127.0.0.1", port: 0 });
    expect(parseListen("[::1]:9090")).toEqual({ host: "::1", port: 9090 });
    expect(parseListen("9090")).toBeNull();
    expect(parseListen(":70000")).toBeNull();
  });

  it("defaults the node name from $NODE_NAME, the journal below the dir, host IP from $HOST_IP", () => {
    const r = parseWatcherArgs(["--dir", "/corefile", "--config", "c.yaml"], {
      NODE_NAME: "n1",
      HOST_IP: "10.0.0.5",
    });
    expect(r.ok && r.options).toMatchObject({
      dir: "/corefile",
      nodeName: "n1",
      hostIP: "10.0.0.5",
      journal: "/corefile/.coredog",
      listen: { host: "0.0.0.0", port: 9090 },
      configureCorePattern: false,
      logFormat: "logfmt",
    });
  });

  it("rejects a missing node name, a bad listen address, a bad log format and unknown flags", () => {
    expect(parseWatcherArgs(["--dir", "/x"], {})).toMatchObject({ ok: false, error: /node-name/ });
    expect(parseWatcherArgs(["--node-name", "n", "--listen", "x"], {})).toMatchObject({
      ok: false,
      error: /listen/,
    });
    expect(parseWatcherArgs(["--node-name", "n", "--log-format", "xml"], {})).toMatchObject({
      ok: false,
      error: /log-format/,
    });
    expect(parseWatcherArgs(["--node-name", "n", "--bogus"], {})).toMatchObject({ ok: false });
    expect(parseWatcherArgs(["--help"], {})).toEqual({ ok: false, help: true });
  });
});

describe("matchContainer", () => {
  const pod = (
    containers: string[],
    images: Record<string, string>,
    targeted?: string[],
  ): PodInfo => ({
    namespace: "ns",
    name: "p",
    containers,
    images,
    ...(targeted ? { targetedContainers: targeted } : {}),
  });

  it("is exact when the webhook targeted one container", () => {
    expect(matchContainer(pod(["app", "sidecar"], {}, ["sidecar"]), "/usr/bin/app")).toBe(
      "sidecar",
    );
  });
  it("takes the only container", () => {
    expect(matchContainer(pod(["app"], {}), undefined)).toBe("app");
  });
  it("matches the executable to a container name or image name", () => {
    const p = pod(["web", "cache"], {
      web: "nginx:1.27",
      cache: "docker.io/library/redis:7@sha256:ab",
    });
    expect(matchContainer(p, "/usr/sbin/nginx")).toBe("web");
    expect(matchContainer(p, "/usr/local/bin/redis-server")).toBe("cache");
    expect(matchContainer(pod(["api", "worker"], {}), "/app/worker")).toBe("worker");
  });
  it("is unknown when nothing or several match", () => {
    expect(matchContainer(pod(["a", "b"], { a: "x", b: "y" }), "/bin/bash")).toBeUndefined();
    expect(matchContainer(pod(["a", "b"], { a: "bash", b: "bash" }), "/bin/bash")).toBeUndefined();
    expect(matchContainer(pod(["a", "b"], {}), undefined)).toBeUndefined();
  });
});

describe("backoffDelay", () => {
  it("doubles up to the cap, with jitter in the upper half", () => {
    const b = { baseMs: 1000, maxMs: 30_000 };
    expect(backoffDelay(1, b, () => 0)).toBe(500);
    expect(backoffDelay(1, b, () => 1)).toBe(1000);
    expect(backoffDelay(3, b, () => 1)).toBe(4000);
    expect(backoffDelay(20, b, () => 1)).toBe(30_000);
    expect(backoffDelay(20, b, () => 0)).toBe(15_000);
  });
});

describe("Journal", () => {
  it("writes one JSON file per core atomically and loads it back, skipping temp files and junk", async () => {
    const root = mkdtempSync(join(tmpdir(), "cdw-journal-"));
    try {
      const j = new Journal(root);
      await j.load();
      const e: JournalEntry = {
        id: "1-2-3-4",
        path: "/x/ns/p/core.1",
        file: "core.1",
        size: 3,
        mtimeMs: 4,
        state: "captured",
        capturedAt: "2026-11-27T00:00:00.000Z",
        attempts: 0,
        updatedAt: "",
      };
      await j.put(e);
      e.state = "uploaded";
      await j.put(e);
      writeFileSync(join(root, "cores", "x.json.tmp-1-1"), "{");
      writeFileSync(join(root, "cores", "bad.json"), "{");
      expect(readdirSync(join(root, "cores")).sort()).toEqual([
        "1-2-3-4.json",
        "bad.json",
        "x.json.tmp-1-1",
      ]);
      const again = new Journal(root);
      const bad = await again.load();
      expect(bad).toEqual([join(root, "cores", "bad.json")]);
      expect(again.get("1-2-3-4")?.state).toBe("uploaded");
      expect(existsSync(join(root, "cores", "x.json.tmp-1-1"))).toBe(false);
      await again.remove("1-2-3-4");
      expect(again.all()).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("DiskGuard.sweep", () => {
  it("removes empty directories of deleted pods after the grace period, never of live pods", async () => {
    const root = mkdtempSync(join(tmpdir(), "cdw-sweep-"));
    try {
      for (const d of ["ns/gone/app", "ns/alive/app", "ns/fresh", "other/gone2"])
        mkdirSync(join(root, d), { recursive: true });
      const old = new Date(Date.now() - 3600_000);
      for (const d of ["ns/gone/app", "ns/alive/app", "ns/gone", "ns/alive", "other/gone2"])
        utimesSync(join(root, d), old, old);
      const lines: string[] = [];
      const guard = new DiskGuard({
        log: createLogger({ write: (l) => lines.push(l) }),
        pipeline: { uploadedFiles: async () => [], deleteStored: async () => false },
        alert: () => undefined,
        podExists: async (_ns, pod) => pod === "alive" || pod === "fresh",
        emptyDirGraceMs: 60_000,
      });
      const scan = {
        files: 0,
        bytes: 0,
        emptyPodDirs: ["ns/gone", "ns/alive", "ns/fresh", "other/gone2"].map((d) => ({
          path: join(root, d),
          mtimeMs: d === "ns/fresh" ? Date.now() : old.getTime(),
          namespace: d.split("/")[0]!,
          pod: d.split("/")[1]!,
        })),
        emptyContainerDirs: ["ns/gone/app", "ns/alive/app"].map((d) => ({
          path: join(root, d),
          mtimeMs: old.getTime(),
          namespace: d.split("/")[0]!,
          pod: d.split("/")[1]!,
        })),
        emptyNamespaceDirs: [],
      };
      await guard.sweep(scan);
      expect(existsSync(join(root, "ns/alive/app"))).toBe(true);
      expect(existsSync(join(root, "ns/gone"))).toBe(false);
      expect(existsSync(join(root, "other/gone2"))).toBe(false);
      expect(existsSync(join(root, "ns/alive"))).toBe(true);
      expect(existsSync(join(root, "ns/fresh"))).toBe(true);
      expect(lines.some((l) => l.includes("removed empty directory of deleted pod ns/gone"))).toBe(
        true,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
