// Log lines off the hot path. Formatted lines are collected and handed over in batches: to a
// writer thread that writes them to stdout (the program), or to a function (tests).
import { Worker } from "node:worker_threads";

export interface LogSink {
  write(line: string): void;
  /** Hands over what is buffered; resolves when it has been written. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Collects lines and hands them over as one chunk: after `delayMs` (0 = the next event-loop turn)
 * or when `maxBuffered` characters are waiting.
 */
function batcher(out: (chunk: string) => void, delayMs: number, maxBuffered = 1 << 20) {
  let buf: string[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  const drain = () => {
    if (timer !== undefined) {
      if (delayMs > 0) clearTimeout(timer as NodeJS.Timeout);
      else clearImmediate(timer as NodeJS.Immediate);
      timer = undefined;
    }
    if (buf.length === 0) return;
    const chunk = buf.length === 1 ? buf[0]! : buf.join("");
    buf = [];
    size = 0;
    out(chunk);
  };
  return {
    write(line: string) {
      buf.push(line);
      size += line.length;
      if (size >= maxBuffered) drain();
      else if (timer === undefined)
        timer = delayMs > 0 ? setTimeout(drain, delayMs) : setImmediate(drain);
    },
    drain,
  };
}

/** Batches lines to `out` (already formatted by the logger). */
export function createLogSink(out: (chunk: string) => void): LogSink {
  const b = batcher(out, 0);
  return {
    write: b.write,
    flush: async () => b.drain(),
    close: async () => b.drain(),
  };
}

/**
 * Batches formatted lines to a writer thread that writes them to stdout, so that a slow reader of
 * stdout (a full pipe) never blocks the event loop.
 */
export function createThreadLogSink(): LogSink {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const worker = new Worker(new URL(`./log-worker${ext}`, import.meta.url));
  worker.unref();
  let seq = 0;
  const waiting = new Map<number, () => void>();
  worker.on("message", (m: { flushed: number }) => {
    waiting.get(m.flushed)?.();
    waiting.delete(m.flushed);
  });
  worker.on("error", (err) => {
    process.stderr.write(`coredog-controller: log writer failed: ${err.message}\n`);
    for (const w of waiting.values()) w();
    waiting.clear();
  });
  // One hand-over per 20 ms at most: under load, one message per request would cost more than the
  // formatting it saves.
  const b = batcher((lines) => worker.postMessage({ lines }), 20);
  const flush = () => {
    b.drain();
    const id = ++seq;
    return new Promise<void>((resolve) => {
      waiting.set(id, resolve);
      worker.postMessage({ flush: id });
      // Never hang on the log writer.
      setTimeout(resolve, 2_000).unref();
    });
  };
  return {
    write: b.write,
    flush,
    async close() {
      await flush();
      await worker.terminate();
    },
  };
}
