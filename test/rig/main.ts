// `npm run rig -- --kubeconfig FILE [--nodes N] [--core-dumps] [--no-s3] [--no-receivers]`: runs a rig by hand
// until SIGINT/SIGTERM. Prints `hostroot <dir>` (node-1; `node <name> hostroot <dir>` for each), `s3 <endpoint>` (+ keys), then `rig ready`.
import { copyFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startRig, type Rig } from "./index.js";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: "string" },
      nodes: { type: "string", default: "1" },
      "core-dumps": { type: "boolean", default: false },
      "no-s3": { type: "boolean", default: false },
      "no-receivers": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help || !values.kubeconfig) {
    console.error(
      "usage: npm run rig -- --kubeconfig FILE [--nodes N] [--core-dumps] [--no-s3] [--no-receivers]",
    );
    return values.help ? 0 : 2;
  }
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 1) {
    console.error(`rig: --nodes must be a positive integer, got ${values.nodes}`);
    return 2;
  }

  let stopping = false;
  const done = new Promise<void>((res) => {
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      console.log(`rig: ${sig}, stopping`);
      res();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("SIGHUP", onSignal);
  });

  const rig: Rig = await startRig({
    nodes,
    coreDumps: values["core-dumps"],
    s3: !values["no-s3"],
    receivers: !values["no-receivers"],
  });
  if (stopping) {
    await rig.stop();
    return 0;
  }
  const target = resolve(values.kubeconfig);
  copyFileSync(rig.kubeconfig, target);
  console.log(`kubeconfig ${target}`);
  console.log(`dir ${rig.dir}`);
  console.log(`hostroot ${rig.nodes[0]!.hostRoot}`);
  for (const n of rig.nodes) console.log(`node ${n.name} hostroot ${n.hostRoot}`);
  if (!values["no-s3"]) {
    console.log(`s3 ${rig.s3.endpoint}`);
    console.log(`s3-region ${rig.s3.region}`);
    console.log(`s3-access-key ${rig.s3.accessKeyId}`);
    console.log(`s3-secret-key ${rig.s3.secretAccessKey}`);
  }
  if (!values["no-receivers"]) {
    for (const kind of ["wechat", "slack", "dingtalk", "feishu", "webhook"] as const) {
      console.log(`receiver ${kind} ${rig.receivers.url(kind)}`);
    }
  }
  console.log("rig ready");

  await done;
  await rig.stop();
  console.log("rig stopped");
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error("rig:", err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
