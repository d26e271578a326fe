// The serving certificate: loaded, validated as a pair, and reloaded when the files change
// (a Secret volume swaps its `..data` symlink; some writers rewrite in place).
import { readFile } from "node:fs/promises";
import { X509Certificate, createPrivateKey, createHash } from "node:crypto";
import { createSecureContext } from "node:tls";
import { dirname } from "node:path";
import { watchFiles, type FileWatch } from "../file-watch.js";
import type { Logger } from "../log.js";
import { errorText } from "../../src/error-text.js";

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
    throw new Error(`${certFile}: not a PEM certificate (${errorText(err)})`, {
      cause: err,
    });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`${keyFile}: not a PEM private key (${errorText(err)})`, {
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

export type CertWatcher = FileWatch;

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

  async function once(): Promise<void> {
    let cert: Buffer, key: Buffer;
    try {
      [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
    } catch (err) {
      // Mid-swap or removed: keep serving the current pair; the next event or tick retries.
      log.debug({ err: errorText(err) }, "certificate files not readable yet");
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
        { error: errorText(err) },
        "certificate files changed but are not a usable pair; keeping the current certificate",
      );
    }
  }

  return watchFiles({
    dirs: [dirname(certFile), dirname(keyFile)],
    onCheck: once,
    log,
    what: "certificate directory",
    intervalMs: opts.intervalMs,
    debounceMs: opts.debounceMs,
  });
}
