// Who still writes a file: real processes holding it open (found through /proc/<pid>/fd), and the kernel's
// CoreDumping/NSpid/limits lines read from a /proc laid out as the kernel lays it out (a real dump in progress is
// in test/e2e/watcher-completion.test.ts).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ProcWriterFinder, seesHostProcesses } from "../../../controller/watcher/writers.js";

const root = mkdtempSync(join(tmpdir(), "cdw-writers-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("ProcWriterFinder", () => {
  it("finds the process that holds a core open, and no one once it has closed it", async () => {
    const path = join(root, "core.app.1");
    writeFileSync(path, "x");
    const holder = spawn("bash", ["-c", `exec 3>>'${path}'; echo open; read -r _`], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    await new Promise<void>((r) => holder.stdout!.once("data", () => r()));
    const st = statSync(path);
    const finder = new ProcWriterFinder();
    const other = join(root, "core.app.2");
    writeFileSync(other, "y");
    const ost = statSync(other);
    const [held, free] = await Promise.all([
      finder.find({ path, dev: st.dev, ino: st.ino, pid: 1 }),
      finder.find({ path: other, dev: ost.dev, ino: ost.ino, pid: 2 }),
    ]);
    expect(held.holders).toEqual([holder.pid]);
    expect(held.complete).toBe(true); // root reads every process's descriptors
    expect(free.holders).toEqual([]);
    holder.stdin!.end("\n");
    await new Promise((r) => holder.once("exit", r));
    expect((await finder.find({ path, dev: st.dev, ino: st.ino })).holders).toEqual([]);
  });

  it("does not count another file of the same name (another inode) as held", async () => {
    const a = join(root, "a");
    const b = join(root, "b");
    mkdirSync(a);
    mkdirSync(b);
    writeFileSync(join(a, "core.same.5"), "1");
    writeFileSync(join(b, "core.same.5"), "2");
    const holder = spawn(
      "bash",
      ["-c", `exec 3<'${join(a, "core.same.5")}'; echo open; read -r _`],
      {
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
    await new Promise<void>((r) => holder.stdout!.once("data", () => r()));
    const st = statSync(join(b, "core.same.5"));
    const got = await new ProcWriterFinder().find({
      path: join(b, "core.same.5"),
      dev: st.dev,
      ino: st.ino,
    });
    holder.stdin!.end("\n");
    await new Promise((r) => holder.once("exit", r));
    expect(got.holders).toEqual([]);
  });

  it("matches a dumping process by the innermost pid of its NSpid line and reads its core size limit", async () => {
    const proc = join(root, "proc");
    const task = (pid: number, status: string, limits?: string) => {
      mkdirSync(join(proc, String(pid), "fd"), { recursive: true });
      writeFileSync(join(proc, String(pid), "status"), status);
      if (limits) writeFileSync(join(proc, String(pid), "limits"), limits);
    };
    const limits = (core: string) =>
      `Limit                     Soft Limit           Hard Limit           Units     \n` +
      `Max file size             unlimited            unlimited            bytes     \n` +
      `Max core file size        ${core}               unlimited            bytes     \n`;
    task(4242, "Name:\tapp\nNSpid:\t4242\t7\nCoreDumping:\t1\n", limits("102400"));
    task(4343, "Name:\tother\nNSpid:\t4343\t8\nCoreDumping:\t1\n", limits("unlimited"));
    task(4444, "Name:\tidle\nNSpid:\t4444\t7\nCoreDumping:\t0\n");
    const finder = new ProcWriterFinder(proc);
    const q = { path: "/x/core.app.7.host.1700000000", dev: 1, ino: 1 };
    expect((await finder.find({ ...q, pid: 7 })).dumpers).toEqual([
      { pid: 4242, coreLimit: 102400 },
    ]);
    expect((await finder.find({ ...q, pid: 8 })).dumpers).toEqual([{ pid: 4343 }]);
    expect((await finder.find({ ...q, pid: 9 })).dumpers).toEqual([]);
    // a name without a pid: any process being dumped may be its writer
    expect((await finder.find(q)).dumpers.map((d) => d.pid).sort()).toEqual([4242, 4343]);
  });

  it("knows whether /proc shows the host's processes", async () => {
    expect(await seesHostProcesses()).toBe(true); // the tests run on the host
    expect(await seesHostProcesses(join(root, "proc"))).toBe(false);
  });

  it("answers every question asked while a walk runs with a walk that starts after it", async () => {
    const finder = new ProcWriterFinder();
    const path = join(root, "core.late.3");
    writeFileSync(path, "z");
    const st = statSync(path);
    const first = finder.find({ path, dev: st.dev, ino: st.ino });
    const holder = spawn("bash", ["-c", `exec 3>>'${path}'; echo open; read -r _`], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    await new Promise<void>((r) => holder.stdout!.once("data", () => r()));
    const second = await finder.find({ path, dev: st.dev, ino: st.ino });
    await first;
    expect(second.holders).toEqual([holder.pid]);
    holder.stdin!.end("\n");
    await new Promise((r) => holder.once("exit", r));
    await sleep(10);
  });
});
