#!/usr/bin/env python
"""Detection quality of two sets of runs side by side, per seed and as mean and sd: validation AUC of the `cpu`
parameters' fixed rule (the last checkpoint, `foreground_mean`), test image, patient and pixel AUC, training seconds.

    python bench/compare_runs.py float32=figures/demo bfloat16=figures/bench/bf16-demo [--csv out.csv]

Each NAME=FOLDER holds one run folder per seed (`seed0`, `seed1`, ...), with `metrics.json` and `checkpoints.csv`.
"""
import argparse, json
from pathlib import Path
import pandas as pd

def run_row(d:Path):
    m, ck = json.loads((d/'metrics.json').read_text()), pd.read_csv(d/'checkpoints.csv')
    last = ck[(ck.step == ck.step.max()) & (ck.variant == 'foreground_mean')].iloc[0]
    return dict(val_auc=last.val_auc, image=m['image']['auc']['value'], patient=m['patient']['auc']['value'],
                pixel=m['pixel']['auroc'], train_s=m['train_seconds'])

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('sets', nargs='+', help='NAME=FOLDER')
    ap.add_argument('--csv', help='also write the per-seed table here')
    args = ap.parse_args()
    rows = []
    for spec in args.sets:
        name, _, folder = spec.partition('=')
        for d in sorted(Path(folder).glob('seed*')):
            if (d/'metrics.json').exists(): rows.append(dict(runs=name, seed=int(d.name[4:]), **run_row(d)))
    df = pd.DataFrame(rows)
    print(df.round(3).to_string(index=False))
    print(df.groupby('runs', sort=False)[['val_auc', 'image', 'patient', 'pixel', 'train_s']].agg(['mean', 'std']).round(3).to_string())
    if args.csv: df.to_csv(args.csv, index=False)

if __name__ == '__main__': main()
