#!/usr/bin/env bash
# Creates .venv in the repo root with MLflow for the e2e tests: the `mlflow.deployments` client
# (driven against Gatehouse), plus a real tracking/registry server (`mlflow server`) and model
# scoring servers (`mlflow models serve --env-manager local`) with scikit-learn models, for the
# Model Registry tests. Idempotent: a fast no-op when the pinned versions are already installed.
set -euo pipefail

MLFLOW_VERSION=3.17.2
SKLEARN_VERSION=1.7.2

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

check() {
  "$PY" - <<PYCHECK
import importlib.metadata as md
assert md.version("mlflow") == "$MLFLOW_VERSION", md.version("mlflow")
assert md.version("scikit-learn") == "$SKLEARN_VERSION"
import mlflow.deployments, sklearn, flask, pandas  # noqa: F401
PYCHECK
}

if [ -x "$PY" ] && check >/dev/null 2>&1; then
  echo "setup-python: .venv already has mlflow $MLFLOW_VERSION and scikit-learn $SKLEARN_VERSION"
  exit 0
fi

start=$SECONDS
[ -x "$PY" ] || "${PYTHON:-python3}" -m venv "$VENV"

# pip prints machine-specific index warnings even with -q: keep its output for failures only.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "$PY" -m pip install -q --disable-pip-version-check \
  "mlflow==$MLFLOW_VERSION" "scikit-learn==$SKLEARN_VERSION" >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup-python: pip install mlflow==$MLFLOW_VERSION scikit-learn==$SKLEARN_VERSION failed" >&2
  exit 1
fi
check
"$PY" -c "from mlflow.deployments import get_deploy_client; get_deploy_client('http://127.0.0.1:1')"

echo "setup-python: installed mlflow $MLFLOW_VERSION and scikit-learn $SKLEARN_VERSION into .venv in $((SECONDS - start)) s"
