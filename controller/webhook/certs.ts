// The serving certificate: loaded, validated as a pair, and reloaded when the files change
// (a Secret volume swaps its `..data` symlink; some writers rewrite in place).
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { X509Certificate, createPrivateKey, createHash } from "node:crypto";
import { createSecureContext } from "node:tls";
import { dirname } from "node:path";
import type { Logger } from "../log.js";

export interface CertPair {
  cert: Buffer;
  key: Buffer;
  subject: string;
  notAfter: string;
  fingerprint: string;
}

/** Reads and checks a certificate/key pair; throws with a clear message when it is unusable. */
export async function loadCertPair(certFile: string, keyFile: string): Promise<CertPair> {
  const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
  return checkCertPair(cert, key, certFile, keyFile);
}

export function checkCertPair(
  cert: Buffer,
  key: Buffer,
  certFile = "cert",
  keyFile = "key",
): CertPair {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`${certFile}: not a PEM certificate (${(err as Error).message})`, {
      cause: err,
    });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`${keyFile}: not a PEM private key (${(err as Error).message})`, {
      cause: err,
    });
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new Error(`${certFile} and ${keyFile} do not match (the key is not the certificate's)`);
  }
  createSecureContext({ cert, key }); // what the TLS server will do; throws on anything else wrong
  return {
    cert,
    key,
    subject: x509.subject.replace(/\n/g, ","),
    notAfter: x509.validTo,
    fingerprint: x509.fingerprint256,
  };
}

function digest(cert: Buffer, key: Buffer): string {
  return createHash("sha256").update(cert).update("\0").update(key).digest("hex");
}

export interface CertWatcher {
  stop(): void;
  /** Re-reads the files now (also runs on file events and every intervalMs). */
  check(): Promise<void>;
}

export function watchCertificates(opts: {
  certFile: string;
  keyFile: string;
  current: CertPair;
  onChange: (pair: CertPair) => void;
  log: Logger;
  intervalMs?: number;
  debounceMs?: number;
}): CertWatcher {
  const { certFile, keyFile, log } = opts;
  let currentDigest = digest(opts.current.cert, opts.current.key);
  let rejectedDigest: string | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let debounce: NodeJS.Timeout | undefined;

  async function once(): Promise<void> {
    let cert: Buffer, key: Buffer;
    try {
      [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
    } catch (err) {
      // Mid-swap or removed: keep serving the current pair; the next event or tick retries.
      log.debug({ err: (err as Error).message }, "certificate files not readable yet");
      return;
    }
    const d = digest(cert, key);
    if (d === currentDigest || d === rejectedDigest) return;
    try {
      const pair = checkCertPair(cert, key, certFile, keyFile);
      opts.onChange(pair);
      currentDigest = d;
      rejectedDigest = undefined;
      log.info(
        { subject: pair.subject, notAfter: pair.notAfter, fingerprint: pair.fingerprint },
        "reloaded TLS certificate",
      );
    } catch (err) {
      rejectedDigest = d;
      log.warn(
        { error: (err as Error).message },
        "certificate files changed but are not a usable pair; keeping the current certificate",
      );
    }
  }

  async function check(): Promise<void> {
    if (stopped) return;
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await once();
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  const onEvent = () => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => void check(), opts.debounceMs ?? 100);
    debounce.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set([dirname(certFile), dirname(keyFile)])) {
    try {
      const w = watch(dir, { persistent: false }, onEvent);
      w.on("error", (err) =>
        log.warn(
          { dir, error: err.message },
          "certificate directory watch failed; relying on the periodic check",
        ),
      );
      watchers.push(w);
    } catch (err) {
      log.warn(
        { dir, error: (err as Error).message },
        "cannot watch certificate directory; relying on the periodic check",
      );
    }
  }
  const timer = setInterval(() => void check(), opts.intervalMs ?? 10_000);
  timer.unref();

  return {
    check,
    stop() {
      stopped = true;
      clearInterval(timer);
      if (debounce) clearTimeout(debounce);
      for (const w of watchers) w.close();
    },
  };
}
