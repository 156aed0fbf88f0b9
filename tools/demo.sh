#!/usr/bin/env bash
# The main job, from a fresh machine, offline: set up the environment, then run the built-in demo experiment at
# `cpu` parameters end to end (build the data set, train, pick the checkpoint on validation, evaluate, draw).
# Usage: bash tools/demo.sh [extra `anomalypro reproduce` options, e.g. --params quick]
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
start=$(date +%s)
anomalypro reproduce --experiments demo --params cpu --publish figures "$@"
echo "[anomalypro] demo finished in $(( $(date +%s) - start )) s."
echo "[anomalypro] look at: figures/results-cpu.md (the numbers), figures/demo/*.png (ROC, score distributions,"
echo "             qualitative panel, training curves), runs/demo/cpu/ (executed notebook, metrics.json, scores.csv, checkpoints)"
