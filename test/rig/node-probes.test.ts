import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProbe, type ProbeContext } from "./node/probes.js";
import { runContainer } from "./node/runner.js";

describe("node probes (as the kubelet runs them)", () => {
  let dir: string;
  let server: https.Server;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rig-probes-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "k.pem",
        "-out",
        "c.pem",
        "-days",
        "1",
        "-subj",
        "/CN=self-signed",
      ],
      { cwd: dir, stdio: "ignore" },
    );
    server = https.createServer(
      { key: readFileSync(join(dir, "k.pem")), cert: readFileSync(join(dir, "c.pem")) },
      (req, res) => {
        res.writeHead(req.url === "/readyz" ? 200 : req.url === "/redirect" ? 302 : 500).end();
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ctx = (pid = process.pid): ProbeContext => ({
    podIP: "127.0.0.1",
    container: { name: "c", ports: [{ name: "https", containerPort: port }] },
    exec: { pid, env: { PATH: "/usr/bin:/bin" } },
  });

  it("httpGet over HTTPS with a self-signed certificate, a named port, 2xx/3xx success", async () => {
    const get = (path: string) =>
      runProbe({ httpGet: { path, port: "https", scheme: "HTTPS" } }, ctx());
    expect(await get("/readyz")).toBe(true);
    expect(await get("/redirect")).toBe(true);
    expect(await get("/broken")).toBe(false);
    expect(await runProbe({ httpGet: { path: "/readyz", port, scheme: "HTTP" } }, ctx())).toBe(
      false,
    );
  });

  it("tcpSocket connects to the pod IP", async () => {
    expect(await runProbe({ tcpSocket: { port } }, ctx())).toBe(true);
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const free = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect(await runProbe({ tcpSocket: { port: free } }, ctx())).toBe(false);
  });

  it("exec runs inside the container's mount namespace, with a timeout", async () => {
    const vol = mkdtempSync(join(dir, "vol-"));
    const h = runContainer({
      command: ["/bin/sh", "-c", "touch /rig-probe-test/ready; sleep 30"],
      env: { PATH: "/usr/bin:/bin" },
      mounts: [{ source: vol, target: "/rig-probe-test" }],
      logFile: join(dir, "c.log"),
    });
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(
        await runProbe({ exec: { command: ["test", "-e", "/rig-probe-test/ready"] } }, ctx(h.pid)),
      ).toBe(true);
      // Not visible from the host's namespace: the probe really ran inside.
      expect(
        await runProbe({ exec: { command: ["test", "-e", "/rig-probe-test/ready"] } }, ctx()),
      ).toBe(false);
      const t0 = Date.now();
      expect(
        await runProbe({ exec: { command: ["sleep", "5"] }, timeoutSeconds: 1 }, ctx(h.pid)),
      ).toBe(false);
      expect(Date.now() - t0).toBeLessThan(4500); // the timeout, not the 5 s sleep
    } finally {
      await h.stop(0);
    }
  });

  it("exec runs as the container's user, with its supplementary groups (as the kubelet's exec probes)", async () => {
    const user = { uid: 1234, gid: 1234, groups: [4000, 5000] };
    const h = runContainer({
      command: ["sleep", "30"],
      env: { PATH: "/usr/bin:/bin" },
      mounts: [],
      logFile: join(dir, "user.log"),
      user,
    });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const is = (who: string) => ({
        exec: { command: ["/bin/sh", "-c", `[ "$(id -u) $(id -g) $(id -G)" = "${who}" ]`] },
      });
      const withUser: ProbeContext = { ...ctx(h.pid), exec: { ...ctx(h.pid).exec, user } };
      expect(await runProbe(is("1234 1234 1234 4000 5000"), withUser)).toBe(true);
      expect(await runProbe(is("0 0 0"), withUser)).toBe(false);
    } finally {
      await h.stop(0);
    }
  });
});
