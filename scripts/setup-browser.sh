#!/usr/bin/env bash
# Debian's `chromium` for the web console's browser tests (driven by playwright-core, which downloads
# no browser of its own). Idempotent: a fast no-op when chromium is already installed.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"

find_chromium() {
  for candidate in chromium chromium-browser; do
    if command -v "$candidate" >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if path="$(find_chromium)"; then
  echo "setup-browser: chromium present at $path"
  exit 0
fi

start=$SECONDS
apt_install setup-browser chromium
path="$(find_chromium)" || { echo "setup-browser: chromium not found after install" >&2; exit 1; }
echo "setup-browser: installed chromium ($path) in $((SECONDS - start)) s"
