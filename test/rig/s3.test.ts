import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3, type RigS3 } from "./s3.js";

const MiB = 1024 * 1024;

/** A deterministic, incompressible-ish stream of `size` bytes; also returns its sha256 when done. */
function patternStream(size: number): { stream: Readable; digest: () => string } {
  const hash = createHash("sha256");
  let sent = 0;
  let seed = 0x12345678;
  const stream = new Readable({
    read() {
      if (sent >= size) return this.push(null);
      const n = Math.min(4 * MiB, size - sent);
      const buf = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i += 4) {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        buf.writeUInt32LE(seed, i);
      }
      hash.update(buf);
      sent += n;
      this.push(buf);
    },
  });
  return { stream, digest: () => hash.digest("hex") };
}

describe("rig S3 server", () => {
  let s3: RigS3;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it("round-trips a 200 MiB object with a multipart Upload (sha256 equal)", async () => {
    await s3.createBucket("big");
    const size = 200 * MiB;
    const src = patternStream(size);
    const upload = new Upload({
      client: s3.client,
      params: { Bucket: "big", Key: "cores/core.big", Body: src.stream },
      partSize: 16 * MiB,
      queueSize: 4,
    });
    let parts = 0;
    upload.on("httpUploadProgress", () => parts++);
    await upload.done();
    expect(parts).toBeGreaterThan(1);
    const head = await s3.client.send(
      new HeadObjectCommand({ Bucket: "big", Key: "cores/core.big" }),
    );
    expect(head.ContentLength).toBe(size);
    const got = await s3.client.send(
      new GetObjectCommand({ Bucket: "big", Key: "cores/core.big" }),
    );
    const h = createHash("sha256");
    for await (const chunk of got.Body as Readable) h.update(chunk as Buffer);
    expect(h.digest("hex")).toBe(src.digest());
  }, 120_000);

  it("refuses, hangs and recovers on the same endpoint", async () => {
    await s3.createBucket("modes");
    const put = (key: string) =>
      s3.client.send(new PutObjectCommand({ Bucket: "modes", Key: key, Body: "x" }), {
        abortSignal: AbortSignal.timeout(1500),
      });
    await put("a");

    await s3.pause();
    const refused = await fetch(`${s3.endpoint}/modes/a`).then(
      () => "answered",
      (err: Error) => String((err.cause as NodeJS.ErrnoException | undefined)?.code ?? err.message),
    );
    expect(refused).toBe("ECONNREFUSED");

    await s3.mode("hang");
    const t0 = Date.now();
    await expect(put("b")).rejects.toThrow();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);

    await s3.resume();
    await put("c");
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: "modes", Key: "c" }));
    expect(head.ContentLength).toBe(1);
  });
});
