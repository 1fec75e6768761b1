#!/usr/bin/env bash
# Creates .venv in the repo root with the MLflow Python client, for the e2e test that drives
# `mlflow.deployments.get_deploy_client(...)` against Gatehouse. Idempotent: a no-op when the
# pinned version is already installed. mlflow-skinny ships `mlflow.deployments` and its `http`
# deploy-client plugin without the server/ML dependencies of the full `mlflow` package.
set -euo pipefail

MLFLOW_PACKAGE=mlflow-skinny
MLFLOW_VERSION=3.17.2

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

if [ -x "$PY" ] && "$PY" -c "import mlflow; assert mlflow.__version__ == '$MLFLOW_VERSION'" >/dev/null 2>&1; then
  echo "setup-python: .venv already has $MLFLOW_PACKAGE $MLFLOW_VERSION"
  exit 0
fi

start=$SECONDS
[ -x "$PY" ] || "${PYTHON:-python3}" -m venv "$VENV"

# pip prints machine-specific index warnings even with -q: keep its output for failures only.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "$PY" -m pip install -q --disable-pip-version-check "$MLFLOW_PACKAGE==$MLFLOW_VERSION" >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup-python: pip install $MLFLOW_PACKAGE==$MLFLOW_VERSION failed" >&2
  exit 1
fi
"$PY" -c "from mlflow.deployments import get_deploy_client; get_deploy_client('http://127.0.0.1:1')"

echo "setup-python: installed $MLFLOW_PACKAGE $MLFLOW_VERSION into .venv in $((SECONDS - start)) s"
