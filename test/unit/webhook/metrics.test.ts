import { expect, it } from "vitest";
import { createMetrics } from "../../../controller/webhook/metrics.js";

function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

it("every scrape sees exactly the requests and decisions counted before it", async () => {
  const m = createMetrics({ defaultMetrics: false });
  const ok = 'coredog_webhook_requests_total{path="/mutate",code="200"}';
  const bad = 'coredog_webhook_requests_total{path="/mutate",code="400"}';
  const inject = 'coredog_webhook_decisions_total{result="inject",reason="inject"}';
  const skip = 'coredog_webhook_decisions_total{result="skip",reason="no-annotations"}';

  for (let i = 0; i < 3; i++) m.request("/mutate", 200, 0.0004);
  m.request("/mutate", 400, 0.0001);
  m.request("/healthz", 200, 0);
  m.decision("inject", "inject");
  m.decision("inject", "inject");
  let text = await m.registry.metrics();
  expect(value(text, ok)).toBe(3);
  expect(value(text, bad)).toBe(1);
  expect(value(text, 'coredog_webhook_requests_total{path="/healthz",code="200"}')).toBe(1);
  expect(value(text, inject)).toBe(2);
  expect(value(text, skip)).toBeUndefined();
  // Only /mutate is timed.
  expect(value(text, "coredog_webhook_request_duration_seconds_count")).toBe(4);
  expect(value(text, 'coredog_webhook_request_duration_seconds_bucket{le="0.00025"}')).toBe(1);
  expect(value(text, 'coredog_webhook_request_duration_seconds_bucket{le="0.0005"}')).toBe(4);

  // A scrape with nothing new changes nothing; later counts add up.
  expect(await m.registry.metrics()).toBe(text);
  m.request("/mutate", 200, 0.002);
  m.decision("skip", "no-annotations");
  m.decision("inject", "inject");
  text = await m.registry.metrics();
  expect(value(text, ok)).toBe(4);
  expect(value(text, bad)).toBe(1);
  expect(value(text, inject)).toBe(3);
  expect(value(text, skip)).toBe(1);
  expect(value(text, "coredog_webhook_request_duration_seconds_count")).toBe(5);

  // The JSON form (prom-client's other reader) flushes as well.
  m.request("/mutate", 200, 0.002);
  const json = await m.registry.getMetricsAsJSON();
  const requests = json.find((x) => x.name === "coredog_webhook_requests_total")!;
  expect(
    requests.values.find((v) => v.labels.path === "/mutate" && v.labels.code === "200")?.value,
  ).toBe(5);
});
