#!/usr/bin/env bash
# Makes the two base images the Dockerfile's build arguments take, from this
# machine's own Node.js, since the test engine cannot pull from a registry:
#   sidekick-test/node-runtime  node and its shared libraries, nothing else
#   sidekick-test/node-build    the same, with npm, a busybox shell and the
#                               machine's CA certificates (npm reaches the
#                               registry over the host network)
# Safe to run again: images that exist are kept.
set -euo pipefail

RUNTIME=${SIDEKICK_TEST_RUNTIME_IMAGE:-sidekick-test/node-runtime:latest}
BUILD=${SIDEKICK_TEST_BUILD_IMAGE:-sidekick-test/node-build:latest}

node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")

# node, the shared libraries it links, and the dynamic loader, at their paths.
copy_node() {
  local root=$1 lib
  # mktemp made it 0700: as the image's /, that would shut out every user but root.
  chmod 755 "$root"
  mkdir -p "$root/usr/bin" "$root/tmp" "$root/etc"
  chmod 1777 "$root/tmp"
  cp "$node_bin" "$root/usr/bin/node"
  for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  printf 'root:x:0:0:root:/:/bin/sh\nnonroot:x:65532:65532:nonroot:/home/nonroot:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$root/etc/group"
}

if ! docker image inspect "$RUNTIME" >/dev/null 2>&1; then
  root=$(mktemp -d)
  copy_node "$root"
  tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/bin' - "$RUNTIME" >/dev/null
  rm -rf "$root"
  echo "image-bases.sh: imported $RUNTIME" >&2
fi

if ! docker image inspect "$BUILD" >/dev/null 2>&1; then
  root=$(mktemp -d)
  copy_node "$root"
  mkdir -p "$root/bin" "$root/usr/lib/node_modules" "$root/etc/ssl/certs"
  cp "$(command -v busybox)" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  mkdir -p "$root/usr/bin"
  ln -sf /bin/env "$root/usr/bin/env"
  cp -r "$npm_dir" "$root/usr/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/bin:/bin' \
    -c 'ENV NPM_CONFIG_CAFILE=/etc/ssl/certs/ca-certificates.crt' \
    -c 'ENV NPM_CONFIG_UPDATE_NOTIFIER=false' \
    - "$BUILD" >/dev/null
  rm -rf "$root"
  echo "image-bases.sh: imported $BUILD" >&2
fi
