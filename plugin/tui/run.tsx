// Starts the console on the real terminal: the cluster source, Ink in the alternate screen, and
// a clean stop on q / Ctrl-C.
import { render } from "ink";
import type { Cluster } from "../lib/kube.js";
import { App } from "./components/App.js";
import { createClusterSource } from "./source.js";

export interface RunOptions {
  cluster: Cluster;
  namespace?: string;
  showAll: boolean;
  color: boolean;
}

export async function runTui(o: RunOptions): Promise<void> {
  const source = createClusterSource(o.cluster, { namespace: o.namespace });
  const instance = render(<App source={source} color={o.color} showAll={o.showAll} />, {
    alternateScreen: true,
    exitOnCtrlC: true,
    patchConsole: true,
  });
  try {
    await instance.waitUntilExit();
  } finally {
    source.stop();
  }
}
