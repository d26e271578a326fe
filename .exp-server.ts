// experiment only: the webhook via startWebhook with knobs
import { startWebhook } from "./controller/webhook/main.js";
const [certFile, keyFile, config] = process.argv.slice(2);
const level = process.env.EXP_LEVEL ?? "info";
const nsStub = {
  cached: (n: string) => ({ metadata: { name: n, labels: { "kubernetes.io/metadata.name": n } } }),
  fetch: async () => undefined,
  synced: () => true,
  stop: () => {},
};
const hook = await startWebhook(
  { host: "127.0.0.1", port: 0, tlsCert: certFile!, tlsKey: keyFile!, config: config!, kubeconfig: undefined, logFormat: (process.env.EXP_FORMAT ?? "logfmt") as "logfmt", logLevel: level },
  { namespaces: nsStub as never },
);
process.stderr.write(`port ${hook.port}\n`);
process.on("SIGTERM", () => void hook.stop().then(() => process.exit(0)));
