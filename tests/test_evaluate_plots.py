"Property-style checks of anomalypro.evaluate, anomalypro.pixel and anomalypro.plots (no TensorFlow needed)"
import json, subprocess, sys
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from anomalypro import evaluate as ev, pixel as px
from anomalypro import plots
from anomalypro.results import paper_numbers


def _data(seed, n=120, shift=1.0):
    r = np.random.default_rng(seed)
    y = r.integers(0, 2, n)
    y[:2] = [0, 1]
    return y, r.normal(size=n) + shift * y


@pytest.mark.parametrize('seed', range(5))
def test_auc_matches_sklearn_and_is_invariant_to_monotone_transforms(seed):
    y, s = _data(seed)
    a = ev.auc(y, s)
    assert np.isclose(a, roc_auc_score(y, s))
    for f in (np.exp, lambda v: 3 * v + 7, np.arctan, lambda v: v ** 3):
        assert np.isclose(ev.auc(y, f(s)), a)
    assert np.isclose(ev.auc(y, -s), 1 - a)  # reversing the order mirrors the AUC
    assert np.isclose(ev.auc(1 - y, s), 1 - a)


def test_auc_with_ties_matches_sklearn():
    y, s = _data(0)
    s = np.round(s)  # many ties
    assert np.isclose(ev.auc(y, s), roc_auc_score(y, s))


@pytest.mark.parametrize('seed', range(3))
def test_thresholds_and_metrics_are_consistent(seed):
    y, s = _data(seed)
    t = ev.threshold_paper(y, s)
    assert t in s  # a threshold is one of the scores
    m = ev.metrics_at(y, s, t)
    assert all(0 <= v <= 1 for v in m.values())
    # at the balanced point sensitivity and specificity are as close as any other threshold allows
    gaps = [abs(ev.metrics_at(y, s, u)['recall'] - ev.metrics_at(y, s, u)['specificity']) for u in np.unique(s)]
    assert np.isclose(abs(m['recall'] - m['specificity']), min(gaps))
    # the honest protocol on validation data = the paper's rule applied to that data
    vy, vs = _data(seed + 10)
    assert ev.threshold_from_validation(vy, vs) == ev.threshold_paper(vy, vs)
    # accuracy from the counts
    pred = s >= t
    assert np.isclose(m['accuracy'], np.mean(pred == (y == 1)))


@pytest.mark.parametrize('seed', range(4))
def test_bootstrap_ci_contains_estimate_and_is_deterministic(seed):
    y, s = _data(seed, n=150)
    lo, hi = ev.bootstrap_ci(y, s, ev.auc, n=300, seed=seed)
    assert lo <= ev.auc(y, s) <= hi and lo < hi
    assert (lo, hi) == ev.bootstrap_ci(y, s, ev.auc, n=300, seed=seed)
    assert (lo, hi) != ev.bootstrap_ci(y, s, ev.auc, n=300, seed=seed + 100)
    wide = ev.bootstrap_ci(y, s, ev.auc, n=300, seed=seed, level=0.99)
    assert wide[0] <= lo and hi <= wide[1]


def test_bootstrap_every_replicate_has_both_classes():
    y = np.array([1] + [0] * 30)
    s = np.arange(31.)
    seen = []
    ev.bootstrap_ci(y, s, lambda a, b: seen.append((a.sum(), len(a))) or 0.0, n=50)
    assert set(seen) == {(1, 31)}


def test_patient_scores_aggregate_correctly():
    r = np.random.default_rng(0)
    subj = np.repeat([f"p{i:02d}" for i in range(12)], r.integers(1, 6, 12))
    lab = {s: int(s[-1]) % 2 for s in set(subj)}
    df = pd.DataFrame(dict(subject=subj, score=r.normal(size=len(subj)), label=[lab[s] for s in subj]))
    ps = ev.patient_scores(df.sample(frac=1, random_state=1))  # order does not matter
    assert len(ps) == 12 and ps.n_slices.sum() == len(df)
    for _, row in ps.iterrows():
        assert np.isclose(row.score, df[df.subject == row.subject].score.mean()) and row.label == lab[row.subject]
    with pytest.raises(ValueError, match=r"not constant within subject\(s\) \['p00'\]"):
        ev.patient_scores(df.assign(label=np.where(np.arange(len(df)) == 0, 1 - df.label, df.label)))


