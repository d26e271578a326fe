// Which container of the pod dumped the core.
import { basename } from "node:path";
import type { PodInfo } from "./types.js";

function imageName(image: string): string {
  const noDigest = image.split("@")[0] ?? image;
  const last = noDigest.split("/").pop() ?? noDigest;
  return last.split(":")[0] ?? last;
}

/**
 * Exact when the webhook targeted one container; otherwise the one container whose name or image name matches the
 * core's executable (basename, or the kernel's 15-character %e prefix); else undefined.
 */
export function matchContainer(pod: PodInfo, executable: string | undefined): string | undefined {
  const targeted = pod.targetedContainers?.filter((c) => pod.containers.includes(c)) ?? [];
  if (targeted.length === 1) return targeted[0];
  const candidates = targeted.length > 0 ? targeted : pod.containers;
  if (candidates.length === 1) return candidates[0];
  if (!executable) return undefined;
  const exe = basename(executable).toLowerCase();
  const same = (a: string) => {
    const b = a.toLowerCase();
    return (
      b === exe ||
      (exe.length >= 15 && b.startsWith(exe)) ||
      exe.startsWith(`${b}-`) ||
      b.startsWith(`${exe}-`)
    );
  };
  const hits = candidates.filter((c) => same(c) || same(imageName(pod.images[c] ?? "")));
  return hits.length === 1 ? hits[0] : undefined;
}
