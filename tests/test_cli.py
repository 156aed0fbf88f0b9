"The `anomalypro train | score | evaluate` commands end to end, as a user runs them (subprocess), on small fixtures."
import json, os, shutil, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd, pytest
from PIL import Image
from fixtures_data import write_png, write_dicom, write_nifti, brain_volume

BIN = Path(sys.executable).parent/'anomalypro'
CMD = [str(BIN)] if BIN.exists() else [sys.executable, '-m', 'anomalypro.cli']
QUICK = ['--preset', 'quick', '--set', 'iterations=8', '--set', 'decay_iters=4', '--set', 'checkpoint_every=4',
         '--set', 'sample_every=8', '--n-boot', '20']

def scan(seed, sick=False, h=48, w=40):
    "A toy scan (uint8): a gradient with noise, and a bright blob when `sick`"
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w] / max(h, w)
    a = 0.25 + 0.4 * yy + 0.04 * rng.standard_normal((h, w))
    if sick: a = a + 0.6 * np.exp(-((yy - rng.uniform(0.3, 0.6)) ** 2 + (xx - rng.uniform(0.3, 0.6)) ** 2) / 0.01)
    return (np.clip(a, 0, 1) * 255).astype(np.uint8)

def run(*args, cwd, timeout=600, **env_extra):
    env = {**os.environ, 'ANOMALYPRO_CACHE': str(Path(cwd)/'cache'), 'MPLBACKEND': 'Agg', **env_extra}
    return subprocess.run([*CMD, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    "The own-folders layout with PNG, JPEG and DICOM files: B healthy, A mixed, test normal and abnormal"
    root = tmp_path_factory.mktemp('scans')
    for i in range(10): write_png(root/'healthy'/f'h{i}__000.png', scan(i))
    write_dicom(root/'healthy'/'h10__000.dcm', scan(10).astype(np.uint16) * 16)
    for i in range(10): write_png(root/'mixed'/f'm{i}__000.{"jpg" if i == 3 else "png"}', scan(100 + i, sick=i % 2))
    for i in range(6): write_png(root/'test'/'normal'/f'n{i}__000.png', scan(200 + i))
    for i in range(6): write_png(root/'test'/'abnormal'/f'a{i}__000.png', scan(300 + i, sick=True))
    return root

@pytest.fixture(scope='module')
def trained(data, tmp_path_factory):
    """Train with the quick preset on one device, stopped half way, refused without --resume, then resumed to the end
    on two replicas (MirroredStrategy over two logical CPU devices): the checkpoint moves between replica counts"""
    work = tmp_path_factory.mktemp('work'); out = work/'run'
    first = run('train', '--data', f'folders:{data}', *QUICK, '--stop-after', '4', '--out', out, '--quiet', cwd=work)
    again = run('train', '--data', f'folders:{data}', *QUICK, '--out', out, cwd=work)
    resumed = run('train', '--resume', '--out', out, '--n-boot', '20', '--strategy', 'mirrored', cwd=work, ANOMALYPRO_CPU_DEVICES='2')
    return dict(out=out, work=work, first=first, again=again, resumed=resumed)

def test_help():
    p = subprocess.run([*CMD, '--help'], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and all(c in p.stdout for c in ('train', 'score', 'evaluate', 'reproduce'))

def test_train_stop_refuse_resume(trained):
    f, a, r = trained['first'], trained['again'], trained['resumed']
    assert f.returncode == 0, f.stdout[-2000:] + f.stderr[-3000:]
    assert 'stopped at iteration 4 of 8' in f.stdout and 'model bundle' not in f.stdout
    assert a.returncode == 1 and 'already holds a training run' in a.stderr and '--resume' in a.stderr
    assert 'Traceback' not in a.stderr
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert 'HealthyGAN' in r.stderr and 'd_loss=' in r.stderr                     # the progress bar, with the losses
    assert 'strategy: MirroredStrategy, 2 replica(s)' in r.stderr
    log = pd.read_csv(trained['out']/'log.csv')
    assert log['step'].tolist() == [2, 4, 6, 8]                                  # continued from the checkpoint, not restarted
    for what in ('model bundle:', 'MODEL_CARD.md', 'threshold:', 'figures:', 'test split:   AUC'): assert what in r.stdout, what

def test_bundle_layout(trained):
    out = trained['out']; b = out/'model'
    thr = json.loads((b/'threshold.json').read_text())
    cal = {'calibration.npz'} if thr['score_variant'].startswith('z_') else set()   # a calibrated score variant carries its calibration
    files = {'generator.keras', 'config.yaml', 'preprocessing.json', 'threshold.json', 'training.json'} | cal
    assert {p.name for p in b.iterdir()} == files | {'bundle.json', 'MODEL_CARD.md'}
    meta = json.loads((b/'bundle.json').read_text())
    # format 3: this anomalypro's configuration keys (restore_fraction) and layers, which format-2 readers reject
    assert meta['format'] == 'anomalypro-model' and meta['format_version'] == 3 and meta['anomalypro'] and meta['created']
    assert json.loads((b/'preprocessing.json').read_text())['volume']['slice_range'] == ['foreground', 0.25]
    assert set(meta['files']) == files
    sc = pd.read_csv(out/'scores.csv'); val = sc[sc['set'] == 'val']
    assert 'sensitivity = specificity' in thr['method'] and 'validation split' in thr['data']
    assert thr['n_validation'] == dict(total=len(val), healthy=int((val.label == 0).sum()), anomalous=int(val.label.sum()))
    from anomalypro.evaluate import threshold_from_validation
    assert thr['value'] == threshold_from_validation(val['label'], val['score'])    # chosen on validation, never on test
    prep = json.loads((b/'preprocessing.json').read_text())
    assert (prep['image_size'], prep['channels'], prep['crop_top']) == (32, 1, 0.0)
    tr = json.loads((b/'training.json').read_text())
    counts = {r['set']: r['total'] for r in tr['data']['counts']}
    assert counts['B'] == 11 and counts['A'] == 10 and counts['val'] + counts['test'] == 12 and tr['iterations_trained'] == 8
    card = (b/'MODEL_CARD.md').read_text()
    assert '# Model card' in card and f"{thr['value']}" in card and 'Not a medical device' in card
    assert {'roc.png', 'score_distributions.png', 'qualitative.png', 'training_curves.png'} <= {p.name for p in (out/'figures').iterdir()}

@pytest.fixture(scope='module')
def inbox(tmp_path_factory):
    "A folder to score: good PNG/JPEG/DICOM files (some nested), a NIfTI volume, broken files, a non-image"
    d = tmp_path_factory.mktemp('inbox')/'inbox'
    for i in range(3): write_png(d/'ward'/'bed'/f'p{i}.png', scan(400 + i, sick=i == 1))
    write_png(d/'x.jpg', scan(410)); write_dicom(d/'ct.dcm', scan(411).astype(np.uint16) * 16)
    write_dicom(d/'noext', scan(412).astype(np.uint16) * 16)                       # DICOM without an extension
    write_nifti(d/'head.nii.gz', brain_volume(shape=(28, 28, 30)))
    good = (d/'ward'/'bed'/'p0.png').read_bytes()
    (d/'truncated.png').write_bytes(good[:len(good) // 3])
    (d/'text.png').write_text('this is not a PNG')
    (d/'README.txt').write_text('notes')
    return d

def test_score_mixed_folder(trained, inbox, tmp_path):
    extra = inbox.parent/'single.png'; write_png(extra, scan(420))
    p = run('score', trained['out']/'model', inbox, extra, tmp_path/'nowhere.png', '--out', tmp_path/'res', cwd=tmp_path)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    res = tmp_path/'res'
    sc, sub, bad = (pd.read_csv(res/f) for f in ('scores.csv', 'subjects.csv', 'failed.csv'))
    assert list(sc.columns) == ['file', 'slice', 'score', 'score_paper', 'flag', 'heatmap']
    info = json.loads((trained['out']/'model'/'threshold.json').read_text())
    if info['score_variant'] == 'paper': assert np.allclose(sc['score'], sc['score_paper'], atol=1e-6)
    assert sc['score_paper'].between(0, 1).all()                                     # the paper's score is always written
    flat = sc[sc['slice'].isna()]
    assert sorted(Path(f).name for f in flat['file']) == ['ct.dcm', 'noext', 'p0.png', 'p1.png', 'p2.png', 'single.png', 'x.jpg']
    assert (sc['score'] >= 0).all() and np.isfinite(sc['score']).all() and set(sc['flag']) <= {0, 1}   # z_ scores exceed 1
    if not info['score_variant'].startswith('z_'): assert (sc['score'] <= 1).all()
    thr = json.loads((trained['out']/'model'/'threshold.json').read_text())['value']
    assert ((sc['score'] >= thr).astype(int) == sc['flag']).all()
    vol = sc[sc['slice'].notna()]
    assert len(vol) >= 5 and len(sub) == 1 and sub['n_slices'][0] == len(vol)
    assert np.isclose(sub['score'][0], vol['score'].mean(), atol=1e-6)
    hm = sc['heatmap'].dropna()
    assert len(hm) == 7 + 5 and all((res/h).exists() for h in hm)                  # one per image, top 5 slices by default
    assert Image.open(res/hm.iloc[0]).size == (2 * 256 + 96, 24 + 256)   # halves of 256 px, caption, colour scale
    page = (res/'report.html').read_text()                                    # and the report of it all
    assert 'Images (7)' in page and 'Volumes (1)' in page and 'Files that could not be read (3)' in page
    assert f"report: {res/'report.html'}" in p.stdout
    assert sorted(Path(f).name for f in bad['file']) == ['nowhere.png', 'text.png', 'truncated.png']
    for name in ('truncated.png', 'text.png', 'nowhere.png'): assert name in p.stdout     # listed at the end, with the reason
    assert 'truncated' in p.stdout and 'not a readable image' in p.stdout and 'no such file' in p.stdout
    assert '1 non-image file(s) ignored' in p.stdout

def test_score_nothing_readable(trained, inbox, tmp_path):
    p = run('score', trained['out']/'model', inbox/'text.png', inbox/'truncated.png', '--out', tmp_path/'res', '--quiet', cwd=tmp_path)
    assert p.returncode == 1 and 'nothing could be scored' in p.stderr
    assert len(pd.read_csv(tmp_path/'res'/'failed.csv')) == 2

def test_evaluate(trained, data, tmp_path):
    p = run('evaluate', trained['out']/'model', data, '--out', tmp_path/'ev', '--n-boot', '20', '--quiet', cwd=tmp_path)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    m = json.loads((tmp_path/'ev'/'metrics.json').read_text())
    thr = json.loads((trained['out']/'model'/'threshold.json').read_text())['value']
    r = m['image']
    assert r['n'] == dict(total=12, healthy=6, anomalous=6) and 0 <= r['auc']['value'] <= 1
    assert r['validation_protocol']['threshold'] == thr and 'paper_protocol' in r
    for prot in ('validation_protocol', 'paper_protocol'):
        assert all(0 <= r[prot][k]['value'] <= 1 for k in ('precision', 'recall', 'specificity', 'accuracy', 'f1'))
    assert {'roc.png', 'score_distributions.png', 'qualitative.png'} <= {f.name for f in (tmp_path/'ev'/'figures').iterdir()}
    sc = pd.read_csv(tmp_path/'ev'/'scores.csv'); assert set(sc['label']) == {0, 1} and len(sc) == 12
    assert 'AUC' in p.stdout and "bundle's threshold" in p.stdout

def test_unsafe_and_corrupt_bundles_refused(trained, tmp_path):
    import keras
    from anomalypro.core import preset
    from anomalypro.detector import AnomalyDetector
    from anomalypro.bundle import BundleError, UnsafeModelError
    x = keras.Input((32, 32, 1)); y = keras.layers.Lambda(lambda t: t * 0, name='payload')(x)
    AnomalyDetector(keras.Model(x, [y, y[..., :1], y]), preset('quick'), threshold=dict(value=0.1)).save(tmp_path/'evil')
    with pytest.raises(UnsafeModelError, match="Lambda layer 'payload'"): AnomalyDetector.load(tmp_path/'evil')
    write_png(tmp_path/'a.png', scan(1))
    p = run('score', tmp_path/'evil', tmp_path/'a.png', '--out', tmp_path/'res', '--quiet', cwd=tmp_path)
    assert p.returncode == 1 and 'refused' in p.stderr and 'Lambda' in p.stderr and 'Traceback' not in p.stderr
    assert not (tmp_path/'res'/'scores.csv').exists()
    good = trained['out']/'model'
    def damaged(name, fn):
        d = tmp_path/name; shutil.copytree(good, d); fn(d); return d
    with pytest.raises(BundleError, match='config.yaml does not match its checksum'):
        AnomalyDetector.load(damaged('edited', lambda d: (d/'config.yaml').write_text((d/'config.yaml').read_text() + '\n# x')))
    with pytest.raises(BundleError, match='generator.keras is missing'):
        AnomalyDetector.load(damaged('missing', lambda d: (d/'generator.keras').unlink()))
    def newer(d):
        m = json.loads((d/'bundle.json').read_text()); m['format_version'] = 99; (d/'bundle.json').write_text(json.dumps(m))
    with pytest.raises(BundleError, match='incompatible bundle: format version 99.*upgrade anomalypro'):
        AnomalyDetector.load(damaged('newer', newer))

def test_export_savedmodel(trained, tmp_path):
    "`anomalypro export` writes a SavedModel whose score is the paper's; an existing --out is refused in one line"
    p = run('export', trained['out']/'model', '--out', tmp_path/'sm', cwd=tmp_path)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    assert (tmp_path/'sm'/'saved_model.pb').exists() and 'serve_uint8' in p.stdout
    again = run('export', trained['out']/'model', '--out', tmp_path/'sm', cwd=tmp_path)
    assert again.returncode == 1 and 'exists' in again.stderr and 'Traceback' not in again.stderr

def test_version_and_file_as_out(trained, tmp_path):
    import anomalypro
    v = subprocess.run([*CMD, '--version'], capture_output=True, text=True, timeout=60)
    assert v.returncode == 0 and v.stdout.strip() == f'anomalypro {anomalypro.__version__}'
    (tmp_path/'taken').write_text('x')
    p = run('score', trained['out']/'model', tmp_path/'taken', '--out', tmp_path/'taken', cwd=tmp_path)
    assert p.returncode == 1 and 'is an existing file, not a folder' in p.stderr and 'Errno' not in p.stderr and 'Traceback' not in p.stderr

def test_train_and_score_flags_reach_the_api(tmp_path, monkeypatch):
    "`train --no-baselines --ae-seconds` and `score --resume` are passed on to `train_detector` and `score_files`"
    from anomalypro.cli import main, _parser
    from anomalypro.detector import AnomalyDetector, train_detector
    from anomalypro.scoring import score_files
    import inspect
    assert {'baselines', 'ae_seconds'} <= set(inspect.signature(train_detector).parameters)   # the API takes them
    assert 'resume' in inspect.signature(score_files).parameters
    a = _parser().parse_args(['train', '--data', 'demo', '--out', 'x'])
    assert (a.no_baselines, a.ae_seconds) == (False, None)
    a = _parser().parse_args(['train', '--data', 'demo', '--out', 'x', '--no-baselines', '--ae-seconds', '12.5'])
    assert (a.no_baselines, a.ae_seconds) == (True, 12.5)
    assert not _parser().parse_args(['score', 'm', 'a.png', '--out', 'o']).resume
    assert _parser().parse_args(['score', 'm', 'a.png', '--out', 'o', '--resume']).resume
    seen = {}
    monkeypatch.setattr(AnomalyDetector, 'train', staticmethod(lambda *a, **kw: seen.setdefault('train', kw) and None))
    assert main(['train', '--data', 'demo', '--out', str(tmp_path/'r'), '--no-baselines', '--ae-seconds', '30', '--quiet']) == 0
    assert (seen['train']['baselines'], seen['train']['ae_seconds']) == (False, 30.0)
    seen.clear()
    assert main(['train', '--data', 'demo', '--out', str(tmp_path/'r2'), '--quiet']) == 0
    assert (seen['train']['baselines'], seen['train']['ae_seconds']) == (True, None)
    class Report:
        n_scored = 1
        def summary(self): return 'scored 1'
    class Det:
        def score_files(self, inputs, out, **kw): seen['score'] = kw; return Report()
    monkeypatch.setattr(AnomalyDetector, 'load', staticmethod(lambda path: Det()))
    for flags, resume in (([], False), (['--resume'], True)):
        assert main(['score', 'm', 'a.png', '--out', str(tmp_path/'o'), '--no-heatmaps', *flags]) == 0
        assert seen['score']['resume'] is resume
