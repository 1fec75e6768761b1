#!/usr/bin/env bash
# Debian's `chromium` for the web console's browser tests (driven by playwright-core, which downloads
# no browser of its own). Idempotent: a fast no-op when chromium is already installed.
set -euo pipefail

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

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-browser: chromium is missing and apt-get is not available; install Chromium" >&2
  exit 1
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
start=$SECONDS
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
install() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium >"$log" 2>&1
}
# A fresh machine may have no package lists yet: update once, then retry.
if ! install; then
  $SUDO apt-get update -q >>"$log" 2>&1 || true
  if ! install; then
    cat "$log" >&2
    echo "setup-browser: apt-get install chromium failed" >&2
    exit 1
  fi
fi
path="$(find_chromium)" || { echo "setup-browser: chromium not found after install" >&2; exit 1; }
echo "setup-browser: installed chromium ($path) in $((SECONDS - start)) s"
