"""`anomalypro score` on damaged files: a seeded fuzzer (byte flips, truncations, header overwrites, duplicated chunks)
over pydicom's own test files of every transfer syntax, PNG and JPEG made here and a small NIfTI; then decoders that
die hard (abort, segfault, SIGKILL, a Rust-style panic): every file is scored or listed as failed, the run goes on."""
import io, os, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd, pytest
from PIL import Image
import pydicom
from fixtures_data import write_nifti, brain_volume
import decode_readers as R

BIN = Path(sys.executable).parent/'anomalypro'
CMD = [str(BIN)] if BIN.exists() else [sys.executable, '-m', 'anomalypro.cli']
PYDICOM_FILES = Path(pydicom.__file__).parent/'data'/'test_files'

@pytest.fixture(scope='module')
def bundle(tmp_path_factory):
    "An untrained quick-preset bundle: decoding does not depend on the weights"
    from anomalypro.core import preset
    from anomalypro.model import build_generator
    from anomalypro.detector import AnomalyDetector
    cfg = preset('quick')
    return AnomalyDetector(build_generator(cfg), cfg, threshold=dict(value=0.1, method='test')).save(
        tmp_path_factory.mktemp('b')/'model')

def sources(folder, rng):
    "Good files of every kind: pydicom's single-frame test files (each transfer syntax), PNG, JPEG, NIfTI"
    out, per_ts = [], {}
    for f in sorted(PYDICOM_FILES.glob('*.dcm')):
        if f.stat().st_size > 200_000: continue
        try: ds = pydicom.dcmread(f, stop_before_pixels=True); ts = str(ds.file_meta.TransferSyntaxUID)
        except Exception: continue
        if per_ts.setdefault(ts, 0) < 3: per_ts[ts] += 1; out.append(f)
    for i in range(4):
        a = (rng.random((48, 40)) * 255).astype(np.uint8)
        for ext in ('png', 'jpg'): Image.fromarray(a).save(folder/f'made{i}.{ext}'); out.append(folder/f'made{i}.{ext}')
    out += [write_nifti(folder/'head.nii.gz', brain_volume()), write_nifti(folder/'head.nii', brain_volume(seed=1))]
    return out, len(per_ts)

