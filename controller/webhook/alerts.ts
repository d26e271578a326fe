// Alerts about our own failures to the configured chat channels: fire-and-forget, at most one per
// interval (the rest are counted into the next one), never in the way of an admission answer.
import type { Logger } from "../log.js";
import type { NoticeChannel } from "../notify/payloads.js";
import type { SendOptions } from "../notify/send.js";

export type SendFn = (channel: NoticeChannel, text: string, opts?: SendOptions) => Promise<unknown>;

export interface Alerter {
  alert(text: string): void;
  /** Resolves when alerts already started have finished (for shutdown and tests). */
  idle(): Promise<void>;
}

export function createAlerter(opts: {
  channels: () => readonly NoticeChannel[];
  enabled: () => boolean;
  send: SendFn;
  log: Logger;
  minIntervalMs?: number;
  timeoutMs?: number;
  now?: () => number;
}): Alerter {
  const interval = opts.minIntervalMs ?? 60_000;
  const now = opts.now ?? Date.now;
  let last = -Infinity;
  let suppressed = 0;
  const pending = new Set<Promise<void>>();

  function dispatch(text: string): void {
    const channels = opts.channels();
    for (const ch of channels) {
      const p = opts
        .send(ch, text, {
          timeoutMs: opts.timeoutMs ?? 5_000,
          retries: 1,
          fields: { kind: "alert", error: text },
        })
        .then(
          () => opts.log.info({ chan: ch.chan }, "sent alert notice"),
          (err: Error) =>
            opts.log.warn({ chan: ch.chan, error: err.message }, "alert notice failed"),
        )
        .finally(() => pending.delete(p));
      pending.add(p);
    }
  }

  return {
    alert(text) {
      if (!opts.enabled() || opts.channels().length === 0) return;
      const t = now();
      if (t - last < interval) {
        suppressed++;
        return;
      }
      last = t;
      const more = suppressed > 0 ? ` (+${suppressed} more since the last alert)` : "";
      suppressed = 0;
      const host = process.env.HOSTNAME ? ` on ${process.env.HOSTNAME}` : "";
      const message = `[coredog-webhook${host}] ${text}${more}`;
      // Off this tick: the admission answer is written first.
      setImmediate(() => dispatch(message));
    },
    async idle() {
      await new Promise((r) => setImmediate(r));
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
