# Sourced by tools/test.sh and tools/demo.sh: create (or reuse) the project's virtual environment and install
# the project into it. Idempotent: reinstalls only when pyproject.toml changed.
#   ANOMALYPRO_VENV   where the environment lives (default: .venv in the repository)
#   ANOMALYPRO_TF     which TensorFlow extra to install: cpu (default), gpu or tf
#   ANOMALYPRO_UNLOCKED=1  install from pyproject.toml's ranges only, without requirements/lock-<extra>.txt's exact versions
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ANOMALYPRO_VENV:-$ROOT/.venv}"
TF_EXTRA="${ANOMALYPRO_TF:-cpu}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "[anomalypro] creating virtual environment in $VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
STAMP="$VENV/.anomalypro-installed"
LOCK="$ROOT/requirements/lock-$TF_EXTRA.txt"   # the exact versions CI tested (only the cpu extra has one)
LOCKED=()
if [ -z "${ANOMALYPRO_UNLOCKED:-}" ] && [ -f "$LOCK" ]; then LOCKED=(-c "$LOCK"); fi
WANT="$(cat "$ROOT/pyproject.toml" ${LOCKED[@]:+"$LOCK"} | sha1sum | cut -d' ' -f1)-$TF_EXTRA"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "[anomalypro] installing anomalypro[$TF_EXTRA,dev] (editable) into $VENV${LOCKED[@]:+, versions from ${LOCK#$ROOT/}}"
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT[$TF_EXTRA,dev]" ${LOCKED[@]:+"${LOCKED[@]}"}
  echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
# TF on these CPUs: quiet C++ logs, oneDNN on (1.5-2x faster), deterministic op scheduling set by anomalypro.core.
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
export KERAS_BACKEND=tensorflow
cd "$ROOT"
