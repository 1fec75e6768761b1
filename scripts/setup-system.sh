#!/usr/bin/env bash
# System tools the tests need beyond Node, Postgres and Redis: `promtool` (Debian's `prometheus` package)
# to lint the /metrics exposition and the Prometheus config. Idempotent: a fast no-op when present.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  echo "setup-system: promtool present ($(promtool --version 2>&1 | head -n 1))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-system: promtool is missing and apt-get is not available; install Prometheus' promtool" >&2
  exit 1
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
start=$SECONDS
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
install() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends prometheus >"$log" 2>&1
}
# A fresh machine may have no package lists yet: update once, then retry.
if ! install; then
  $SUDO apt-get update -q >>"$log" 2>&1 || true
  if ! install; then
    cat "$log" >&2
    echo "setup-system: apt-get install prometheus failed" >&2
    exit 1
  fi
fi
command -v promtool >/dev/null 2>&1 || { echo "setup-system: promtool not found after install" >&2; exit 1; }
echo "setup-system: installed prometheus (promtool) in $((SECONDS - start)) s"
