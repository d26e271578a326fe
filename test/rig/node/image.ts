// The images the node can run from a root filesystem of their own: CoreDog's, as `npm run image` built it
// (.image/rootfs and .image/config.json in this checkout). A container of that image runs with the image's
// root as its `/`, its environment, working directory and default user, as a node's runtime would run it.
// Any other image runs on the host's `/` (the rig has no registry). A CoreDog reference the build cannot
// stand for (another version) fails to pull, as a registry without that tag would make it.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** The container's image could not be had (kubelet: ErrImagePull, then ImagePullBackOff). */
export class ImagePullError extends Error {}

export interface RootfsImage {
  /** The unpacked root filesystem. */
  rootfs: string;
  /** The image's Env, as NAME -> value. */
  env: Record<string, string>;
  workingDir: string;
  /** The image's USER, when it is not root. */
  user?: { uid: number; gid: number };
}

/** Where `npm run image` leaves the image (COREDOG_IMAGE_DIR overrides, as for the build). */
export function imageDir(checkoutDir: string): string {
  return process.env.COREDOG_IMAGE_DIR ?? join(checkoutDir, ".image");
}

/** Does this reference name CoreDog's image? (repository ending in "coredog") */
export function isCoredogImage(image: string | undefined): boolean {
  return image !== undefined && repositoryOf(image).endsWith("coredog");
}

function repositoryOf(image: string): string {
  const repo = image.split("@")[0]!;
  const colon = repo.lastIndexOf(":");
  return colon > repo.lastIndexOf("/") ? repo.slice(0, colon) : repo;
}

function tagOf(image: string): string | undefined {
  if (image.includes("@")) return undefined;
  const colon = image.lastIndexOf(":");
  return colon > image.lastIndexOf("/") ? image.slice(colon + 1) : "latest";
}

interface BuiltImage {
  key: string;
  image: RootfsImage;
  version: string;
}
const cache = new Map<string, BuiltImage>();

function loadBuilt(checkoutDir: string): BuiltImage {
  const dir = imageDir(checkoutDir);
  let key: string;
  try {
    key = readFileSync(join(dir, "key"), "utf8").trim();
    statSync(join(dir, "rootfs", "app"));
  } catch {
    throw new ImagePullError(
      `CoreDog's image is not built in ${dir}: run \`npm run image\` (as root, with buildah and mmdebstrap)`,
    );
  }
  const hit = cache.get(dir);
  if (hit?.key === key) return hit;
  // buildah inspect --type image: the OCI configuration under OCIv1.config.
  const inspected = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as {
    OCIv1?: { config?: { Env?: string[]; WorkingDir?: string; User?: string } };
  };
  const cfg = inspected.OCIv1?.config ?? {};
  const env: Record<string, string> = {};
  for (const e of cfg.Env ?? []) {
    const eq = e.indexOf("=");
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  const [uid = "0", gid = uid] = (cfg.User ?? "0").split(":");
  const pkg = JSON.parse(readFileSync(join(checkoutDir, "package.json"), "utf8")) as {
    version: string;
  };
  const built: BuiltImage = {
    key,
    version: pkg.version,
    image: {
      rootfs: join(dir, "rootfs"),
      env,
      workingDir: cfg.WorkingDir || "/",
      ...(Number(uid) !== 0 ? { user: { uid: Number(uid), gid: Number(gid) } } : {}),
    },
  };
  cache.set(dir, built);
  return built;
}

/**
 * The root filesystem image a container runs from, undefined for images that run on the host's `/`.
 * Throws ImagePullError when the reference is CoreDog's but no build stands for it.
 */
export function resolveImage(
  checkoutDir: string,
  image: string | undefined,
): RootfsImage | undefined {
  if (!image || !isCoredogImage(image)) return undefined;
  const built = loadBuilt(checkoutDir);
  const tag = tagOf(image);
  if (tag !== undefined && tag !== built.version) {
    throw new ImagePullError(
      `failed to pull and unpack image "${image}": ${image}: not found (this build is ${built.version})`,
    );
  }
  return built.image;
}
