// An append-only log file for the rig's own diagnostics. Writers may outlive the rig's folder (a request in flight
// when the rig stops logs its failure late): once closed, or once the folder is gone, a write is dropped instead of
// throwing into whatever asynchronous code called it.
import { writeFileSync } from "node:fs";

export interface FileLog {
  (msg: string): void;
  close(): void;
}

export function openFileLog(path: string, echo?: (msg: string) => void): FileLog {
  let closed = false;
  const log = (msg: string) => {
    if (closed) return;
    try {
      writeFileSync(path, `${new Date().toISOString()} ${msg}\n`, { flag: "a" });
    } catch {
      /* the folder is gone: nothing left to record into */
    }
    echo?.(msg);
  };
  return Object.assign(log, { close: () => void (closed = true) });
}
