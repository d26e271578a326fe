// `notify test`'s results: what the watcher sends back (JSON) and how `kubectl coredog notify test` prints it.
import { z } from "zod";
import type { ChannelKind } from "./settings/types.js";
import { CHANNELS } from "./settings/types.js";

export interface ChannelResult {
  channel: number;
  chan: ChannelKind;
  /** The webhook URL with its tokens hidden. */
  url: string;
  ok: boolean;
  /** The provider's answer: HTTP status and body (absent when nothing came back). */
  status?: number;
  answer?: string;
  error?: string;
  /** Refused by the robot's security: which, and what to change. */
  refusal?: { kind: string; said: string; what: string; fix: string };
}

export interface NotifyTestOutput {
  node: string;
  results: ChannelResult[];
}

const resultSchema = z.object({
  channel: z.number().int().nonnegative(),
  chan: z.enum(CHANNELS),
  url: z.string(),
  ok: z.boolean(),
  status: z.number().int().optional(),
  answer: z.string().optional(),
  error: z.string().optional(),
  refusal: z
    .object({ kind: z.string(), said: z.string(), what: z.string(), fix: z.string() })
    .optional(),
});
const outputSchema = z.union([
  z.object({ node: z.string(), results: z.array(resultSchema) }),
  z.object({ error: z.string() }),
]);

/** The watcher's JSON: the results, or the error it gave; undefined when it is not that. */
export function parseNotifyTestOutput(
  text: string,
): NotifyTestOutput | { error: string } | undefined {
  const line = text.trim().split("\n").at(-1) ?? "";
  try {
    const r = outputSchema.safeParse(JSON.parse(line));
    return r.success ? (r.data as NotifyTestOutput | { error: string }) : undefined;
  } catch {
    return undefined;
  }
}

/** One line per channel (✓ accepted / ✗ why, with the provider's answer), then `fix:` for a refusal. */
export function formatNotifyTest(results: readonly ChannelResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const who = `NoticeChannel[${r.channel}] ${r.chan} ${r.url}`;
    const said =
      r.status !== undefined
        ? ` (HTTP ${r.status}${r.answer?.trim() ? ` ${r.answer.trim().replace(/\s+/g, " ").slice(0, 300)}` : ""})`
        : "";
    if (r.ok) lines.push(`✓ ${who}: accepted${said}`);
    else if (r.refusal) {
      lines.push(
        `✗ ${who}: refused by the robot's security (${r.refusal.kind}): ${r.refusal.what}${said}`,
      );
      lines.push(`    fix: ${r.refusal.fix}`);
    } else lines.push(`✗ ${who}: ${r.error ?? "failed"}${said}`);
  }
  return lines.join("\n");
}
