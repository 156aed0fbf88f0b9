"Every experiment notebook, end to end through papermill at `quick` parameters, on fixtures in the real layouts."
import json, os, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd, pytest
from fixtures_data import write_png, write_nifti, brain_volume, make_kermany, make_mri

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ['demo', 'kermany', 'ixi_lesions', 'covidx', 'chestxray14', 'migraine']

def make_covidx_fixture(root, n_neg=40, n_pos=20, n_test=10):
    rows = [(f'{i}', f'n{i}.png', 'negative', 'rsna') for i in range(n_neg)] + \
           [(f'COVID {i}', f'p{i}.png', 'positive', 'sirm') for i in range(n_pos)]   # ids with a space, as in V7B
    test = [(f't{i}', f't{i}.png', 'positive' if i % 2 else 'negative', 'actmed') for i in range(2 * n_test)]
    for name, rs, split in [('train_COVIDx7B.txt', rows, 'train'), ('test_COVIDx7B.txt', test, 'test')]:
        (root/name).parent.mkdir(parents=True, exist_ok=True)
        (root/name).write_text(''.join(' '.join(r) + '\n' for r in rs))
        for i, r in enumerate(rs): write_png(root/split/r[1], seed=i)

def make_nih_fixture(root, n=48):
    root.mkdir(parents=True, exist_ok=True)
    findings = ['No Finding', 'Cardiomegaly', 'No Finding', 'Effusion|Mass', 'No Finding', 'Nodule']
    rows = [(f'{i:08d}_000.png', findings[i % len(findings)], i) for i in range(n)]
    (root/'Data_Entry_2017_v2020.csv').write_text(
        'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,'
        'OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]\n' +
        ''.join(f'{f},{l},0,{p},{40 + p % 30},M,PA,2500,2048,0.14,0.14\n' for f, l, p in rows))
    (root/'train_val_list.txt').write_text(''.join(f'{f}\n' for f, _, p in rows if p % 3))
    (root/'test_list.txt').write_text(''.join(f'{f}\n' for f, _, p in rows if not p % 3))
    for i, (f, _, _) in enumerate(rows): write_png(root/f'images_00{1 + i % 2}'/'images'/f, seed=i)

@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    make_kermany(root/'kermany', n=(16, 16), test=False)
    for i in range(8): write_nifti(root/'ixi-t1'/'T1'/f'IXI{100 + i:03d}-Guys-{i:04d}-T1.nii.gz', brain_volume(seed=i))
    make_covidx_fixture(root/'covidx')
    make_nih_fixture(root/'nih-cxr14')
    make_mri(root/'migraine', subjects=[f's{i:02d}' for i in range(8)], labels=[0, 1] * 4)
    return root

