#!/usr/bin/env bash
# System tools the tests need beyond Node, Postgres and Redis: `promtool` (Debian's `prometheus` package)
# to lint the /metrics exposition and the Prometheus config. Idempotent: a fast no-op when present.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"

if command -v promtool >/dev/null 2>&1; then
  echo "setup-system: promtool present ($(promtool --version 2>&1 | head -n 1))"
  exit 0
fi

start=$SECONDS
apt_install setup-system prometheus
command -v promtool >/dev/null 2>&1 || { echo "setup-system: promtool not found after install" >&2; exit 1; }
echo "setup-system: installed prometheus (promtool) in $((SECONDS - start)) s"
