// Certificates: pair validation, and rotation under load the way a Secret volume does it
// (a new timestamped directory, then an atomic swap of the `..data` symlink).
import { mkdirSync, renameSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs";
import { Agent } from "node:https";
import { join } from "node:path";
import { expect, it } from "vitest";
import { createLogger } from "../../../controller/log.js";
import {
  checkCertPair,
  loadCertPair,
  watchCertificates,
} from "../../../controller/webhook/certs.js";
import { createMetrics } from "../../../controller/webhook/metrics.js";
import { createWebhookServer } from "../../../controller/webhook/server.js";
import {
  admissionReview,
  deploymentPod,
  logCollector,
  makeCA,
  makeCert,
  send,
  tempDir,
  type TestCert,
} from "./helpers.js";

it("accepts a matching pair and rejects a mismatched or garbled one", () => {
  const ca = makeCA(tempDir());
  const a = makeCert(ca, "a");
  const b = makeCert(ca, "b");
  expect(checkCertPair(a.cert, a.key).subject).toContain("CN=a");
  expect(() => checkCertPair(a.cert, b.key, "tls.crt", "tls.key")).toThrow(
    "tls.crt and tls.key do not match",
  );
  expect(() => checkCertPair(a.cert.subarray(0, 200), a.key, "tls.crt")).toThrow(
    "tls.crt: not a PEM certificate",
  );
  expect(() => checkCertPair(a.cert, Buffer.from("nope"), "tls.crt", "tls.key")).toThrow(
    "tls.key: not a PEM private key",
  );
});

/** A Secret volume: dir/tls.crt -> ..data/tls.crt, ..data -> ..<version>/ */
function secretVolume(dir: string, first: TestCert) {
  let version = 0;
  const publish = (c: TestCert) => {
    const v = join(dir, `..2026_11_27_${version++}`);
    mkdirSync(v);
    copyFileSync(c.certFile, join(v, "tls.crt"));
    copyFileSync(c.keyFile, join(v, "tls.key"));
    symlinkSync(v.slice(dir.length + 1), join(dir, "..data_tmp"));
    renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
  };
  publish(first);
  symlinkSync("..data/tls.crt", join(dir, "tls.crt"));
  symlinkSync("..data/tls.key", join(dir, "tls.key"));
  return { publish, certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key") };
}

it("rotates certificates under load without failing a request; new connections get the new one", async () => {
  const ca = makeCA(tempDir());
  const certs = [0, 1, 2, 3].map((i) => makeCert(ca, `gen${i}`));
  const vol = secretVolume(tempDir("coredog-secret-"), certs[0]!);
  const logs = logCollector();
  const log = createLogger({ write: logs.write });
  const current = await loadCertPair(vol.certFile, vol.keyFile);
  const web = createWebhookServer(current, {
    log,
    metrics: createMetrics({ defaultMetrics: false }),
    namespaces: { cached: () => undefined, fetch: async () => undefined },
    notReady: () => [],
    onInternalError: () => {},
  });
  const watcher = watchCertificates({
    certFile: vol.certFile,
    keyFile: vol.keyFile,
    current,
    log,
    onChange: (p) => web.setCertificate(p),
    intervalMs: 200,
    debounceMs: 20,
  });
  const { port } = await web.listen(0, "127.0.0.1");
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca: ca.pem });
  const body = admissionReview(deploymentPod());
  const total = 2_000;
  let started = 0;
  let ok = 0;
  const failures: string[] = [];
  const t0 = Date.now();
  const worker = async (w: number) => {
    while (started < total) {
      const i = started++;
      // Pace to ~3 s overall; every 8th request on a fresh connection (a new TLS handshake).
      const due = t0 + (i * 3_000) / total;
      if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
      try {
        const r = await send(port, { ca: ca.pem, body, agent: i % 8 === w % 8 ? false : agent });
        if (r.status === 200 && r.body.includes('"allowed":true')) ok++;
        else failures.push(`#${i}: HTTP ${r.status}`);
      } catch (err) {
        failures.push(`#${i}: ${(err as Error).message}`);
      }
    }
  };
  const swaps = (async () => {
    for (const [n, c] of [certs[1]!, certs[2]!, certs[3]!].entries()) {
      await new Promise((r) => setTimeout(r, 700));
      if (n === 1) {
        // A writer that rewrites in place: the certificate first, the key later. The
        // half-written pair must be refused and the old one kept.
        const dir = join(vol.certFile, "..", "..data");
        writeFileSync(join(dir, "tls.crt"), c.cert);
        await watcher.check();
        const mid = await send(port, { ca: ca.pem, method: "GET", path: "/healthz" });
        expect(mid.peerSerial).toBe(certs[1]!.serial);
        writeFileSync(join(dir, "tls.key"), c.key);
      } else vol.publish(c);
      await watcher.check();
      const fresh = await send(port, { ca: ca.pem, method: "GET", path: "/healthz" });
      expect(fresh.status).toBe(200);
      expect(fresh.peerSerial).toBe(c.serial);
    }
  })();
  await Promise.all([...Array.from({ length: 16 }, (_, w) => worker(w)), swaps]);
  watcher.stop();
  agent.destroy();
  await web.close(1_000);
  expect(failures).toEqual([]);
  expect(ok).toBe(total);
  expect(logs.lines.filter((l) => l.includes('msg="reloaded TLS certificate"'))).toHaveLength(3);
  expect(logs.text()).toContain(
    "certificate files changed but are not a usable pair; keeping the current certificate",
  );
});
