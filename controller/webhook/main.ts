// Replaced by the webhook program.
export async function runWebhook(_argv: string[]): Promise<number> {
  process.stderr.write("coredog-controller: the webhook program is not available in this build\n");
  return 1;
}
