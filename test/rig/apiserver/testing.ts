// Helpers shared by the API server's tests: the real kubectl, and a small HTTPS admission webhook.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makePki } from "./pki.js";

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

export function kubectl(
  kubeconfig: string,
  args: string[],
  input?: string,
): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      "kubectl",
      ["--kubeconfig", kubeconfig, ...args],
      { timeout: 30_000, maxBuffer: 20 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === "number"
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ stdout: String(stdout), stderr: String(stderr), code });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Starts a long-running kubectl (e.g. `get -w`), collecting its output. */
export function kubectlStream(
  kubeconfig: string,
  args: string[],
): {
  child: ChildProcess;
  output: () => string;
  waitFor: (re: RegExp, ms?: number) => Promise<string>;
} {
  const child = spawn("kubectl", ["--kubeconfig", kubeconfig, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  return {
    child,
    output: () => out,
    waitFor: (re, ms = 10_000) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const tick = () => {
          if (re.test(out)) resolve(out);
          else if (Date.now() - started > ms)
            reject(new Error(`timed out waiting for ${re} in:\n${out}`));
          else setTimeout(tick, 50);
        };
        tick();
      }),
  };
}

export interface TestWebhook {
  url: string;
  caBundle: string; // base64 PEM
  reviews: Record<string, unknown>[];
  /** How to answer a review; default: allow with a JSON patch adding label mutated=yes. */
  respond: (review: Record<string, any>) => Record<string, unknown>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): Promise<void>;
}

export async function startTestWebhook(extraSans: string[] = []): Promise<TestWebhook> {
  const dir = mkdtempSync(join(tmpdir(), "rig-webhook-"));
  const pki = makePki(dir, ["IP:127.0.0.1", "DNS:localhost", ...extraSans], "test-webhook");
  const hook: TestWebhook = {
    url: "",
    caBundle: Buffer.from(pki.caPem).toString("base64"),
    reviews: [],
    respond: (review) => {
      const labels = review.request.object?.metadata?.labels;
      const patch = labels
        ? [{ op: "add", path: "/metadata/labels/mutated", value: "yes" }]
        : [{ op: "add", path: "/metadata/labels", value: { mutated: "yes" } }];
      return {
        uid: review.request.uid,
        allowed: true,
        patchType: "JSONPatch",
        patch: Buffer.from(JSON.stringify(patch)).toString("base64"),
      };
    },
    close: async () => {},
  };
  const server: Server = createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      hook.reviews.push(review);
      const response = hook.respond(review);
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  hook.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/mutate`;
  hook.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
      rmSync(dir, { recursive: true, force: true });
    });
  return hook;
}
