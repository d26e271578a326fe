// List, then watch from the list's resourceVersion; when the API server ends or breaks the watch,
// watch again (clean end) or re-list (410 Gone, errors) with exponential backoff. Like client-go's reflector.

export interface Listed<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

export interface ReflectorOptions<T> {
  list(): Promise<Listed<T>>;
  /** Starts a watch; resolves with something to abort it. `done` is called once when it ends. */
  watch(
    resourceVersion: string,
    onEvent: (phase: string, obj: T) => void,
    done: (err: unknown) => void,
  ): Promise<{ abort(): void }>;
  key(obj: T): string;
  /** Called after every list and every watch event with the current objects. */
  onChange(items: ReadonlyMap<string, T>): void;
  onStatus?(state: "live" | "reconnecting", error?: string): void;
  signal: AbortSignal;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function isGone(err: unknown): boolean {
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown } | null;
  return (
    e?.code === 410 || e?.statusCode === 410 || /\b410\b|too old/i.test(String(e?.message ?? ""))
  );
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  const status = err as { message?: unknown; code?: unknown } | null;
  if (status && typeof status.message === "string") return status.message;
  return String(err);
}

export async function reflect<T extends { metadata?: { resourceVersion?: string } }>(
  o: ReflectorOptions<T>,
): Promise<void> {
  const initial = o.initialBackoffMs ?? 500;
  const max = o.maxBackoffMs ?? 30_000;
  let failures = 0;
  let version: string | undefined;
  let items = new Map<string, T>();
  const backoff = () => Math.min(max, initial * 2 ** Math.min(failures++, 16));

  while (!o.signal.aborted) {
    if (version === undefined) {
      try {
        const list = await o.list();
        if (o.signal.aborted) return;
        items = new Map(list.items.map((i) => [o.key(i), i]));
        version = list.metadata?.resourceVersion ?? "0";
        failures = 0;
        o.onChange(items);
        o.onStatus?.("live");
      } catch (err) {
        if (o.signal.aborted) return;
        o.onStatus?.("reconnecting", describe(err));
        await sleep(backoff(), o.signal);
        continue;
      }
    }
    const started = Date.now();
    const ended = await new Promise<{ err: unknown; gone: boolean }>((resolve) => {
      let finished = false;
      let handle: { abort(): void } | undefined;
      const finish = (err: unknown, gone = false) => {
        if (finished) return;
        finished = true;
        o.signal.removeEventListener("abort", onAbort);
        handle?.abort();
        resolve({ err, gone });
      };
      const onAbort = () => finish(null);
      o.signal.addEventListener("abort", onAbort, { once: true });
      o.watch(
        version!,
        (phase, obj) => {
          if (finished) return;
          if (phase === "ERROR") {
            // A Status object: 410 Gone means our resourceVersion is too old.
            finish(obj, isGone(obj));
            return;
          }
          const rv = obj?.metadata?.resourceVersion;
          if (rv) version = rv;
          if (phase === "BOOKMARK") return;
          if (phase === "DELETED") items.delete(o.key(obj));
          else items.set(o.key(obj), obj);
          o.onChange(items);
        },
        (err) => finish(err, isGone(err)),
      ).then(
        (h) => {
          handle = h;
          if (finished) h.abort();
        },
        (err) => finish(err, isGone(err)),
      );
    });
    if (o.signal.aborted) return;
    if (ended.gone) {
      version = undefined;
    } else if (ended.err) {
      // The server dropped us (restart, network): re-list, since we may have missed deletions.
      o.onStatus?.("reconnecting", describe(ended.err));
      version = undefined;
      await sleep(backoff(), o.signal);
    } else {
      // A clean end (the server's watch timeout): continue from where we were; back off when
      // the server keeps closing watches at once.
      await sleep(Date.now() - started < 1000 ? backoff() : 100, o.signal);
    }
  }
}
