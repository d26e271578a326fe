// A channel's signing secret: written in the settings (`secret`), or a key of Secret coredog-notify mounted as
// files (`secretRef.key`). Read at each send, so a rotated Secret is used as soon as the kubelet updates the files.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { NOTIFY_SECRET, NOTIFY_SECRET_DIR } from "../../src/names.js";
import type { SecretRef } from "../../src/settings.js";

/** Where Secret coredog-notify is mounted; COREDOG_NOTIFY_SECRET_DIR for tests and non-default mounts. */
export function notifySecretDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.COREDOG_NOTIFY_SECRET_DIR || NOTIFY_SECRET_DIR;
}

export class SecretError extends Error {
  override name = "SecretError";
}

export async function channelSecret(
  ch: { secret?: string; secretRef?: SecretRef },
  dir = notifySecretDir(),
): Promise<string | undefined> {
  if (ch.secret !== undefined) return ch.secret;
  if (!ch.secretRef) return undefined;
  const { key } = ch.secretRef;
  let text: string;
  try {
    text = await readFile(join(dir, key), "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SecretError(
      code === "ENOENT"
        ? `secretRef key "${key}" is not in Secret ${NOTIFY_SECRET} (mounted at ${dir}): kubectl -n coredog-system create secret generic ${NOTIFY_SECRET} --from-literal=${key}=<the robot's secret> (or add the key to it)`
        : `cannot read secretRef key "${key}" from ${dir}: ${code ?? String(err)}`,
    );
  }
  const secret = text.trim();
  if (!secret) throw new SecretError(`secretRef key "${key}" in Secret ${NOTIFY_SECRET} is empty`);
  return secret;
}
