// `pull` as one call, shared by the command and the TUI: the record, a download link, the verified download.
import { existsSync } from "node:fs";
import type { CoreDump } from "../../src/coredump.js";
import { downloadCore } from "./core-download.js";
import { getCoreDump } from "./crashes.js";
import { UserError } from "./errors.js";
import type { Cluster } from "./kube.js";
import { requestDownloadLink } from "./pull-request.js";

export interface Pulled {
  record: CoreDump;
  out: string;
  bytes: number;
  /** The gdb command line for the pulled core. */
  gdb: string;
}

export async function pullCore(
  cluster: Cluster,
  namespace: string,
  name: string,
  out: string,
  opts: { force?: boolean; progress?: (received: number, total: number | undefined) => void } = {},
): Promise<Pulled> {
  const record = await getCoreDump(cluster, namespace, name);
  if (existsSync(out) && !opts.force)
    throw new UserError(`${out} already exists`, "choose another file with -o, or pass --force");
  const link = await requestDownloadLink(cluster, namespace, name);
  const s = record.spec;
  const { bytes } = await downloadCore({
    url: link.url,
    out,
    size: s.storage.size,
    sha256: s.storage.sha256,
    compression: s.storage.compression,
    what: `CoreDump ${namespace}/${name}`,
    ...(opts.progress ? { progress: opts.progress } : {}),
  });
  return { record, out, bytes, gdb: `gdb ${s.executable ?? "<the crashed executable>"} ${out}` };
}
