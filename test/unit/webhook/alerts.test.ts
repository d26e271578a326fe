// Alerts go to a local receiver through the real notifier: asynchronous and rate-limited.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createLogger } from "../../../controller/log.js";
import { sendNotice } from "../../../controller/notify/send.js";
import { createAlerter } from "../../../controller/webhook/alerts.js";
import { logCollector } from "./helpers.js";

let receiver: Server;
let url = "";
let hang = false;
const received: { message: string; kind: string }[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (hang) return; // never answers
      received.push(JSON.parse(body) as { message: string; kind: string });
      res.end("ok");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const a = receiver.address() as { port: number };
  url = `http://127.0.0.1:${a.port}/hook`;
});
afterAll(() => {
  receiver.closeAllConnections();
  receiver.close();
});

it("sends one alert per interval and counts the suppressed ones into the next", async () => {
  received.length = 0;
  const logs = logCollector();
  const alerter = createAlerter({
    channels: () => [{ chan: "webhook", webhookUrl: url }],
    enabled: () => true,
    send: sendNotice,
    log: createLogger({ write: logs.write }),
    minIntervalMs: 400,
  });
  for (let i = 0; i < 5; i++) alerter.alert(`namespace lookup failed #${i}`);
  await alerter.idle();
  expect(received).toHaveLength(1);
  expect(received[0]!.kind).toBe("alert");
  expect(received[0]!.message).toMatch(/^\[coredog-webhook.*\] namespace lookup failed #0$/);
  await new Promise((r) => setTimeout(r, 450));
  alerter.alert("namespace lookup failed #5");
  await alerter.idle();
  expect(received).toHaveLength(2);
  expect(received[1]!.message).toContain(
    "namespace lookup failed #5 (+4 more since the last alert)",
  );
  expect(logs.text()).toContain('msg="sent alert notice"');
});

it("never waits for the receiver and logs a failed alert", async () => {
  received.length = 0;
  hang = true;
  try {
    const logs = logCollector();
    const alerter = createAlerter({
      channels: () => [{ chan: "webhook", webhookUrl: url }],
      enabled: () => true,
      send: sendNotice,
      log: createLogger({ write: logs.write }),
      timeoutMs: 300,
    });
    // Returns before the attempt has ended: its failure (after the 300 ms timeout) is logged later.
    expect(alerter.alert("internal error")).toBeUndefined();
    expect(logs.text()).not.toMatch(/alert notice failed/);
    await alerter.idle();
    expect(received).toHaveLength(0);
    expect(logs.text()).toMatch(
      /level=warn msg="alert notice failed" chan=webhook error=.*timed out/,
    );
  } finally {
    hang = false;
  }
});

it("sends nothing when alertOnError is off or no channel is configured", async () => {
  received.length = 0;
  const log = createLogger({ write: () => {} });
  const off = createAlerter({
    channels: () => [{ chan: "webhook", webhookUrl: url }],
    enabled: () => false,
    send: sendNotice,
    log,
  });
  const none = createAlerter({ channels: () => [], enabled: () => true, send: sendNotice, log });
  off.alert("x");
  none.alert("y");
  await Promise.all([off.idle(), none.idle()]);
  await new Promise((r) => setTimeout(r, 50));
  expect(received).toHaveLength(0);
});
