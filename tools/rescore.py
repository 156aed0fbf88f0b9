"""Re-score the kept checkpoints of finished runs with every score variant (the calibrated `z_` ones too), on the
same split they trained on, and say what choosing on validation picks with and without the calibrated variants.

    python tools/rescore.py runs/ablation/cpu/confirm/*/seed* runs/demo/cpu --out figures/ablation/rescore.csv

Each run's data comes from the nearest `params.yaml` (the run's own, or its study's), so the split is the one it
trained on. The test AUC is recorded as hindsight, never used to choose."""
import argparse, sys
from dataclasses import fields
from pathlib import Path
import pandas as pd

def params_of(run):
    "The experiment parameters of the nearest params.yaml at or above a run folder (a study's own keys left out)"
    from anomalypro.registry import ExperimentParams, read_params
    for d in [run, *run.parents]:
        if (d/'params.yaml').is_file():
            known = {f.name for f in fields(ExperimentParams)}
            p = {k: v for k, v in read_params(d/'params.yaml').items() if k in known}
            return ExperimentParams(**{**p, 'PROGRESS': False})
    raise SystemExit(f"error: {run}: no params.yaml in it or above it: cannot rebuild its split")

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('runs', nargs='+', type=Path, help='run folders written by run_experiment, with kept checkpoints/')
    ap.add_argument('--out', type=Path, help='CSV of every (run, checkpoint, variant) row')
    a = ap.parse_args(argv)
    from anomalypro.core import Config
    from anomalypro.registry import prepare_params
    from anomalypro.ablation import rescore_checkpoints, compare_scoring
    rows, picks, cache = [], [], {}
    for run in a.runs:
        if not (run/'config.yaml').is_file(): raise SystemExit(f"error: {run}: not a run folder (no config.yaml)")
        p, cfg = params_of(run), Config.from_yaml(run/'config.yaml')
        key = (p.EXPERIMENT, p.DATA_DIR, cfg.image_size, cfg.channels, p.SEED, repr(p.PROTOCOL), repr(p.OPTIONS),
               p.MAX_PER_SET)
        if key not in cache: cache[key] = prepare_params(p, cfg)   # the split the run trained on
        t = rescore_checkpoints(cache[key], run).assign(run=str(run), experiment=p.EXPERIMENT)
        rows.append(t); picks.append(compare_scoring(t).assign(run=str(run)))
        print(picks[-1].round(3).to_string(index=False), flush=True)
    t, c = pd.concat(rows), pd.concat(picks)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        t.to_csv(a.out, index=False); c.to_csv(a.out.with_name(a.out.stem + '-choices.csv'), index=False)
    print(c.round(3).to_string(index=False))

if __name__ == '__main__': sys.exit(main())
