// An S3-compatible server on loopback (s3rver 3.7.1, path-style), behind a small TCP proxy whose mode simulates
// outages: "ok" forwards, "refuse" closes the listening port (connections are refused), "hang" accepts and never
// answers. Switching to refuse/hang also cuts the connections in flight; the endpoint stays the same throughout.
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
// s3rver ships no types.
// @ts-expect-error -- untyped CommonJS module
import S3rver from "s3rver";

export type S3Mode = "ok" | "refuse" | "hang";

export interface RigS3 {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** An S3Client for the endpoint (forcePathStyle). */
  client: S3Client;
  /** Where s3rver keeps the objects. */
  dir: string;
  createBucket(name: string): Promise<void>;
  /** Outage simulation; see the module comment. */
  mode(mode: S3Mode): Promise<void>;
  currentMode(): S3Mode;
  /** mode("refuse") */
  pause(): Promise<void>;
  /** mode("ok") */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<{ port: number; address: string }>;
  close(): Promise<void>;
}

export async function startS3(opts: { dir?: string } = {}): Promise<RigS3> {
  const own = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "rig-s3-"));
  mkdirSync(dir, { recursive: true });
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: dir,
    vhostBuckets: false,
  }) as S3rverInstance;
  const backend = await server.run();

  let mode: S3Mode = "ok";
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
  };
  const proxy = net.createServer((client) => {
    track(client);
    if (mode === "hang") return; // held open, never answered
    const upstream = net.connect({ host: "127.0.0.1", port: backend.port });
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      proxy.once("error", reject);
      proxy.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
        proxy.off("error", reject);
        resolve();
      });
    });
  await listen(0);
  const port = (proxy.address() as net.AddressInfo).port;
  const closeListener = (): Promise<void> =>
    new Promise((resolve) => (proxy.listening ? proxy.close(() => resolve()) : resolve()));
  const cutAll = (): void => {
    for (const s of sockets) s.destroy();
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const region = "us-east-1";
  const accessKeyId = "S3RVER";
  const secretAccessKey = "S3RVER";
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });

  const setMode = async (m: S3Mode): Promise<void> => {
    if (m === mode) return;
    const was = mode;
    mode = m;
    cutAll();
    if (m === "refuse") {
      const closing = closeListener();
      cutAll();
      await closing;
    } else if (was === "refuse") {
      // Re-listen on the same port; retry briefly if the kernel still holds it.
      for (let i = 0; ; i++) {
        try {
          await listen(port);
          break;
        } catch (err) {
          if (i >= 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  };

  let stopped = false;
  return {
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    client,
    dir,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    mode: setMode,
    currentMode: () => mode,
    pause: () => setMode("refuse"),
    resume: () => setMode("ok"),
    async stop() {
      if (stopped) return;
      stopped = true;
      client.destroy();
      const closing = closeListener();
      cutAll();
      await closing;
      await server.close();
      if (own) rmSync(dir, { recursive: true, force: true });
    },
  };
}
