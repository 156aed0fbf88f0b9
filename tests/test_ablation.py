"The ablation study notebook, end to end through papermill at `quick` parameters (screening and confirmation)."
import os, subprocess, sys
from pathlib import Path
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

def test_ablation_notebook(tmp_path):
    nb = ROOT/'nbs'/'experiments'/'ablation.ipynb'
    out = tmp_path/'run'; out.mkdir()
    env = {**os.environ, 'ANOMALYPRO_CACHE': str(tmp_path/'cache')}
    p = subprocess.run([sys.executable, '-m', 'papermill', str(nb), str(out/'notebook.ipynb'), '-f',
                        str(ROOT/'nbs'/'experiments'/'params'/'quick'/'ablation.yaml'), '-p', 'RUN_DIR', str(out)],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    screen = pd.read_csv(out/'screen'/'ablation.csv')
    assert set(screen['variant']) == {'base', 'mask_bias=-2', 'lambda_restore=1 (noise 0.5, grid 8)'} and screen['val_auc'].between(0, 1).all()
    assert screen['val_auc'].is_monotonic_decreasing                                   # ranked on validation
    for c in ('val_patient_auc', 'val_pixel_auroc', 'aucp', 'mask_mean_healthy', 'train_seconds'): assert screen[c].notna().all(), c
    conf = pd.read_csv(out/'confirm'/'ablation.csv')
    assert set(conf['variant']) == {'upsample=resize + lambda_restore=1 (noise 0.5, grid 8)'} and sorted(conf['seed']) == [0, 1]
    summary = pd.read_csv(out/'confirm_summary.csv')
    assert summary['seeds'].tolist() == [2] and 'val_auc std' in summary
    assert (out/'params.yaml').exists() and (out/'run_info.json').exists()
    # the lever reached the training: its loss term is logged, and is 0 where the lever is off
    on, off = (pd.read_csv(out/'screen'/d/'seed0'/'log.csv') for d in ('lambda_restore=1_(noise_0.5,_grid_8)', 'base'))
    assert (on['g_restore'] > 0).all() and (off['g_restore'] == 0).all()
    for d in (out/'screen').iterdir():
        if d.is_dir(): assert (d/'seed0'/'metrics.json').exists() and (d/'seed0'/'config.yaml').exists()
