#!/usr/bin/env bash
# The whole test suite, from a fresh clone: environment, install, notebook hygiene, notebook tests, pytest.
# Usage: bash tools/test.sh [extra pytest args]
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
echo "[anomalypro] 1/4 nbdev-clean and nbdev-export must not change any file"
snap() { find nbs anomalypro -type f \( -name '*.ipynb' -o -name '*.py' \) -not -path '*/.ipynb_checkpoints/*' -not -path '*/__pycache__/*' | sort | xargs sha1sum; }
before="$(snap)"
nbdev-clean
nbdev-export
after="$(snap)"
if [ "$before" != "$after" ]; then
  echo "FAIL: nbdev-clean / nbdev-export changed these files (run both and commit):"
  diff <(echo "$before") <(echo "$after") || true
  exit 1
fi
echo "[anomalypro] 2/4 the library imports"
python -c "import anomalypro, sys; print('anomalypro', anomalypro.__version__)"
echo "[anomalypro] 3/4 nbdev-test (every library notebook)"
nbdev-test --n-workers 2 --timing
echo "[anomalypro] 4/4 pytest"
python -m pytest -q -ra "$@"
