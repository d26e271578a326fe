// One id for "the same crash": the executable (build-id, else its file name), the signal and the top
// frames as module (build-id, else file name) + offset. Offsets are relative to each module's load
// address, so the id survives address-space randomisation, other PIDs, pods and nodes; a rebuilt binary
// gets a new build-id and so a new id.
import { sha256Hex } from "./sha256.js";

export const FINGERPRINT_VERSION = 1;
export const FINGERPRINT_FRAMES = 3;

/** The C and C++ runtime: the frames of abort(), raise() and the unwinder are the same for every bug. */
const RUNTIME =
  /(^|\/)(libc|libpthread|ld-linux[^/]*|libstdc\+\+|libgcc_s|libc\+\+abi|libc\+\+)([.-][^/]*)?$/;

/** The module is part of the C or C++ runtime (its frames say nothing about the bug). */
export function isRuntimeModule(path: string | undefined): boolean {
  return RUNTIME.test(path ?? "");
}

export interface FingerprintFrame {
  /** Build-id or file name of the module; undefined for code outside every module (JIT, garbage). */
  module?: string;
  modulePath?: string;
  offset?: bigint;
  /** The frame is the code a signal interrupted (found through a signal handler's frame). */
  signalContext?: boolean;
}

export interface Fingerprint {
  id: string;
  short: string;
  /** The lines hashed, for people to see why two crashes are (not) the same. */
  basis: string[];
}

export function fingerprint(
  executable: string | undefined,
  signal: string | undefined,
  frames: readonly FingerprintFrame[],
): Fingerprint {
  // Where a signal interrupted the program (a crash handler that then aborts), the crash is there.
  const interrupted = frames.findIndex((f) => f.signalContext);
  const fromFault = interrupted >= 0 ? frames.slice(interrupted) : frames;
  const known = fromFault.filter((f) => f.module !== undefined && f.offset !== undefined);
  // Skip the runtime's frames on top (abort → raise → pthread_kill) when code of the program follows.
  let start = 0;
  while (start < known.length && isRuntimeModule(known[start]!.modulePath)) start++;
  if (start === known.length) start = 0;
  const top = known.slice(start, start + FINGERPRINT_FRAMES);
  const basis = [
    `v${FINGERPRINT_VERSION}`,
    `exe ${executable ?? "?"}`,
    `signal ${signal ?? "?"}`,
    ...top.map((f) => `frame ${f.module}+0x${f.offset!.toString(16)}`),
  ];
  const id = sha256Hex(basis.join("\n"));
  return { id, short: id.slice(0, 12), basis };
}
