// Builds CoreDog's image for the rig (`npm run image`: cached on its content, one build at a time across
// processes), so that the rig's node runs CoreDog's pods from the image that ships. Where it cannot be
// built (not root, no buildah), this says why and throws: the tests that need the image fail, never skip.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CHECKOUT = fileURLToPath(new URL("../..", import.meta.url));

/** Runs scripts/build-image.sh; resolves with its output, rejects with its reason. */
export function ensureImage(opts: { onLine?: (line: string) => void } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["scripts/build-image.sh"], {
      cwd: CHECKOUT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let pending = "";
    const take = (chunk: Buffer): void => {
      out += chunk.toString();
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const l of lines) opts.onLine?.(l);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", reject);
    child.on("close", (code) => {
      if (pending) opts.onLine?.(pending);
      if (code === 0) resolve(out);
      else
        reject(
          new Error(
            `CoreDog's image could not be built, and the rig runs CoreDog's pods from it: ${out.trim().split("\n").at(-1) ?? `exit ${code}`}`,
          ),
        );
    });
  });
}
