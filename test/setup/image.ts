// vitest globalSetup: builds CoreDog's image once before the tests (cached: a second run takes a second),
// as the rig runs CoreDog's pods from it. A run of unit tests only does not need it.
import { ensureImage } from "../rig/image-build.js";

export default async function setup(): Promise<void> {
  const filters = process.argv.slice(2).filter((a) => a.startsWith("test/"));
  if (filters.length > 0 && filters.every((f) => f.startsWith("test/unit"))) return;
  const out = await ensureImage();
  process.stdout.write(`${out.trim().split("\n").at(-1)}\n`);
}
