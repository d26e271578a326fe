import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { X509Certificate } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "./render.js";

const script = path.join(repoRoot, "scripts", "generate-cert.sh");
const dir = mkdtempSync(path.join(tmpdir(), "coredog-pki-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]): string {
  return execFileSync("bash", [script, "--dir", dir, "--no-apply", ...args], { encoding: "utf8" });
}
const cert = (name: string) => new X509Certificate(readFileSync(path.join(dir, name)));
const days = (c: X509Certificate) =>
  Math.round((Date.parse(c.validTo) - Date.parse(c.validFrom)) / 86_400_000);

describe("scripts/generate-cert.sh", () => {
  it("makes a CA and a serving certificate for the webhook Service", () => {
    expect(run()).toMatch(/made a new CA/);
    const ca = cert("ca.crt");
    const tls = cert("tls.crt");
    expect(ca.ca).toBe(true);
    expect(tls.ca).toBe(false);
    expect(tls.verify(ca.publicKey)).toBe(true);
    expect(tls.subjectAltName).toContain("DNS:coredog-webhook.coredog-system.svc");
    expect(tls.subjectAltName).toContain("DNS:coredog-webhook.coredog-system.svc.cluster.local");
    expect(tls.keyUsage).toContain("1.3.6.1.5.5.7.3.1"); // serverAuth
    expect(days(tls)).toBe(365);
    expect(days(ca)).toBeLessThanOrEqual(5 * 366);
    expect(statSync(path.join(dir, "tls.key")).mode & 0o077).toBe(0);
  });

  it("rotates the serving certificate under the same CA", () => {
    const before = cert("tls.crt");
    const ca = cert("ca.crt");
    expect(run()).toMatch(/reusing the CA/);
    const after = cert("tls.crt");
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(after.verify(ca.publicKey)).toBe(true);
    expect(cert("ca.crt").fingerprint256).toBe(ca.fingerprint256);
  });

  it("with --new-ca keeps the old CA in the bundle so running clients keep trusting", () => {
    const old = cert("ca.crt");
    run("--new-ca");
    const bundle = readFileSync(path.join(dir, "ca-bundle.crt"), "utf8");
    expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(cert("ca.crt").fingerprint256).not.toBe(old.fingerprint256);
    expect(bundle).toContain(readFileSync(path.join(dir, "ca-previous.crt"), "utf8").trim());
  });

  it("refuses bad options with a clear message", () => {
    expect(() =>
      execFileSync("bash", [script, "--days", "soon", "--no-apply", "--dir", dir], {
        stdio: "pipe",
      }),
    ).toThrow(/whole numbers/);
    expect(() => execFileSync("bash", [script, "--bogus"], { stdio: "pipe" })).toThrow(
      /unknown option --bogus/,
    );
  });
});
