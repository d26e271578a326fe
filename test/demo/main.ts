// `npm run demo`: CoreDog end to end on the built-in rig, step by step, then everything cleaned up.
import { ListObjectsV2Command, HeadObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { parseSidecar, sidecarKey } from "../../src/core-sidecar.js";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { styleText } from "node:util";
import { canDumpCores } from "../rig/core-pattern.js";
import { startRig, type Rig } from "../rig/index.js";
import { crasherDeployment, installCoreDog } from "../e2e/support/install.js";
import { ensureImage } from "../rig/image-build.js";

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const color = (style: Parameters<typeof styleText>[0], s: string) =>
  process.env.NO_COLOR ? s : styleText(style, s, { stream: process.stdout, validateStream: true });
let stepNo = 0;
const step = (title: string, why?: string) => {
  console.log(`\n${color("bold", `${++stepNo}. ${title}`)} ${color("gray", `[${elapsed()}]`)}`);
  if (why) console.log(color("gray", `   ${why}`));
};
const show = (text: string) => console.log(text.trimEnd().replace(/^/gm, "   "));

async function kubectl(rig: Rig, ...args: string[]): Promise<string> {
  console.log(color("cyan", `   $ kubectl ${args.join(" ")}`));
  const r = await rig.kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr || r.stdout}`);
  return r.stdout + r.stderr;
}

async function main(): Promise<number> {
  const can = canDumpCores();
  if (!can.ok) {
    console.error(
      `The demo crashes a real process and lets the kernel write a real core dump through kernel.core_pattern,\n` +
        `inside a mount namespace. That needs root here, and it cannot run: ${can.why}.\n` +
        `Run it as root (sudo npm run demo), or read test/e2e/install.test.ts for the same flow.`,
    );
    return 2;
  }
  step(
    "Build CoreDog's image (npm run image)",
    "from the Dockerfile with buildah, no Docker daemon; cached on its content. The rig runs CoreDog's pods from it",
  );
  await ensureImage({ onLine: (l) => console.log(`   ${l}`) });
  step(
    "Start the test rig",
    "an API server real kubectl talks to, a node that runs pods as real processes, an S3 server, chat receivers; core_pattern = /corefile/core.%e.%p.%h.%t",
  );
  const rig = await startRig({ coreDumps: true });
  try {
    step("Install CoreDog from manifests/", "what an operator runs on a real cluster");
    await installCoreDog(rig, { step: (s) => console.log(`   - ${s}`) });
    show(await kubectl(rig, "get", "pods", "-n", "coredog-system", "-o", "wide"));

    step("A workload that crashes", "bash kills itself with SIGSEGV a few seconds after it starts");
    await kubectl(rig, "create", "namespace", "demo");
    console.log(
      color(
        "cyan",
        "   $ kubectl apply -f crasher.yaml   # bash -c 'ulimit -c unlimited; sleep 3; kill -SEGV $BASHPID'",
      ),
    );
    const applied = await rig.kubectl(["apply", "-f", "-"], {
      input: crasherDeployment("demo", "crasher", 3),
    });
    if (applied.code !== 0) throw new Error(`kubectl apply failed: ${applied.stderr}`);
    show(applied.stdout);

    step(
      "Enable it with the kubectl plugin",
      "the plugin runs the webhook's own decision first, then annotates the pod template and rolls the Deployment",
    );
    show(await kubectl(rig, "coredog", "enable", "deploy/crasher", "-n", "demo", "--restart"));

    step(
      "The new pod got the node directory",
      "hostPath /data/coredog-system/dumps + subPathExpr $(COREDOG_POD_NAMESPACE)/$(COREDOG_POD_NAME)/<container> at /corefile",
    );
    const pod = await rig.waitFor(
      "an injected pod",
      async () => {
        const list = JSON.parse(
          await rig
            .kubectl(["get", "pods", "-n", "demo", "-l", "app=crasher", "-o", "json"])
            .then((r) => r.stdout),
        );
        return list.items.find(
          (p: {
            metadata: { deletionTimestamp?: string };
            spec: { volumes?: { name: string }[] };
          }) =>
            !p.metadata.deletionTimestamp &&
            p.spec.volumes?.some((v) => v.name === "coredog-dumps"),
        ) as
          | {
              metadata: { name: string };
              spec: { containers: { volumeMounts?: unknown[] }[]; volumes: unknown[] };
            }
          | undefined;
      },
      60_000,
    );
    const name = pod.metadata.name;
    show(`pod demo/${name}`);
    show(
      `volumes: ${JSON.stringify(pod.spec.volumes.filter((v) => JSON.stringify(v).includes("coredog")))}`,
    );
    show(`mounts:  ${JSON.stringify(pod.spec.containers[0]?.volumeMounts)}`);

    step(
      "It crashes; the kernel writes the core; the watcher takes it",
      "the watcher's log, as `kubectl logs -l app.kubernetes.io/component=watcher` shows it",
    );
    const notice = await rig.receivers.waitFor(
      "slack",
      (r) => JSON.stringify(r.body).includes(`[demo/${name}] core:`),
      60_000,
    );
    show(await kubectl(rig, "coredog", "ls", "-n", "demo"));
    await kubectl(rig, "-n", "demo", "scale", "deployment", "crasher", "--replicas=0");
    const logs = await kubectl(
      rig,
      "logs",
      "-n",
      "coredog-system",
      "-l",
      "app.kubernetes.io/component=watcher",
      "--tail=-1",
    );
    show(
      logs
        .split("\n")
        .filter((l) => l.includes(name) || /notice sent/.test(l))
        .slice(0, 12)
        .join("\n"),
    );

    step(
      "The object in storage",
      "read once, streamed, verified (size, and the sidecar with the sha256) before the local copy was deleted",
    );
    const list = await rig.s3.client.send(
      new ListObjectsV2Command({ Bucket: "crashes", Prefix: `corefiles/demo/${name}/` }),
    );
    const key = list.Contents?.[0]?.Key;
    if (!key) throw new Error("no object in storage");
    const head = await rig.s3.client.send(new HeadObjectCommand({ Bucket: "crashes", Key: key }));
    show(`s3://crashes/${key}  ${head.ContentLength} bytes`);
    for (const [k, v] of Object.entries(head.Metadata ?? {})) show(`  ${k}: ${v}`);
    const sidecar = await rig.s3.client.send(
      new GetObjectCommand({ Bucket: "crashes", Key: sidecarKey(key) }),
    );
    const doc = parseSidecar(await sidecar.Body!.transformToString("utf8"));
    show(`s3://crashes/${sidecarKey(key)}  sha256 ${doc.core.sha256}, ${doc.core.size} bytes`);
    const url = await getSignedUrl(
      rig.s3.client,
      new GetObjectCommand({ Bucket: "crashes", Key: key }),
      { expiresIn: 3600 },
    );
    show(`download: ${url.slice(0, 120)}…`);

    step("The notification", "what the Slack receiver got (WeCom got its own format)");
    show((notice.body as { text?: string }).text ?? JSON.stringify(notice.body));

    step("The Event on the pod", "kubectl describe pod / kubectl coredog events show it");
    show(
      await kubectl(
        rig,
        "get",
        "events",
        "-n",
        "demo",
        "--field-selector",
        `involvedObject.name=${name}`,
      ),
    );

    step(
      "Clean up",
      "the rig stops every process, unmounts, restores core_pattern and deletes its files",
    );
  } finally {
    await rig.stop();
  }
  console.log(`\n${color("green", "demo finished")} in ${elapsed()}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`\ndemo failed at step ${stepNo}: ${err.message}`);
    process.exit(1);
  },
);
