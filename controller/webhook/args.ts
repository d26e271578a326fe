// Flags of `coredog-controller webhook`.
import { parseArgs } from "node:util";
import type { LogFormat } from "../log.js";

export interface WebhookArgs {
  host: string | undefined;
  port: number;
  tlsCert: string;
  tlsKey: string;
  config: string;
  kubeconfig: string | undefined;
  logFormat: LogFormat;
  logLevel: string;
}

export const WEBHOOK_USAGE = `Usage: coredog-controller webhook --tls-cert FILE --tls-key FILE --config FILE [flags]

  --listen ADDR        [host]:port to serve HTTPS on (default :8443; e.g. 0.0.0.0:8443, 127.0.1.5:8443)
  --tls-cert FILE      PEM certificate (chain); reloaded when the file changes
  --tls-key FILE       PEM private key; reloaded when the file changes
  --config FILE        settings (config.yaml of ConfigMap coredog); reloaded when it changes
  --kubeconfig FILE    default: in-cluster, then $KUBECONFIG / ~/.kube/config
  --log-format FORMAT  logfmt (default) | json
  --log-level LEVEL    trace | debug | info (default) | warn | error
`;

const LEVELS = new Set(["trace", "debug", "info", "warn", "error", "fatal", "silent"]);

/** `:8443`, `0.0.0.0:8443`, `127.0.1.5:8443`, `[::1]:8443` -> host (undefined = all) and port. */
export function parseListen(value: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  if (!m) throw new Error(`--listen ${JSON.stringify(value)}: expected [host]:port, e.g. :8443`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`--listen ${JSON.stringify(value)}: port out of range`);
  const host = m[1] ?? (m[2] === "" ? undefined : m[2]);
  return { host, port };
}

export function parseWebhookArgs(argv: string[]): WebhookArgs | { help: true } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      listen: { type: "string", default: ":8443" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      config: { type: "string" },
      kubeconfig: { type: "string" },
      "log-format": { type: "string", default: "logfmt" },
      "log-level": { type: "string", default: "info" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return { help: true };
  if (positionals.length > 0)
    throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}`);
  for (const flag of ["tls-cert", "tls-key", "config"] as const) {
    if (!values[flag]) throw new Error(`--${flag} is required`);
  }
  const format = values["log-format"];
  if (format !== "logfmt" && format !== "json") {
    throw new Error(`--log-format ${JSON.stringify(format)}: expected logfmt or json`);
  }
  const level = values["log-level"] ?? "info";
  if (!LEVELS.has(level))
    throw new Error(
      `--log-level ${JSON.stringify(level)}: expected one of ${[...LEVELS].join(", ")}`,
    );
  const { host, port } = parseListen(values.listen ?? ":8443");
  return {
    host,
    port,
    tlsCert: values["tls-cert"]!,
    tlsKey: values["tls-key"]!,
    config: values.config!,
    kubeconfig: values.kubeconfig,
    logFormat: format,
    logLevel: level,
  };
}
