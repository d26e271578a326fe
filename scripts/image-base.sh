#!/usr/bin/env bash
# The base image `npm run image` builds the Dockerfile on (NODE_IMAGE), made here because the registry's
# node images cannot be pulled: a Debian bookworm minbase from mmdebstrap, without documentation, manual
# pages or translations, with this checkout's pinned Node (node_modules/node, debug symbols stripped) and
# npm (the npm package, at the version below) laid out as the node images lay them out (/usr/local).
# Cached on its recipe: this file, the Node binary and npm's version. Prints the image's name last.
# Called by scripts/build-image.sh, with its COREDOG_IMAGE_DIR and buildah storage.
set -euo pipefail
# All in a function, read whole before it runs: editing this file during a build cannot break the build.
main() {
root=$(cd "$(dirname "$0")/.." && pwd)
out="${COREDOG_IMAGE_DIR:-$root/.image}"
npm_version=11.19.1 # npm in the base, as node:24 images carry it
suite=bookworm
node_bin="$root/node_modules/node/bin/node"
node_version=$("$node_bin" --version)
die() {
  echo "npm run image: $*" >&2
  exit 1
}
b() { buildah --root "$out/storage" --runroot "$out/run" --storage-driver vfs "$@"; }

base_key=$( (
  echo "$suite $npm_version"
  sha256sum "$node_bin" "$0" | cut -d' ' -f1
) | sha256sum | cut -c1-16)
base=localhost/coredog-base:$base_key
if ! b inspect --type image "$base" >/dev/null 2>&1; then
  echo "making the base image $base (Debian $suite minbase, Node $node_version, npm $npm_version)" >&2
  npm_tgz="$out/cache/npm-$npm_version.tgz"
  if [ ! -s "$npm_tgz" ]; then
    (cd "$out/cache" && npm pack --silent "npm@$npm_version" >/dev/null)
  fi
  work=$(mktemp -d "$out/base.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  # No documentation, manual pages or translations: they would only make the image bigger.
  mmdebstrap --variant=minbase --quiet \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log' \
    "$suite" "$work/rootfs" >&2
  # The pinned Node without its debug symbols (126 -> 108 MB); the program is the same.
  strip -o "$work/rootfs/usr/local/bin/node" "$node_bin"
  mkdir -p "$work/rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$npm_tgz" -C "$work/rootfs/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/rootfs/usr/local/bin/npx"
  tar --numeric-owner -C "$work/rootfs" -cf "$work/rootfs.tar" .
  c=$(b from scratch)
  b add --quiet "$c" "$work/rootfs.tar" / >/dev/null
  b config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="${node_version#v}" --cmd node "$c"
  [ "$(b run "$c" -- node --version)" = "$node_version" ] || die "node does not run in the base image."
  b run "$c" -- npm --version >/dev/null || die "npm does not run in the base image."
  b run "$c" -- rm -rf /tmp/node-compile-cache
  b commit --quiet "$c" "$base" >/dev/null
  b rm "$c" >/dev/null
  # Bases of an older recipe are not needed any more.
  b images --format '{{.Name}}:{{.Tag}}' | grep '/coredog-base:' | grep -v ":$base_key\$" | xargs -r buildah --root "$out/storage" --runroot "$out/run" --storage-driver vfs rmi >/dev/null 2>&1 || true
  rm -rf "$work"
  trap - EXIT
fi

echo "$base"
}
main "$@"