def test_patient_level_bootstrap_resamples_subjects():
    df = pd.DataFrame(dict(subject=list('aabbccdd'), score=[1, 2, 3, 4, 5, 6, 7, 8.], label=[0, 0, 0, 0, 1, 1, 1, 1]))
    sizes = set()
    ev.bootstrap_ci(df.label, df.score, lambda a, b: sizes.add(len(a)) or 0.0, n=30, groups=df.subject)
    assert sizes == {8}  # every subject has 2 slices, 2 subjects per class drawn
    with pytest.raises(ValueError, match='differ in length'):
        ev.bootstrap_ci(df.label, df.score, ev.auc, n=5, groups=['a'])


def test_evaluate_scores_structure_and_json():
    y, s = _data(0)
    vy, vs = _data(1)
    r = ev.evaluate_scores(y, s, vy, vs, n_boot=100)
    assert json.loads(json.dumps(r)) == r
    assert r['n']['total'] == len(y) and r['n']['anomalous'] == int(y.sum())
    for p in ('paper_protocol', 'validation_protocol'):
        for k in ('precision', 'recall', 'specificity', 'accuracy', 'f1'):
            v = r[p][k]
            assert set(v) == {'value', 'ci_low', 'ci_high'} and 0 <= v['ci_low'] <= v['ci_high'] <= 1
        c = r[p]['counts']
        assert c['tp'] + c['fp'] + c['tn'] + c['fn'] == len(y)
    assert r['auc']['ci_low'] <= r['auc']['value'] <= r['auc']['ci_high']
    assert r['validation_protocol']['threshold'] == ev.threshold_from_validation(vy, vs)
    assert r == ev.evaluate_scores(y, s, vy, vs, n_boot=100)  # seeded


@pytest.mark.parametrize('call', [
    lambda: ev.auc([1, 1, 1], [0.1, 0.2, 0.3]),
    lambda: ev.threshold_paper([0, 0], [0.1, 0.2]),
    lambda: ev.evaluate_scores([0, 0, 0], [1, 2, 3], n_boot=0),
], ids=['auc', 'threshold', 'evaluate'])
def test_one_class_only_is_rejected(call):
    with pytest.raises(ValueError, match='one class only'): call()


@pytest.mark.parametrize('fn', [ev.auc, ev.threshold_paper, lambda y, s: ev.metrics_at(y, s, 0.5),
                                lambda y, s: ev.evaluate_scores(y, s, n_boot=0), plots.plot_roc,
                                lambda y, s: plots.plot_score_distributions(s, y)])
