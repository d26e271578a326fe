#!/usr/bin/env bash
# `npm run image`: builds the Dockerfile as it is, without a Docker daemon (buildah, as root, vfs storage,
# chroot isolation), into .image/: coredog.oci.tar (the image, for `skopeo copy`), rootfs/ (its root
# filesystem, which the test rig runs CoreDog's pods from) and config.json (its configuration).
#
# The registry's node base cannot be pulled here, so the base is made first: a Debian bookworm minbase
# from mmdebstrap, with this checkout's pinned Node (node_modules/node) and npm. The npm registry and CA
# the build uses are this machine's, passed as a build argument and a build secret, never into the image.
# Both images are cached on their content: a rebuild happens only when what goes into them changed.
set -euo pipefail
# All in a function, read whole before it runs: editing this file during a build cannot break the build.
main() {
root=$(cd "$(dirname "$0")/.." && pwd)
out="${COREDOG_IMAGE_DIR:-$root/.image}"

die() {
  echo "npm run image: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || die "building the image needs root (buildah with vfs storage and chroot isolation); run it as root."
for tool in buildah mmdebstrap strip; do
  command -v "$tool" >/dev/null || die "$tool is not installed; install it with: apt-get install buildah mmdebstrap binutils (bash .ci/run does)."
done
[ -x "$root/node_modules/node/bin/node" ] || die "node_modules/node/bin/node is missing; run npm ci first."
tag=localhost/coredog:$("$root/node_modules/node/bin/node" -p 'require(process.argv[1]).version' "$root/package.json")

export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot
mkdir -p "$out/cache"
chmod 755 "$out"
# One build at a time (test runs in parallel processes share the result).
exec 9>"$out/lock"
flock 9
export COREDOG_IMAGE_DIR="$out"
b() { buildah --root "$out/storage" --runroot "$out/run" --storage-driver vfs "$@"; }
t0=$(date +%s)

# The base (scripts/image-base.sh, cached on its own recipe).
base=$(bash "$root/scripts/image-base.sh")
echo "base image $base ready after $(($(date +%s) - t0)) s"

# The image: its key covers the base and every file of the build context the Dockerfile copies.
context=(Dockerfile .dockerignore package.json package-lock.json tsconfig.json oclif.manifest.json src controller plugin scripts bin)
key=$( (
  echo "$base"
  cd "$root" && find "${context[@]}" -type f -print0 | sort -z | xargs -0 sha256sum
) | sha256sum | cut -c1-16)
if [ "$(cat "$out/key" 2>/dev/null)" != "$key" ] || [ ! -d "$out/rootfs/app" ] || [ ! -s "$out/coredog.oci.tar" ]; then
  rm -f "$out/key"
  echo "building $tag from the Dockerfile"
  ca=/etc/ssl/certs/ca-certificates.crt
  args=(--build-arg "NODE_IMAGE=$base")
  registry=$(npm config get registry 2>/dev/null || true)
  [ -n "$registry" ] && args+=(--build-arg "NPM_REGISTRY=$registry")
  [ -s "$ca" ] && args+=(--secret "id=ca,src=$ca")
  b bud --quiet --layers=false "${args[@]}" -t "$tag" -f "$root/Dockerfile" "$root" >/dev/null
  echo "built from the Dockerfile after $(($(date +%s) - t0)) s"
  rm -f "$out/coredog.oci.tar"
  b push --quiet "$tag" "oci-archive:$out/coredog.oci.tar:${tag#localhost/}"
  b inspect --type image "$tag" >"$out/config.json"
  # The root filesystem, as a node's runtime would unpack it.
  c=$(b from --pull-never "$tag")
  m=$(b mount "$c")
  rm -rf "$out/rootfs.next" "$out/rootfs"
  cp -a "$m" "$out/rootfs.next"
  b umount "$c" >/dev/null
  b rm "$c" >/dev/null
  chmod 755 "$out/rootfs.next"
  mv "$out/rootfs.next" "$out/rootfs"
  # Keep the storage to the base and this image.
  b rmi --prune >/dev/null 2>&1 || true
  echo "$key" >"$out/key"
  echo "built in $(($(date +%s) - t0)) s: $out/coredog.oci.tar, $out/rootfs"
else
  echo "image $tag is up to date ($key): $out/coredog.oci.tar, $out/rootfs"
fi
echo "image size: $(($(du -sbx "$out/rootfs" | cut -f1) / 1000000)) MB"
}
main "$@"
