// Starts the console on the real terminal: Ink in the alternate screen at once, the cluster source
// as soon as the connection is ready, and a clean stop on q / Ctrl-C.
import { render } from "ink";
import type { Cluster } from "../lib/kube.js";
import { App } from "./components/app.js";
import { deferredSource } from "./source.js";

export interface RunOptions {
  /** The connection and the namespace to show (undefined: all); may still be on its way. */
  ready: Promise<{ cluster: Cluster; namespace?: string }>;
  /** Known before connecting (-n or -A given). */
  namespaceKnown: boolean;
  namespace?: string;
  showAll: boolean;
  color: boolean;
}

export async function runTui(o: RunOptions): Promise<void> {
  const source = deferredSource(o.ready, {
    namespace: o.namespace,
    namespaceKnown: o.namespaceKnown,
  });
  const instance = render(<App source={source} color={o.color} showAll={o.showAll} />, {
    // The command has checked for a terminal; without this Ink would draw only the last frame whenever
    // $CI is set, as it is in CI jobs and some operators' shells.
    interactive: true,
    alternateScreen: true,
    exitOnCtrlC: true,
    patchConsole: true,
  });
  try {
    // A connection that fails (no kubeconfig, unknown context) ends the UI and is reported as an error.
    await Promise.race([
      instance.waitUntilExit(),
      o.ready.then(
        () => new Promise<never>(() => undefined),
        (err: unknown) => {
          instance.unmount();
          throw err;
        },
      ),
    ]);
  } finally {
    source.stop();
  }
}