def test_nan_scores_and_length_mismatch_are_rejected(fn):
    with pytest.raises(ValueError, match='NaN or infinite'): fn([0, 1, 0], [0.1, np.nan, 0.3])
    with pytest.raises(ValueError, match='NaN or infinite'): fn([0, 1, 0], [0.1, np.inf, 0.3])
    with pytest.raises(ValueError, match='differ in length'): fn([0, 1, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match='labels must be 0'): fn([0, 1, 2], [0.1, 0.2, 0.3])


def test_per_finding_auc_on_real_chestxray14_labels():
    import os
    p = os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data', 'nih-cxr14', 'Data_Entry_2017_v2020.csv.gz')
    if not os.path.exists(p): pytest.skip('../shared/data/nih-cxr14 not present')
    df = pd.read_csv(p, nrows=4000)
    r = np.random.default_rng(0)
    # scores that know about Cardiomegaly only
    s = r.normal(size=len(df)) + 3 * df['Finding Labels'].str.contains('Cardiomegaly').to_numpy()
    t = ev.per_finding_auc(df, s, n_boot=0).set_index('finding')
    assert list(t.index) == ev.CXR14_FINDINGS + ['Any finding']
    assert t.loc['Cardiomegaly', 'auc'] > 0.9 and t.n_neg.nunique() == 1
    assert (t.n_pos > 0).all() and t.drop(['Cardiomegaly', 'Any finding']).auc.between(0.3, 0.8).all()


def test_pixel_metrics():
    r = np.random.default_rng(0)
    masks = np.zeros((40, 32, 32, 1), np.float32); masks[:, 8:16, 8:16] = 1
    maps = r.random(masks.shape).astype(np.float32) + masks
    assert px.pixel_auroc(masks, maps) == 1.0 and px.best_dice(masks, maps, thresholds=[0.5, 1.0]) == dict(dice=1.0, threshold=1.0)
    assert px.best_dice(masks, maps)['dice'] > 0.99  # the default grid of 101 thresholds need not hit the gap exactly
    # subsampling is deterministic and close to the exact value
    noisy = r.random(masks.shape).astype(np.float32) + 0.3 * masks
    exact = px.pixel_auroc(masks, noisy)
    sub = px.pixel_auroc(masks, noisy, max_pixels=5000)
    assert sub == px.pixel_auroc(masks, noisy, max_pixels=5000) and abs(sub - exact) < 0.03
    with pytest.raises(ValueError, match='NaN'): px.pixel_auroc(masks, np.where(masks > 0, np.nan, maps))
    with pytest.raises(ValueError, match='no lesion'): px.pixel_auroc(masks * 0, maps)


def test_paper_numbers_match_method_md():
    t = paper_numbers().set_index(['experiment', 'metric']).paper
    assert t[('covidx', 'auc')] == 0.84 and t[('chestxray14', 'auc')] == 0.56 and t[('migraine', 'f1')] == 0.74


def _toy(n, c, seed=0):
    r = np.random.default_rng(seed)
    x = r.uniform(-1, 1, (n, 32, 32, c)).astype(np.float32)
    return x, np.clip(x + r.normal(0, 0.2, x.shape), -1, 1), r.uniform(0, 1, (n, 32, 32, 1))


def _png(p):
    assert p.exists() and p.stat().st_size > 2000 and p.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


@pytest.mark.parametrize('c', [1, 3])
def test_plots_write_pngs_on_random_inputs(tmp_path, c):
    y, s = _data(c)
    assert len(plots.plot_roc(y, s, n_boot=100, path=tmp_path/'a'/'roc.png').axes) == 1; _png(tmp_path/'a'/'roc.png')
    plots.plot_score_distributions(s, y, path=tmp_path/'dist.png'); _png(tmp_path/'dist.png')
    x, out, m = _toy(9, c)
    fig = plots.plot_qualitative(x, out, m, np.random.default_rng(0).random(9), n=2, path=tmp_path/'q.png')
    _png(tmp_path/'q.png'); assert len(fig.axes) == 16
    fig = plots.plot_sample_panel(x, out, m, tmp_path/'s.png', max_images=5); _png(tmp_path/'s.png')
    assert len(fig.axes) == 20
    log = pd.DataFrame(dict(epoch=range(3), d_loss=[1., .5, .2], g_loss=[2., 1., .5], lr=1e-4))
    log.to_csv(tmp_path/'log.csv', index=False)
    fig = plots.plot_training_curves(tmp_path/'log.csv', path=tmp_path/'c.png'); _png(tmp_path/'c.png')
    assert len(fig.axes) == 3


def test_plot_input_errors(tmp_path):
    x, out, m = _toy(4, 1)
    with pytest.raises(ValueError, match='differ in shape'): plots.plot_sample_panel(x, out[..., :1][:2], m, tmp_path/'s.png')
    with pytest.raises(ValueError, match='1 or 3 channels'): plots.plot_sample_panel(np.zeros((2, 8, 8, 2)), np.zeros((2, 8, 8, 2)), np.zeros((2, 8, 8)), tmp_path/'s.png')
    with pytest.raises(ValueError, match='masks must be'): plots.plot_sample_panel(x, out, m[:, :16], tmp_path/'s.png')
    (tmp_path/'empty.csv').write_text('epoch,d_loss\n')
    with pytest.raises(ValueError, match='no rows'): plots.plot_training_curves(tmp_path/'empty.csv')


def test_modules_do_not_import_tensorflow():
    code = "import sys, anomalypro.evaluate, anomalypro.plots; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, '-c', code], check=True)
