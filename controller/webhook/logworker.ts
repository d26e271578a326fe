// The log writer thread: takes batches of pino's JSON lines, formats them (logfmt or JSON as
// given) and writes them to stdout, so neither formatting nor the write is on the request path.
import { writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { formatLogfmt } from "../../src/logfmt.js";

const { format } = workerData as { format: "logfmt" | "json" };

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
  if (msg.lines !== undefined) {
    if (format === "json") writeAll(msg.lines);
    else {
      let out = "";
      for (const line of msg.lines.split("\n")) {
        if (line === "") continue;
        try {
          out += `${formatLogfmt(JSON.parse(line) as Record<string, unknown>)}\n`;
        } catch {
          out += `${line}\n`;
        }
      }
      writeAll(out);
    }
  }
  if (msg.flush !== undefined) parentPort!.postMessage({ flushed: msg.flush });
});
