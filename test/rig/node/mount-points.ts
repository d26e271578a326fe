// Mount points on the shared host "/": a container's bind mounts are private to its mount namespace, but the
// directory (or file) a mount lands on must exist on the host. Missing ones are created, and removed again when
// the last holder (across all rig processes) leaves and they are empty — never earlier, because removing a mount
// point on the host detaches the mounts other namespaces have on it.
import { lstatSync, mkdirSync, rmdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { Registry, withLockSync } from "./holds.js";

const REGISTRY = "mountpoints";
const registry = new Registry(REGISTRY);

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let cur = p; cur !== "/" && cur !== "."; cur = dirname(cur)) out.unshift(cur);
  return out;
}

/** Removes what processes that died without releasing (SIGKILL) had created. Call under the lock. */
function gcUnlocked(): void {
  const orphans = registry
    .subjects()
    .filter((p) => registry.holders(p).length === 0)
    .sort((a, b) => b.length - a.length);
  for (const p of orphans) removeIfCreated(p);
}

function removeIfCreated(path: string): void {
  const kind = registry.getData(path, "created");
  try {
    if (kind === "file") {
      if (statSync(path).size === 0) unlinkSync(path);
    } else if (kind === "dir") {
      rmdirSync(path); // fails (and keeps it) when not empty
    }
  } catch {
    /* not empty or gone: leave it */
  }
  registry.clear(path);
}

/**
 * Makes sure `target` exists on the host (a directory, or an empty file when `file`), recording what was created.
 * Returns a synchronous release function (idempotent).
 */
export function acquireMountPoint(target: string, file = false): () => void {
  const held: { path: string; id: string }[] = [];
  withLockSync(REGISTRY, () => {
    gcUnlocked();
    const chain = ancestors(target);
    chain.forEach((p, i) => {
      const last = i === chain.length - 1;
      if (!exists(p)) {
        if (last && file) writeFileSync(p, "");
        else mkdirSync(p);
        registry.setData(p, "created", last && file ? "file" : "dir");
      }
      if (registry.getData(p, "created") !== null) held.push({ path: p, id: registry.add(p) });
    });
  });
  let released = false;
  return () => {
    if (released) return;
    released = true;
    withLockSync(REGISTRY, () => {
      for (const { path, id } of held.reverse()) {
        registry.remove(path, id);
        if (registry.holders(path).length === 0) removeIfCreated(path);
      }
    });
  };
}
