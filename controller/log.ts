// The programs' logger: pino, printed as logfmt (the operator's guide greps it) or JSON.
import { pino, type Logger, type DestinationStream } from "pino";
import { formatLogfmt } from "../src/logfmt.js";

export type LogFormat = "logfmt" | "json";
export type { Logger };

export interface LoggerOptions {
  format?: LogFormat;
  level?: string;
  /** Where lines go; standard output by default. */
  write?: (line: string) => void;
}

function logfmtStream(write: (line: string) => void): DestinationStream {
  return {
    write(json: string) {
      write(`${formatLogfmt(JSON.parse(json) as Record<string, unknown>)}\n`);
    },
  };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const format = options.format ?? "logfmt";
  const stream: DestinationStream =
    format === "json" ? { write: (line: string) => write(line) } : logfmtStream(write);
  return pino(
    {
      level: options.level ?? "info",
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}
