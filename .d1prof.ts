import { spawn } from "node:child_process";
import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { Upload } from "@aws-sdk/lib-storage";
import { createS3Client, createS3Store, QUEUE_SIZE, partSizeFor } from "./controller/watcher/store.js";
import { writeCore } from "./test/unit/watcher/corefixture.js";
const mode = process.argv[2];
const dir = mkdtempSync("/tmp/d1m/p");
const p = spawn(process.execPath, ["node_modules/s3rver/bin/s3rver.js", "-d", dir + "/s3", "-a", "127.0.0.1", "-p", "0", "-s", "--configure-bucket", "b"], { stdio: ["ignore", "pipe", "inherit"] });
let out = ""; const port = await new Promise<number>((r) => p.stdout!.on("data", (d) => { out += d; const m = /:(\d+)\s/.exec(out); if (m) r(+m[1]!); }));
const SIZE = 1024 * 1024 * 1024;
const f = dir + "/core"; writeCore(f, SIZE);
const storage = { configured: true, protocol: "s3", endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", bucket: "b", accessKeyId: "S3RVER", secretAccessKey: "S3RVER", storeDir: "x", presignedUrlExpireSeconds: 60, forcePathStyle: true, compression: "none" } as any;
const client = createS3Client(storage);
const c0 = process.cpuUsage(); const t = performance.now();
if (mode === "bare") {
  await new Upload({ client, queueSize: QUEUE_SIZE, partSize: partSizeFor(SIZE), params: { Bucket: "b", Key: "k", Body: createReadStream(f, { highWaterMark: 1 << 20 }) } }).done();
} else {
  const fh = await open(f);
  await createS3Store(storage, client).put({ fh, size: SIZE, key: "k", metadata: {} });
}
const c = process.cpuUsage(c0);
console.log(mode, "wall", ((performance.now() - t) / 1000).toFixed(2), "cpu", ((c.user + c.system) / 1e6).toFixed(2));
p.kill(); rmSync(dir, { recursive: true, force: true });
