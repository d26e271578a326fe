// The assembled program in-process: settings file reload, alerts through the real notifier to a
// local receiver (asynchronous: the answer never waits), certificates from files.
import { createServer, type Server } from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { V1Namespace } from "@kubernetes/client-node";
import { startWebhook, type RunningWebhook } from "../../../controller/webhook/main.js";
import type { NamespaceCache } from "../../../controller/webhook/namespaces.js";
import {
  admissionReview,
  deploymentPod,
  logCollector,
  makeCA,
  makeCert,
  send,
  tempDir,
  type TestCA,
} from "./helpers.js";

// Longer than the three answers of the rate-limit test may take on a loaded machine (3.5 s).
const ALERT_INTERVAL_MS = 3_600;

let receiver: Server;
let hookUrl = "";
let otherUrl = "";
let delayMs = 0;
const received: { path: string; message: string; at: number }[] = [];
let ca: TestCA;
let hook: RunningWebhook;
let configFile: string;
const logs = logCollector();
let synced = false;

const namespaces: NamespaceCache = {
  synced: () => synced,
  cached: (name) => (name === "shop" ? ({ metadata: { name } } as V1Namespace) : undefined),
  fetch: async (name) => {
    throw new Error(`namespaces "${name}" lookup timed out`);
  },
  stop: async () => {},
};

const config = (url: string, chan = "webhook") =>
  `NoticeChannel:\n  - chan: ${chan}\n    webhookurl: ${url}\nWebhook:\n  alertOnError: true\n`;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      setTimeout(() => {
        received.push({
          path: req.url ?? "",
          message: (JSON.parse(body) as { message: string }).message,
          at: Date.now(),
        });
        res.end("ok");
      }, delayMs);
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const { port } = receiver.address() as { port: number };
  hookUrl = `http://127.0.0.1:${port}/first`;
  otherUrl = `http://127.0.0.1:${port}/second`;
  const dir = tempDir();
  ca = makeCA(dir);
  const cert = makeCert(ca, "serving");
  configFile = join(dir, "config.yaml");
  writeFileSync(configFile, config(hookUrl));
  hook = await startWebhook(
    {
      host: "127.0.0.1",
      port: 0,
      tlsCert: cert.certFile,
      tlsKey: cert.keyFile,
      config: configFile,
      kubeconfig: undefined,
      logFormat: "logfmt",
      logLevel: "info",
    },
    { write: logs.write, namespaces, alertIntervalMs: ALERT_INTERVAL_MS, recheckMs: 200 },
  );
});
afterAll(async () => {
  await hook?.stop(1_000);
  receiver?.closeAllConnections();
  receiver?.close();
});

it("logs its start and serves; /readyz follows the namespace cache", async () => {
  expect(logs.text()).toMatch(/level=info msg="loaded TLS certificate" subject=.*CN=serving/);
  expect(logs.text()).toContain('msg="loaded settings"');
  expect(logs.text()).toMatch(
    new RegExp(`msg="webhook listening" address=127\\.0\\.0\\.1:${hook.port}`),
  );
  expect((await send(hook.port, { ca: ca.pem, method: "GET", path: "/readyz" })).status).toBe(503);
  synced = true;
  expect((await send(hook.port, { ca: ca.pem, method: "GET", path: "/readyz" })).status).toBe(200);
  const res = await send(hook.port, { ca: ca.pem, body: admissionReview(deploymentPod()) });
  expect(res.body).toContain('"patchType":"JSONPatch"');
});

it("alerts about its own failure without delaying the answer, rate-limited", async () => {
  received.length = 0;
  delayMs = 4_000; // a slow chat provider
  try {
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) {
      const res = await send(hook.port, {
        ca: ca.pem,
        body: admissionReview(deploymentPod(), { namespace: "new-ns" }),
      });
      expect(res.status).toBe(200);
      expect(res.body).toContain("could not be checked");
    }
    expect(Date.now() - t0).toBeLessThan(3_500); // under one alert's delay, for all three answers
    await hook.alertsIdle();
    expect(received).toHaveLength(1);
    expect(received[0]!.path).toBe("/first");
    expect(received[0]!.message).toContain(
      'namespace lookup failed: namespaces "new-ns" lookup timed out',
    );
    expect(received[0]!.message).toContain("pod new-ns/api-7d9f8b6c4-*");
  } finally {
    delayMs = 0;
  }
});

it("reloads settings on change; a bad file names the key and keeps the last good settings", async () => {
  writeFileSync(configFile, config("http://[not a url", "carrier-pigeon"));
  await hook.checkFiles();
  expect(logs.text()).toMatch(
    /level=error msg="error in settings .*config\.yaml: NoticeChannel\[0\]\.chan: .*carrier-pigeon.*keeping the last good settings"/,
  );
  received.length = 0;
  await new Promise((r) => setTimeout(r, ALERT_INTERVAL_MS + 50));
  await send(hook.port, {
    ca: ca.pem,
    body: admissionReview(deploymentPod(), { namespace: "new-ns-2" }),
  });
  await hook.alertsIdle();
  expect(received.map((r) => r.path)).toEqual(["/first"]);

  writeFileSync(configFile, config(otherUrl));
  await hook.checkFiles();
  expect(logs.text()).toContain('msg="reloaded settings"');
  received.length = 0;
  await new Promise((r) => setTimeout(r, ALERT_INTERVAL_MS + 50));
  await send(hook.port, {
    ca: ca.pem,
    body: admissionReview(deploymentPod(), { namespace: "new-ns-3" }),
  });
  await hook.alertsIdle();
  expect(received.map((r) => r.path)).toEqual(["/second"]);
});

it("refuses to start with a certificate that does not match its key", async () => {
  const dir = tempDir();
  const ca2 = makeCA(dir);
  const a = makeCert(ca2, "a");
  const b = makeCert(ca2, "b");
  const out = logCollector();
  await expect(
    startWebhook(
      {
        host: "127.0.0.1",
        port: 0,
        tlsCert: a.certFile,
        tlsKey: b.keyFile,
        config: configFile,
        kubeconfig: undefined,
        logFormat: "json",
        logLevel: "info",
      },
      { write: out.write, namespaces },
    ),
  ).rejects.toThrow("do not match");
  const last = JSON.parse(out.lines.at(-1)!) as { level: string; msg: string };
  expect(last.level).toBe("error");
  expect(last.msg).toContain("webhook cannot start: cannot load the TLS certificate");
});
