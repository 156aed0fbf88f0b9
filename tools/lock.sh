#!/usr/bin/env bash
# Refresh requirements/lock-cpu.txt: install anomalypro[cpu,dev] from pyproject.toml alone (no lock) into a fresh
# scratch environment, then freeze its exact versions. Run the whole test suite afterwards (bash tools/test.sh, which
# installs from the new lock) before committing the lock. Usage: bash tools/lock.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
"${PYTHON:-python3}" -m venv "$TMP/venv"
"$TMP/venv/bin/python" -m pip install --quiet --upgrade pip
"$TMP/venv/bin/python" -m pip install --quiet "$ROOT[cpu,dev]"
{
  echo "# Exact versions of every package the test suite ran with (CPU TensorFlow + dev tools), used as pip constraints by"
  echo "# tools/env.sh. Refresh: bash tools/lock.sh (a fresh environment from pyproject.toml, frozen). Python 3.11, Linux x86_64."
  "$TMP/venv/bin/python" -m pip list --format=freeze | grep -viE '^(anomalypro|pip|setuptools|wheel)=='
} > "$ROOT/requirements/lock-cpu.txt"
echo "wrote $ROOT/requirements/lock-cpu.txt ($(grep -c '==' "$ROOT/requirements/lock-cpu.txt") packages)"
