"""The Kermany experiment on the benchmark's official test split: every choice is made without its labels.

On the real data beside the repository (../shared/data/kermany); skips with a reason when it is absent."""
import contextlib, io
from pathlib import Path
import numpy as np
import pytest
from anomalypro.core import preset
from anomalypro.datasets import load_kermany
from anomalypro.protocol import make_protocol
from anomalypro.registry import ExperimentData, CHEST_CROP, subsample, from_files, read_params

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent/'shared'/'data'/'kermany'

@pytest.fixture(scope='module')
def kermany():
    "A small sample of the quick parameters' Kermany protocol (B, A, val from train/; test the official test/)"
    if not (DATA/'test').exists(): pytest.skip(f"Kermany with its official test split not found at {DATA}")
    proto = read_params(ROOT/'nbs'/'experiments'/'params'/'quick'/'kermany.yaml')['PROTOCOL']
    df = subsample(make_protocol(load_kermany(DATA), 0, verbose=False, **proto), 24, 0)
    frame, x = from_files('kermany', df, 32, 1, False, CHEST_CROP, 'raise', False)
    return ExperimentData('kermany', frame, x, None, False).check()

def test_test_set_is_the_official_split(kermany):
    f = kermany.frame
    assert (f.loc[f['set'] == 'test', 'split'] == 'test').all()
    assert (f.loc[f['set'] != 'test', 'split'] == 'train').all()
    assert not set(f.loc[f['set'] == 'test', 'subject']) & set(f.loc[f['set'] != 'test', 'subject'])

def _choices(m):
    "Everything a run chose: checkpoint, variant, thresholds, the baselines' scores, each selector's pick"
    img = m['image']
    return (m['checkpoint_step'], m['score_variant'], img['validation_protocol']['threshold'],
            img['specificity_protocol']['threshold'],
            {k: v['validation'] for k, v in m['threshold_transfer'].items()},
            {k: b['score'] for k, b in m['baselines'].items() if k != 'autoencoder'},
            {k: (v['step'], v['variant']) for k, v in m['selectors'].items() if v and k != 'hindsight'})

@pytest.mark.parametrize('select,variants', [('val_auc', None), ('last', ['foreground_mean'])])
def test_choices_ignore_test_labels(kermany, tmp_path, select, variants):
    "Flipping the official test split's labels changes the test AUCs only, never a choice"
    from anomalypro.experiments import run_experiment
    cfg = preset('quick', iterations=10, decay_iters=4, checkpoint_every=4, sample_every=10, log_every=2)
    f = kermany.frame
    flipped = ExperimentData('kermany', f.assign(label=np.where(f['set'] == 'test', 1 - f['label'], f['label'])),
                             kermany.images, None, False)
    with contextlib.redirect_stdout(io.StringIO()):
        m = run_experiment(kermany, cfg, tmp_path/'a', n_boot=10, progress=False, ae_seconds=1, select=select,
                           variants=variants)
        mf = run_experiment(flipped, cfg, tmp_path/'b', n_boot=10, progress=False, ae_seconds=1, select=select,
                            variants=variants)
    assert _choices(mf) == _choices(m)
    assert mf['image_paper_score']['auc']['value'] == pytest.approx(1 - m['image_paper_score']['auc']['value'])
    if variants: assert m['score_variant'] == variants[0] and m['selection']['variants'] == variants
