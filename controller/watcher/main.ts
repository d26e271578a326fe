// Replaced by the watcher program.
export async function runWatcher(_argv: string[]): Promise<number> {
  process.stderr.write("coredog-controller: the watcher program is not available in this build\n");
  return 1;
}