def damage(b:bytes, how:str, rng):
    "One seeded mutation of a file's bytes"
    a = bytearray(b); n = len(a)
    if how == 'flip':
        for i in rng.integers(0, n, rng.integers(1, 40)): a[i] ^= int(rng.integers(1, 256))
    elif how == 'truncate': a = a[:int(rng.integers(1, n))]
    elif how == 'header':   # the header of a format (PNG/JPEG start, DICOM's preamble and meta, NIfTI's 348 bytes)
        i = int(rng.integers(0, min(n, 600))); a[i:i + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
    elif how == 'duplicate':
        i, j = sorted(rng.integers(0, n, 2)); k = int(rng.integers(0, n)); a[k:k] = a[i:j + 1]
    elif how == 'tail': a = a[n // 2:] + a[:n // 2]
    return bytes(a)

def test_score_survives_a_fuzzed_folder(bundle, tmp_path):
    rng = np.random.default_rng(2026)
    (tmp_path/'good').mkdir(); good, n_syntaxes = sources(tmp_path/'good', rng)
    assert n_syntaxes >= 10 and len(good) >= 40   # every transfer syntax pydicom ships a single-frame file of
    bad = tmp_path/'bad'; bad.mkdir()
    for src in good:
        name = src.name[:-7] if src.name.endswith('.nii.gz') else src.stem
        ext = src.name[len(name):]
        for how in ('flip', 'flip', 'flip', 'truncate', 'truncate', 'header', 'duplicate', 'tail'):
            f = bad/f'{name}-{how}{len(list(bad.glob(f"{name}-{how}*")))}{ext}'
            f.write_bytes(damage(src.read_bytes(), how, rng))
    files = sorted(bad.iterdir())
    assert len(files) >= 300
    p = subprocess.run([*CMD, 'score', str(bundle), str(bad), '--out', str(tmp_path/'res')], capture_output=True,
                       text=True, timeout=900, env={**os.environ, 'MPLBACKEND': 'Agg'})
    assert p.returncode == 0, p.stderr[-3000:]
    for word in ('Traceback', 'panicked', 'Fatal Python error', 'Error'):
        assert word not in p.stderr, p.stderr[-3000:]
    sc, failed = pd.read_csv(tmp_path/'res'/'scores.csv'), pd.read_csv(tmp_path/'res'/'failed.csv')
    scored = set(sc['file']); listed = set(failed['file'])
    assert not scored & listed and scored | listed == {str(f) for f in files}   # each file once: scored or failed
    assert failed['file'].is_unique and np.isfinite(sc['score']).all() and np.isfinite(sc['score_paper']).all()
    assert failed['reason'].str.len().gt(3).all() and not failed['reason'].str.contains('\n').any()
    assert len(scored) > 30 and len(listed) > 30            # the fuzzer makes both
    print(f"{len(files)} damaged files: {len(scored)} scored, {len(listed)} failed")

@pytest.mark.parametrize('workers', [None, 0])
def test_decoders_that_die_hard(bundle, tmp_path, workers):
    from anomalypro.detector import AnomalyDetector
    from anomalypro.decode import register_reader, READERS
    fakes = dict(abort=R.read_abort, segv=R.read_segfault, kill=R.read_killed, panic=R.read_panic)
    for ext, fn in fakes.items(): register_reader(f'.{ext}', fn)
    try:
        d = tmp_path/'in'; d.mkdir()
        for i in range(6): Image.fromarray((np.random.default_rng(i).random((40, 40)) * 255).astype(np.uint8)).save(d/f'ok{i}.png')
        dying = ['panic'] if workers == 0 else list(fakes)     # in one process, only the panic can be survived
        for ext in dying: (d/f'x.{ext}').write_bytes(b'\0' * 64)
        det = AnomalyDetector.load(bundle)
        rep = det.score_files([d], tmp_path/'res', workers=workers, progress=False, chunk=4)
        sc, failed = pd.read_csv(tmp_path/'res'/'scores.csv'), pd.read_csv(tmp_path/'res'/'failed.csv')
        assert sorted(Path(f).name for f in sc['file']) == [f'ok{i}.png' for i in range(6)]
        why = {Path(f).suffix[1:]: r for f, r in zip(failed['file'], failed['reason'])}
        assert set(why) == set(dying) and rep.n_images == 6
        assert 'PanicException' in why['panic']
        if workers is None:
            assert 'SIGABRT' in why['abort'] and 'SIGSEGV' in why['segv'] and 'SIGKILL' in why['kill']
            assert all('the second time alone' in why[k] for k in ('abort', 'segv', 'kill'))
    finally:
        for ext in fakes: READERS.pop(f'.{ext}', None)

def test_killed_score_resumes_without_scoring_twice(bundle, tmp_path):
    "SIGKILL in the middle of `anomalypro score` (no chance to clean up), then `--resume`: every file exactly once"
    import signal, time
    d = tmp_path/'in'
    for i in range(800):
        (d/f'{i // 100}').mkdir(parents=True, exist_ok=True)
        Image.fromarray((np.random.default_rng(i).random((32, 32)) * 255).astype(np.uint8)).save(d/f'{i // 100}'/f'{i}.png')
    (d/'broken.png').write_bytes(b'not a png')
    out, args = tmp_path/'res', [*CMD, 'score', str(bundle), str(d), '--out', str(tmp_path/'res'), '--chunk', '32', '--quiet']
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = time.time()
    while time.time() - t < 300 and p.poll() is None:
        if (out/'scores.csv').exists() and (out/'scores.csv').read_bytes().count(b'\n') > 100: break
        time.sleep(0.05)
    assert p.poll() is None, 'finished before it could be killed: give it more files'
    p.send_signal(signal.SIGKILL); p.wait()
    raw = (out/'scores.csv').read_bytes()
    before = pd.read_csv(io.BytesIO(raw[:raw.rfind(b'\n') + 1]))     # the rows written whole before the kill
    assert 100 <= len(before) < 800
    r = subprocess.run([*args, '--resume'], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert 'done by the earlier run, not scored again' in r.stdout
    sc, failed = pd.read_csv(out/'scores.csv'), pd.read_csv(out/'failed.csv')
    assert len(sc) == 800 and sc['file'].is_unique and np.isfinite(sc['score']).all()      # each image once
    assert failed['file'].tolist() == [str(d/'broken.png')]
    assert sc['heatmap'].is_unique and len(list((out/'heatmaps').rglob('*.png'))) == 800
    kept = before.merge(sc, on='file', suffixes=('', '_after'))       # the rows of the killed run are kept as they were
    assert len(kept) == len(before) and np.allclose(kept['score'], kept['score_after'])
