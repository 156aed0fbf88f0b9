#!/usr/bin/env bash
# The whole test suite, from a fresh clone: environment, install, notebook hygiene, notebook tests, pytest.
# Usage: bash tools/test.sh [extra pytest args]
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# The documentation site's browser test needs Chromium: on CI (CI set) Debian's package is installed where it is
# missing (about 20 s, as root or through sudo); elsewhere that test is skipped, saying so, where Chromium is absent.
if [ -n "${CI:-}" ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  echo "[anomalypro] installing Chromium (Debian's chromium) for the documentation site's browser test"
  SUDO=(); [ "$(id -u)" != 0 ] && SUDO=(sudo)
  { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
    >/dev/null || echo "[anomalypro] could not install Chromium: tests/test_docs.py will say so"
fi
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
# Two pytest workers (pytest-xdist), whole test files per worker so that a module's fixture (one reproduce run, one
# trained model) is built once: the suite spends much of its time in one-core work (kernel and TensorFlow start-up,
# papermill, data building), so two workers on two cores took pytest from 23 to 12-13 minutes. ANOMALYPRO_TEST_WORKERS=0:
# one process, as before.
echo "[anomalypro] 4/4 pytest (${ANOMALYPRO_TEST_WORKERS:-2} workers)"
python -m pytest -q -ra -n "${ANOMALYPRO_TEST_WORKERS:-2}" --dist loadfile "$@"
