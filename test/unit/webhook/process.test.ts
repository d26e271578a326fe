// The real program as its own process: flags, start-up line, graceful SIGTERM with a request in flight.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { admissionReview, deploymentPod, makeCA, makeCert, send, tempDir } from "./helpers.js";

const CLI = join(import.meta.dirname, "../../../controller/webhook/cli.ts");
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

function start(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const waitFor = async (re: RegExp, ms = 15_000): Promise<RegExpExecArray> => {
    const until = Date.now() + ms;
    for (;;) {
      const m = re.exec(out);
      if (m) return m;
      if (Date.now() > until || child.exitCode !== null)
        throw new Error(`no ${re} in output:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { child, exited, waitFor, out: () => out, err: () => err };
}

function files() {
  const dir = tempDir();
  const ca = makeCA(dir);
  const cert = makeCert(ca, "serving");
  const config = join(dir, "config.yaml");
  writeFileSync(config, "NoticeChannel: []\n");
  // No API server there: the namespace cache cannot sync, which must not stop the webhook.
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`,
  );
  return { ca, cert, config, kubeconfig };
}

it("exits 2 with usage on bad flags", async () => {
  const p = start(["--listen", "8443", "--tls-cert", "x", "--tls-key", "y", "--config", "z"]);
  expect(await p.exited).toBe(2);
  expect(p.err()).toContain('--listen "8443": expected [host]:port');
  expect(p.err()).toContain("Usage: coredog-controller webhook");
});

it("finishes the request in flight on SIGTERM, refuses new connections, closes keep-alive, exits 0", async () => {
  const f = files();
  const p = start([
    "--listen",
    "127.0.0.1:0",
    "--tls-cert",
    f.cert.certFile,
    "--tls-key",
    f.cert.keyFile,
    "--config",
    f.config,
    "--kubeconfig",
    f.kubeconfig,
  ]);
  const port = Number((await p.waitFor(/msg="webhook listening" address=127\.0\.0\.1:(\d+)/))[1]);

  // An idle keep-alive connection.
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: f.ca.pem });
  const first = await send(port, { ca: f.ca.pem, method: "GET", path: "/healthz", agent });
  expect(first.status).toBe(200);
  const idleSocket = Object.values(agent.freeSockets).flat()[0]!;
  const idleClosed = new Promise<void>((r) => idleSocket.once("close", () => r()));

  // A request in flight: half of its body sent.
  const body = Buffer.from(admissionReview(deploymentPod(), { uid: "in-flight" }));
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/mutate",
        ca: f.ca.pem,
        agent: false,
        headers: { "content-type": "application/json", "content-length": body.length },
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.write(body.subarray(0, 1000));
    setTimeout(() => {
      p.child.kill("SIGTERM");
      void p.waitFor(/shutting down/).then(async () => {
        // New connections are refused now.
        await expect(send(port, { ca: f.ca.pem, method: "GET", path: "/healthz" })).rejects.toThrow(
          /ECONNREFUSED/,
        );
        req.end(body.subarray(1000));
      }, reject);
    }, 200);
  });
  const res = await answer;
  expect(res.status).toBe(200);
  expect(res.body).toContain('"uid":"in-flight"');
  expect(res.body).toContain('"allowed":true');
  await idleClosed;
  expect(await p.exited).toBe(0);
  expect(p.out()).toContain('msg="webhook stopped"');
  // The namespace cache could not sync: said in the log, the webhook kept working.
  expect(p.out()).toContain(
    "cannot list namespaces: Pod Security cannot be checked from the cache yet",
  );
  agent.destroy();
});

it("logs JSON with --log-format json", async () => {
  const f = files();
  const p = start([
    "--listen",
    "127.0.0.1:0",
    "--tls-cert",
    f.cert.certFile,
    "--tls-key",
    f.cert.keyFile,
    "--config",
    f.config,
    "--kubeconfig",
    f.kubeconfig,
    "--log-format",
    "json",
  ]);
  const m = await p.waitFor(/^(\{.*"msg":"webhook listening".*\})$/m);
  const line = JSON.parse(m[1]!) as { level: string; address: string };
  expect(line.level).toBe("info");
  p.child.kill("SIGINT");
  expect(await p.exited).toBe(0);
});
