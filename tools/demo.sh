#!/usr/bin/env bash
# The main job, from a fresh machine, offline: set up the environment, then run the built-in demo experiment at
# `cpu` parameters end to end (build the data set, train, evaluate the last checkpoint, draw).
# Everything goes to the untracked runs/ folder, so the checkout stays clean. `--publish` also copies the demo's
# figures to figures/demo/ and replaces the demo's rows (only) in the tracked figures/results-cpu.{csv,md}.
# Usage: bash tools/demo.sh [extra `anomalypro reproduce` options, e.g. --publish, or --params quick]
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
start=$(date +%s)
anomalypro reproduce --experiments demo --params cpu "$@"
echo "[anomalypro] demo finished in $(( $(date +%s) - start )) s."
echo "[anomalypro] look at: runs/results-cpu.md (the numbers), runs/demo/cpu/figures/*.png (ROC, score distributions,"
echo "             qualitative panel, training curves), runs/demo/cpu/ (executed notebook, metrics.json, scores.csv, checkpoints)"
