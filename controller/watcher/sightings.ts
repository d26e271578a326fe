// After a verified upload: the core's fingerprint marker in the store and the count of earlier cores with that
// fingerprint, kept on the core's report for the notice and the Event. A store that cannot count (no
// s3:ListBucket, an old cfs) leaves the count unknown and says so in the log; the core is stored all the same.
import type { Logger } from "../log.js";
import { errorText } from "../../src/error-text.js";
import { seenText } from "../../src/crash-summary.js";
import type { Store } from "./store-types.js";
import type { CoreReport } from "./types.js";

export async function noteSighting(
  store: Store,
  report: CoreReport,
  key: string,
  at: Date,
  log: Logger,
): Promise<void> {
  const fp = report.report?.fingerprint;
  if (!fp || !store.sighting) return;
  try {
    const seen = await store.sighting(fp.id, key, at);
    report.seenBefore = seen.before;
    report.seenAtLeast = seen.atLeast || undefined;
    log.info(
      { key, fingerprint: fp.id, seenBefore: seen.before },
      `fingerprint ${fp.short}: ${seenText(seen.before, seen.atLeast)}`,
    );
  } catch (err) {
    log.warn(
      { key, fingerprint: fp.id },
      `fingerprint ${fp.short}: how often it was seen is unknown (error: ${errorText(err)}); check that the watcher may list the bucket (s3:ListBucket)`,
    );
  }
}