@pytest.fixture(scope='module')
def reproduced(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp('out')
    env = {**os.environ, 'ANOMALYPRO_CACHE': str(out/'cache')}
    p = subprocess.run([sys.executable, '-m', 'anomalypro.cli', 'reproduce', '--params', 'quick', '--data-root', str(data_root),
                        '--runs', str(out/'runs'), '--publish', str(out/'figures'), '--quiet', '--experiments', *EXPERIMENTS],
                       capture_output=True, text=True, cwd=out, env=env, timeout=900)
    return p, out

def test_every_experiment_runs(reproduced):
    p, out = reproduced
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert '6 ran, 0 skipped (no data), 0 failed' in p.stdout

@pytest.mark.parametrize('exp', EXPERIMENTS)
def test_run_folder(reproduced, exp):
    _, out = reproduced
    rd = out/'runs'/exp/'quick'
    for f in ['notebook.ipynb', 'params.yaml', 'run_info.json', 'config.yaml', 'metrics.json', 'scores.csv', 'log.csv', 'generator.keras']:
        assert (rd/f).exists(), f
    info = json.loads((rd/'run_info.json').read_text())
    assert info['anomalypro'] and 'git_revision' in info
    m = json.loads((rd/'metrics.json').read_text())
    for level in ['image'] + (['patient'] if exp in ('demo', 'ixi_lesions', 'migraine') else []):
        r = m[level]
        assert 0 <= r['auc']['value'] <= 1 and r['auc']['ci_low'] <= r['auc']['value'] <= r['auc']['ci_high']
        for prot in ('paper_protocol', 'validation_protocol'):
            assert all(0 <= r[prot][k]['value'] <= 1 for k in ('precision', 'recall', 'specificity', 'accuracy', 'f1'))
    if exp in ('demo', 'ixi_lesions'): assert 0 <= m['pixel']['auroc'] <= 1 and 0 <= m['pixel']['best_dice_dice'] <= 1
    if exp == 'chestxray14': assert (rd/'per_finding_auc.csv').exists()
    # baselines, score variants and selectors, computed on the same split and chosen on validation
    assert {'mean_intensity', 'pixel_zscore', 'autoencoder'} <= set(m['baselines'])
    for b in m['baselines'].values(): assert 0 <= b['image']['auc']['value'] <= 1 and b['score'] in b['val_auc']
    assert set(m['selectors']) == {'val_auc', 'aucp', 'aucp_train', 'last', 'hindsight'} and m['checkpoint'] == 'val_auc'
    assert all(m['selectors'][k] for k in ('val_auc', 'aucp_train', 'last', 'hindsight'))   # aucp: None when B has one subject
    assert m['image_paper_score']['auc']['ci_low'] is not None and m['score_variant'] in m['variants']
    ck = pd.read_csv(rd/'checkpoints.csv')
    assert {'step', 'variant', 'val_auc', 'aucp', 'aucp_train', 'test_auc_hindsight'} <= set(ck.columns) and ck['aucp_train'].between(0, 1).all() and ck['aucp'].dropna().between(0, 1).all()
    s = pd.read_csv(rd/'scores.csv'); assert set(s['set']) == {'val', 'test'} and (s['score'] >= 0).all() and np.isfinite(s['score']).all()
    figs = {p.name for p in (rd/'figures').glob('*.png')}
    assert {'roc.png', 'score_distributions.png', 'qualitative.png', 'training_curves.png'} <= figs
    assert figs <= {p.name for p in (out/'figures'/exp).glob('*.png')}          # published

@pytest.mark.parametrize('exp', EXPERIMENTS)
def test_notebook_log_is_quiet(reproduced, exp):
    "The protocol's counts table is printed once (by prepare_data), and no TqdmWarning about IProgress"
    _, out = reproduced
    nb = json.loads((out/'runs'/exp/'quick'/'notebook.ipynb').read_text())
    streams = [o for c in nb['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'stream']
    text = ''.join(''.join(o['text']) for o in streams)
    assert sum(line.strip() == 'set' for line in text.splitlines()) == 1, text[:3000]   # the table's index header
    assert 'IProgress' not in text and 'TqdmWarning' not in text

def test_results_table(reproduced):
    _, out = reproduced
    t = pd.read_csv(out/'runs'/'results-quick.csv')
    assert set(t['experiment']) == set(EXPERIMENTS)
    for exp in EXPERIMENTS:   # HealthyGAN, the paper's score and each baseline, per level
        rows = t[(t.experiment == exp) & (t.level == 'image')]
        assert rows['method'].str.startswith('HealthyGAN (').sum() == 1 and rows['method'].str.startswith('baseline: ').sum() >= 3
        assert rows['vs baselines'].iloc[0].startswith(('beats every baseline', 'does not beat'))
    sel = pd.read_csv(out/'runs'/'selectors-quick.csv'); assert sel.groupby('experiment').size().between(4, 5).all()
    assert '## Checkpoint selectors' in (out/'runs'/'results-quick.md').read_text()
    assert t.loc[t.experiment == 'covidx', 'paper'].iloc[0].startswith('auc 0.84')
    md = (out/'figures'/'results-quick.md').read_text()
    assert 'paper protocol' in md and '| covidx | image |' in md

def test_missing_data_is_skipped_and_failures_reported(data_root, tmp_path):
    broken = tmp_path/'broken'
    make_mri(broken/'migraine', subjects=['a', 'b'], labels=[0, 1])
    (broken/'migraine'/'labels.csv').write_text('subject,diagnosis\na,0\nb,1\n')   # the label column is missing
    p = subprocess.run([sys.executable, '-m', 'anomalypro.cli', 'reproduce', '--params', 'quick', '--data-root', str(broken),
                        '--runs', str(tmp_path/'runs'), '--quiet', '--experiments', 'covidx', 'migraine'],
                       capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert p.returncode == 1
    assert '[skip] covidx: data folder' in p.stdout and 'Get it' in p.stdout
    assert '[FAIL] migraine' in p.stdout and '0 ran, 1 skipped (no data), 1 failed' in p.stdout
    nb = json.loads((tmp_path/'runs'/'migraine'/'quick'/'notebook.ipynb').read_text())   # the partly executed notebook is kept
    errors = [o for c in nb['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'error']
    assert errors and 'label' in ' '.join(errors[0]['traceback'])
