// Attacks on the node directory: only the genuine core is uploaded; symlinks, FIFOs, sockets, device nodes, hard
// links, non-ELF files, files at the wrong depth and nested directories are refused, logged and left alone, and
// nothing hangs (a FIFO named like a core is opened O_NONBLOCK, never waited on).
import { execFileSync } from "node:child_process";
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startS3, type RigS3 } from "../../rig/s3.js";
import { writeCore } from "./core-fixture.js";
import { makeLayout, settingsYaml, type Layout } from "./harness.js";
import { startInProcess, type InProcess } from "./in-process.js";
import { coreKeys } from "./stored.js";

let s3: RigS3;
let layout: Layout;
let wp: InProcess;
let server: net.Server;

beforeAll(async () => {
  s3 = await startS3();
  await s3.createBucket("cores");
  layout = makeLayout("cdw-refuse-");
});

afterAll(async () => {
  await wp?.w.stop();
  server?.close();
  await s3?.stop();
  rmSync(layout.root, { recursive: true, force: true });
});

it("uploads only the genuine core and refuses everything else without hanging", async () => {
  const pod = join(layout.dir, "shop/api-1");
  mkdirSync(pod, { recursive: true });
  const secret = join(layout.root, "secret.txt");
  writeFileSync(secret, "host secret");
  const elsewhere = join(layout.root, "elsewhere");
  mkdirSync(elsewhere);
  writeCore(join(elsewhere, "core.real"), 4096);

  // Present before start (found by the start-up scan) ...
  symlinkSync(secret, join(pod, "core.link"));
  symlinkSync(join(elsewhere, "core.real"), join(pod, "core.linkcore"));
  for (let i = 1; i <= 6; i++) execFileSync("mkfifo", [join(pod, `core.${i}`)]);
  execFileSync("mknod", [join(pod, "core.dev"), "c", "1", "3"]);
  writeCore(join(layout.root, "hard-src"), 4096);
  linkSync(join(layout.root, "hard-src"), join(pod, "core.hard"));
  writeFileSync(join(pod, "core.text"), "not an ELF core at all\n".repeat(10));
  writeCore(join(layout.dir, "shop/core.shallow"), 4096);
  mkdirSync(join(pod, "nested/deeper"), { recursive: true });
  writeCore(join(pod, "nested/deeper/core.deep"), 4096);
  mkdirSync(join(layout.dir, "Bad_NS/pod"), { recursive: true });
  writeCore(join(layout.dir, "Bad_NS/pod/core.badns"), 4096);

  wp = await startInProcess(layout, settingsYaml(s3, "cores", { quiet: "0.2", rescan: "1" }));

  // ... and a socket plus the genuine core while it runs.
  server = net.createServer();
  await new Promise<void>((r) => server.listen(join(pod, "core.sock"), r));
  writeCore(join(pod, "core.app.7.api-1.1764225000"), 300_000, { comm: "app", signal: 11 });

  await wp.waitFor(/deleted local corefile: .*core\.app\.7/);
  const want: [string, RegExp][] = [
    ["core.link", /symbolic link/],
    ["core.linkcore", /symbolic link/],
    ["core.1", /FIFO/],
    ["core.6", /FIFO/],
    ["core.dev", /device node/],
    ["core.hard", /2 hard links/],
    ["core.text", /ELF core header/],
    ["core.sock", /socket/],
    ["core.shallow", /not <namespace>\/<pod>\/<container>\/<file>/],
    // pod/nested is a container's directory; a directory inside it is one level too deep
    ["deeper", /directory/],
    ["core.badns", /not <namespace>\/<pod>\/<container>\/<file>/],
  ];
  for (const [name, why] of want) {
    const line = await wp.waitFor(new RegExp(`refused \\S*/${name.replace(".", "\\.")}: `));
    expect(line, name).toMatch(why);
    expect(line, name).toMatch(/error/);
  }
  // Refused once, not again at every rescan.
  await new Promise((r) => setTimeout(r, 2500));
  expect(wp.count(/refused \S*\/core\.1: /)).toBe(1);

  const keys = await coreKeys(s3.client, "cores");
  expect(keys).toHaveLength(1);
  expect(keys[0]).toMatch(/^corefiles\/shop\/api-1\/\d{8}T\d{9}Z-core\.app\.7\.api-1\.1764225000$/);

  // Everything refused is left alone.
  expect(lstatSync(join(pod, "core.link")).isSymbolicLink()).toBe(true);
  expect(lstatSync(join(pod, "core.1")).isFIFO()).toBe(true);
  expect(lstatSync(join(pod, "core.dev")).isCharacterDevice()).toBe(true);
  expect(lstatSync(join(pod, "core.hard")).nlink).toBe(2);
  expect(existsSync(join(pod, "core.text"))).toBe(true);
  expect(existsSync(join(pod, "nested/deeper/core.deep"))).toBe(true);
  expect(existsSync(join(layout.dir, "shop/core.shallow"))).toBe(true);
  expect(existsSync(join(elsewhere, "core.real"))).toBe(true);

  const metrics = await (await fetch(`http://${wp.w.address}/metrics`)).text();
  expect(metrics).toMatch(/coredog_watcher_refused_files_total\{reason="fifo"\} 6/);
  expect(metrics).toMatch(/coredog_watcher_refused_files_total\{reason="symlink"\} 2/);
  expect(metrics).toMatch(/coredog_watcher_refused_files_total\{reason="hardlink"\} 1/);
  expect(metrics).toMatch(/coredog_watcher_refused_files_total\{reason="not-elf-core"\} 1/);
  expect((await fetch(`http://${wp.w.address}/healthz`)).status).toBe(200);
});
