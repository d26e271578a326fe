// Opens a candidate core without trusting its path: lstat, open O_NOFOLLOW|O_NONBLOCK (a FIFO never blocks),
// fstat the descriptor and compare it with the lstat; from then on only the descriptor is used. Reads leave the
// core's access time alone (O_NOATIME): updating it is a journal write, which on a filesystem whose commit is
// stalled (the storage under a core the kernel is still writing) waits until the stall ends.
import { constants, type Stats } from "node:fs";
import { lstat, open, readlink, type FileHandle } from "node:fs/promises";
import { isElfCoreHeader } from "../../src/elf-core.js";

/** Why a file is refused: the metric label and the start of the log reason. */
export type RefusalReason =
  | "symlink"
  | "fifo"
  | "socket"
  | "device"
  | "directory"
  | "hardlink"
  | "not-elf-core"
  | "wrong-place"
  | "changed";

export class Refusal extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

export function typeRefusal(st: Stats): Refusal | null {
  if (st.isSymbolicLink()) return new Refusal("symlink", "it is a symbolic link");
  if (st.isFIFO()) return new Refusal("fifo", "it is a FIFO");
  if (st.isSocket()) return new Refusal("socket", "it is a socket");
  if (st.isCharacterDevice() || st.isBlockDevice())
    return new Refusal("device", "it is a device node");
  if (st.isDirectory())
    return new Refusal("directory", "it is a directory (nested directories are not collected)");
  if (!st.isFile()) return new Refusal("device", "it is not a regular file");
  if (st.nlink > 1) return new Refusal("hardlink", `it has ${st.nlink} hard links`);
  return null;
}

export interface OpenedCore {
  fh: FileHandle;
  stat: Stats;
  /** Reads exactly what is there at [offset, offset+length) through the descriptor. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export const ELF_HEADER_BYTES = 64;

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** open(2) for reading, not following a final symlink, never blocking on a FIFO, without touching atime. */
export async function openForReading(path: string): Promise<FileHandle> {
  try {
    return await open(path, READ_FLAGS | constants.O_NOATIME);
  } catch (err) {
    // O_NOATIME needs the file's owner or CAP_FOWNER: without them, an ordinary read.
    if ((err as NodeJS.ErrnoException).code !== "EPERM") throw err;
    return await open(path, READ_FLAGS);
  }
}

/**
 * Opens `path` if it is a regular, singly linked file whose real location is `expectedRealPath`
 * (so a symlinked parent directory swapped in is caught) and which starts with an ELF core header.
 * Throws a Refusal otherwise; the caller logs it and leaves the file alone.
 */
export async function openCore(path: string, expectedRealPath: string): Promise<OpenedCore> {
  const before = await lstat(path);
  const byType = typeRefusal(before);
  if (byType) throw byType;
  let fh: FileHandle;
  try {
    fh = await openForReading(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ELOOP") throw new Refusal("symlink", "it is a symbolic link");
    if (code === "ENXIO") throw new Refusal("socket", "it cannot be opened as a file (a socket)");
    throw err;
  }
  try {
    const st = await fh.stat();
    const refusal = typeRefusal(st);
    if (refusal) throw refusal;
    if (st.dev !== before.dev || st.ino !== before.ino) {
      throw new Refusal("changed", "the file was replaced while it was being opened");
    }
    const real = await readlink(`/proc/self/fd/${fh.fd}`);
    if (real !== expectedRealPath) {
      throw new Refusal("wrong-place", `it resolves to ${real}, outside its pod directory`);
    }
    const read = async (offset: number, length: number): Promise<Uint8Array> => {
      const buf = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    };
    const head = await read(0, ELF_HEADER_BYTES);
    if (!isElfCoreHeader(head))
      throw new Refusal("not-elf-core", "it does not start with an ELF core header");
    return { fh, stat: st, read };
  } catch (err) {
    await fh.close();
    throw err;
  }
}
