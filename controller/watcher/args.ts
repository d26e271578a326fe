// `coredog-controller watcher` flags.
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import type { LogFormat } from "../log.js";
import { errorText } from "../../src/error-text.js";

export interface WatcherOptions {
  dir: string;
  nodeName: string;
  hostIP?: string;
  config?: string;
  listen: { host: string; port: number };
  kubeconfig?: string;
  journal: string;
  configureCorePattern: boolean;
  logFormat: LogFormat;
}

export const WATCHER_USAGE = `Usage: coredog-controller watcher --dir DIR --node-name NODE --config FILE [flags]

  --dir DIR                  the node directory (<ns>/<pod>/<container>/<core> below)   [/corefile]
  --node-name NODE           this node's name                                        [$NODE_NAME]
  --config FILE              settings (config.yaml of the ConfigMap coredog), reloaded on change
  --listen ADDR              /healthz, /readyz, /metrics: ":9090" or "IP:port"        [:9090]
  --kubeconfig FILE          default: in-cluster, then $KUBECONFIG, else run without the API
  --journal DIR              the watcher's own state                                 [<dir>/.coredog]
  --configure-core-pattern   set kernel.core_pattern to /corefile/core.%e.%p.%h.%t at start
  --log-format logfmt|json                                                           [logfmt]
`;

export function parseListen(value: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const host = m[1] ?? m[2] ?? "";
  return { host: host === "" ? "0.0.0.0" : host, port };
}

export type ParsedArgs =
  { ok: true; options: WatcherOptions } | { ok: false; help: boolean; error?: string };

export function parseWatcherArgs(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        dir: { type: "string", default: "/corefile" },
        "node-name": { type: "string" },
        config: { type: "string" },
        listen: { type: "string", default: ":9090" },
        kubeconfig: { type: "string" },
        journal: { type: "string" },
        "configure-core-pattern": { type: "boolean", default: false },
        "log-format": { type: "string", default: "logfmt" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (err) {
    return { ok: false, help: false, error: errorText(err) };
  }
  if (values.help) return { ok: false, help: true };
  const nodeName = values["node-name"] ?? env.NODE_NAME;
  if (!nodeName)
    return { ok: false, help: false, error: "--node-name (or $NODE_NAME) is required" };
  const listen = parseListen(values.listen);
  if (!listen)
    return {
      ok: false,
      help: false,
      error: `--listen "${values.listen}" is not ":port" or "IP:port"`,
    };
  const logFormat = values["log-format"];
  if (logFormat !== "logfmt" && logFormat !== "json") {
    return {
      ok: false,
      help: false,
      error: `--log-format must be logfmt or json, not "${logFormat}"`,
    };
  }
  const dir = resolve(values.dir);
  const options: WatcherOptions = {
    dir,
    nodeName,
    listen,
    journal: resolve(values.journal ?? join(dir, ".coredog")),
    configureCorePattern: values["configure-core-pattern"],
    logFormat,
  };
  if (env.HOST_IP) options.hostIP = env.HOST_IP;
  if (values.config) options.config = resolve(values.config);
  if (values.kubeconfig) options.kubeconfig = resolve(values.kubeconfig);
  return { ok: true, options };
}
