// Asks before anything destructive; --yes skips, and without a terminal we refuse rather than guess.
import { createInterface } from "node:readline/promises";
import { UserError } from "./errors.js";

export async function confirm(question: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new UserError(
      "refusing to change the cluster without confirmation",
      "add --yes to proceed (standard input is not a terminal)",
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== "y" && answer !== "yes")
      throw new UserError("cancelled: nothing was changed", undefined, 1);
  } finally {
    rl.close();
  }
}
