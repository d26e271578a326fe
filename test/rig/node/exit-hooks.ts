// Synchronous cleanup on every exit path of the process: normal exit, uncaught exceptions (they end in 'exit'),
// and SIGINT/SIGTERM/SIGHUP. On a signal nobody else handles, the hooks run and the signal is re-raised so the
// process still dies of it; when the program has its own handler (e.g. `npm run rig` stopping gracefully),
// that handler decides and the hooks run at 'exit'.
const hooks = new Set<() => void>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
let installed = false;

function runHooks(): void {
  for (const h of [...hooks]) {
    hooks.delete(h);
    try {
      h();
    } catch (err) {
      console.error("rig: exit hook failed:", err);
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  if (process.listenerCount(sig) > 1) return; // someone else handles it
  runHooks();
  uninstall();
  process.kill(process.pid, sig);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", runHooks);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off("exit", runHooks);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** Registers a synchronous hook; returns a function that unregisters it. */
export function onExitSync(hook: () => void): () => void {
  hooks.add(hook);
  install();
  return () => {
    hooks.delete(hook);
    if (hooks.size === 0) uninstall();
  };
}
