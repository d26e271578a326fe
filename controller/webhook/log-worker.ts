// The log writer thread: takes batches of formatted lines and writes them to stdout, so that the
// write (which blocks when stdout is a full pipe) is not on the request path.
import { writeSync } from "node:fs";
import { parentPort } from "node:worker_threads";

function writeAll(text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EAGAIN") continue; // non-blocking pipe: retry
      return; // stdout gone: nothing sensible left to do with a log line
    }
  }
}

parentPort!.on("message", (msg: { lines?: string; flush?: number }) => {
  if (msg.lines !== undefined) writeAll(msg.lines);
  if (msg.flush !== undefined) parentPort!.postMessage({ flushed: msg.flush });
});
