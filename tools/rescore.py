"""Re-score the kept checkpoints of finished runs with every score variant (the calibrated `z_` ones too), on the
same split they trained on, and say what choosing on validation picks with and without the calibrated variants.

    python tools/rescore.py runs/ablation/cpu/confirm/*/seed* runs/demo/cpu --out figures/ablation/rescore.csv

Each run's data comes from the nearest `params.yaml` (the run's own, or its study's), so the split is the one it
trained on. The test AUC is recorded as hindsight, never used to choose."""
import argparse, sys
from pathlib import Path
import pandas as pd
import yaml

def params_of(run):
    "The nearest params.yaml at or above a run folder"
    for d in [run, *run.parents]:
        if (d/'params.yaml').is_file(): return yaml.safe_load((d/'params.yaml').read_text())
    raise SystemExit(f"error: {run}: no params.yaml in it or above it: cannot rebuild its split")

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('runs', nargs='+', type=Path, help='run folders written by run_experiment, with kept checkpoints/')
    ap.add_argument('--out', type=Path, help='CSV of every (run, checkpoint, variant) row')
    a = ap.parse_args(argv)
    from anomalypro.core import Config
    from anomalypro.experiments import prepare_data
    from anomalypro.ablation import rescore_checkpoints, compare_scoring
    rows, picks, cache = [], [], {}
    for run in a.runs:
        if not (run/'config.yaml').is_file(): raise SystemExit(f"error: {run}: not a run folder (no config.yaml)")
        p, cfg = params_of(run), Config.from_yaml(run/'config.yaml')
        key = (p['EXPERIMENT'], p.get('DATA_DIR'), cfg.image_size, cfg.channels, p.get('SEED', 0), repr(p.get('PROTOCOL')), repr(p.get('OPTIONS')), p.get('MAX_PER_SET'))
        if key not in cache:
            cache[key] = prepare_data(p['EXPERIMENT'], p.get('DATA_DIR'), image_size=cfg.image_size, channels=cfg.channels, seed=p.get('SEED', 0),
                                      protocol=p.get('PROTOCOL') or None, max_per_set=p.get('MAX_PER_SET'), progress=False, **(p.get('OPTIONS') or {}))
        t = rescore_checkpoints(cache[key], run).assign(run=str(run), experiment=p['EXPERIMENT'])
        rows.append(t); picks.append(compare_scoring(t).assign(run=str(run)))
        print(picks[-1].round(3).to_string(index=False), flush=True)
    t, c = pd.concat(rows), pd.concat(picks)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        t.to_csv(a.out, index=False); c.to_csv(a.out.with_name(a.out.stem + '-choices.csv'), index=False)
    print(c.round(3).to_string(index=False))

if __name__ == '__main__': sys.exit(main())
