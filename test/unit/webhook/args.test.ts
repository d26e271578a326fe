import { expect, it } from "vitest";
import { parseListen, parseWebhookArgs } from "../../../controller/webhook/args.js";

it.each([
  [":8443", undefined, 8443],
  ["0.0.0.0:8443", "0.0.0.0", 8443],
  ["127.0.1.5:8443", "127.0.1.5", 8443],
  ["[::1]:9443", "::1", 9443],
  ["localhost:0", "localhost", 0],
])("--listen %s", (value, host, port) => {
  expect(parseListen(value)).toEqual({ host, port });
});

it.each(["8443", "127.0.0.1", ":99999", "a:b:c", ""])("--listen %j is refused", (value) => {
  expect(() => parseListen(value)).toThrow("--listen");
});

it("parses the flags and requires the files", () => {
  expect(
    parseWebhookArgs([
      "--listen",
      "127.0.1.5:8443",
      "--tls-cert",
      "c",
      "--tls-key",
      "k",
      "--config",
      "f",
      "--log-format",
      "json",
      "--log-level",
      "debug",
    ]),
  ).toEqual({
    host: "127.0.1.5",
    port: 8443,
    tlsCert: "c",
    tlsKey: "k",
    config: "f",
    kubeconfig: undefined,
    logFormat: "json",
    logLevel: "debug",
  });
  expect(
    parseWebhookArgs(["--tls-cert", "c", "--tls-key", "k", "--config", "f", "--kubeconfig", "kc"]),
  ).toMatchObject({
    host: undefined,
    port: 8443,
    kubeconfig: "kc",
    logFormat: "logfmt",
    logLevel: "info",
  });
  expect(() => parseWebhookArgs(["--tls-key", "k", "--config", "f"])).toThrow(
    "--tls-cert is required",
  );
  expect(() =>
    parseWebhookArgs(["--tls-cert", "c", "--tls-key", "k", "--config", "f", "--log-format", "xml"]),
  ).toThrow("--log-format");
  expect(() =>
    parseWebhookArgs(["--tls-cert", "c", "--tls-key", "k", "--config", "f", "--nope"]),
  ).toThrow();
  expect(parseWebhookArgs(["--help"])).toEqual({ help: true });
});
