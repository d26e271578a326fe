// An S3-compatible server on loopback (s3rver 3.7.1), behind a small TCP proxy whose mode simulates
// outages: "ok" forwards, "refuse" closes the listening port (connections are refused), "hang" accepts and never
// answers. Switching to refuse/hang also cuts the connections in flight; the endpoint stays the same throughout.
//
// Faults (./s3-faults.ts): the server can lose, hold, or answer other bytes or sizes for chosen keys.
// Strictness (./s3-strict.ts): the server can refuse what some S3-compatible stores refuse (flexible checksums and
// aws-chunked bodies like Backblaze B2, COS, OSS, OBS; path-style requests like OSS), require the keys it was given
// (SigV4 checked, with a session token), and records every request's headers for the tests to inspect.
// Virtual-hosted requests use the endpoint `http://s3.localhost:<port>`: `<bucket>.s3.localhost` resolves to
// 127.0.0.1 through nss-myhostname (.ci/run installs it).
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import crypto from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
// s3rver ships no types.
// @ts-expect-error -- untyped CommonJS module
import S3rver from "s3rver";
import { isSidecarKey } from "../../src/core-sidecar.js";
import {
  ADMIN_HEADER,
  ADMIN_SECRET,
  strictMiddleware,
  type RecordedRequest,
  type S3Keys,
  type S3Strictness,
} from "./s3-strict.js";
import { HeldRequests, faultMiddleware, type S3Fault } from "./s3-faults.js";

// s3rver seals ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 only has in its legacy provider:
// without this, any listing longer than one page (1000 keys) fails with HTTP 500. Two-key triple DES whose two
// halves are the same key is single DES, and is in the default provider.
const createCipheriv = crypto.createCipheriv as (
  alg: string,
  ...rest: unknown[]
) => crypto.Cipheriv;
const createDecipheriv = crypto.createDecipheriv as (
  alg: string,
  ...rest: unknown[]
) => crypto.Decipheriv;
const sameKeyTwice = (key: unknown) => Buffer.concat([key as Buffer, key as Buffer]);
Object.assign(crypto, {
  createCipheriv: (alg: string, key: unknown, ...rest: unknown[]) =>
    alg === "des"
      ? createCipheriv("des-ede-cbc", sameKeyTwice(key), ...rest)
      : createCipheriv(alg, key, ...rest),
  createDecipheriv: (alg: string, key: unknown, ...rest: unknown[]) =>
    alg === "des"
      ? createDecipheriv("des-ede-cbc", sameKeyTwice(key), ...rest)
      : createDecipheriv(alg, key, ...rest),
});

export type S3Mode = "ok" | "refuse" | "hang";
export type { RecordedRequest, S3Fault, S3Keys, S3Strictness };

export interface RigS3 {
  endpoint: string;
  /** The same server by a name whose subdomains resolve to loopback, for virtual-hosted-style requests. */
  vhostEndpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** An S3Client for the endpoint (forcePathStyle), the rig's own: never restricted, never recorded. */
  client: S3Client;
  /** Where s3rver keeps the objects. */
  dir: string;
  createBucket(name: string): Promise<void>;
  /** Outage simulation; see the module comment. */
  mode(mode: S3Mode): Promise<void>;
  currentMode(): S3Mode;
  /** What the server refuses from now on (see ./s3-strict.ts); [] accepts anything. */
  strict(modes: S3Strictness[]): void;
  /** Misbehave for the matching requests from now on (see ./s3-faults.ts); [] behaves. */
  faults(faults: S3Fault[]): void;
  /** Require requests signed with these keys (and session token) instead of the fixed rig keys. */
  requireKeys(keys: S3Keys | undefined): void;
  /** Every request received so far (method, URL, Host, headers), oldest first. */
  requests: RecordedRequest[];
  /** mode("refuse") */
  pause(): Promise<void>;
  /** mode("ok") */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<{ port: number; address: string }>;
  close(): Promise<void>;
  /** Koa's middleware list; composed when the server starts. */
  middleware: unknown[];
}

interface S3rverAccount {
  createKeyPair(accessKeyId: string, secretAccessKey: string): void;
}

export async function startS3(
  opts: { dir?: string; strict?: S3Strictness[]; keys?: S3Keys } = {},
): Promise<RigS3> {
  const own = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "rig-s3-"));
  mkdirSync(dir, { recursive: true });
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: dir,
    vhostBuckets: false,
    // `<bucket>.s3.localhost` is a virtual-hosted request for <bucket>, `s3.localhost` and 127.0.0.1 path-style.
    serviceEndpoint: "localhost",
  }) as S3rverInstance;
  const requests: RecordedRequest[] = [];
  const policy: { strict: S3Strictness[]; keys: S3Keys | undefined } = {
    strict: opts.strict ?? [],
    keys: opts.keys,
  };
  // s3rver checks only that the access key exists (it does not verify SigV4): the strict layer checks signatures
  // when keys are required, and the keys are registered with s3rver so that it accepts them too.
  const account = (
    createRequire(import.meta.url)("s3rver/lib/models/account") as {
      DUMMY_ACCOUNT: S3rverAccount;
    }
  ).DUMMY_ACCOUNT;
  const register = (k: S3Keys | undefined) =>
    k && account.createKeyPair(k.accessKeyId, k.secretAccessKey);
  register(policy.keys);
  const faults: S3Fault[] = [];
  const held = new HeldRequests();
  server.middleware.unshift(faultMiddleware(faults, held));
  server.middleware.unshift(strictMiddleware(policy, requests));
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
  const vhostEndpoint = `http://s3.localhost:${port}`;
  const region = "us-east-1";
  const accessKeyId = "S3RVER";
  const secretAccessKey = "S3RVER";
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  // The rig's own requests (buckets, reading back what was stored) are not what a test inspects or restricts.
  client.middlewareStack.add(
    (next) => (args) => {
      (args.request as { headers: Record<string, string> }).headers[ADMIN_HEADER] = ADMIN_SECRET;
      return next(args);
    },
    { step: "build", name: "rigAdminHeader" },
  );

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
    vhostEndpoint,
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
    strict(modes) {
      policy.strict = [...modes];
    },
    faults(list) {
      faults.splice(0, faults.length, ...list);
      held.release();
    },
    requireKeys(keys) {
      register(keys);
      policy.keys = keys;
    },
    requests,
    pause: () => setMode("refuse"),
    resume: () => setMode("ok"),
    async stop() {
      if (stopped) return;
      stopped = true;
      held.release();
      client.destroy();
      const closing = closeListener();
      cutAll();
      await closing;
      await server.close();
      if (own) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A stored core's key: not the crash report beside it (`<key>.report.json`) nor a fingerprint marker. */
export function isCoreKey(key: string | undefined): boolean {
  return key !== undefined && !isSidecarKey(key) && !/(^|\/)_fingerprints\//.test(key);
}
