"""Fault injection: SIGKILL at random moments then resume, corrupt checkpoints, NaN, preflight, interrupts.

Every test ends by checking that nothing was lost: the checkpoints that existed are byte-identical (or the run,
resumed, equals an uninterrupted one: same logged losses, same final training state)."""
import errno, hashlib, io, json, os, queue, re, shutil, signal, subprocess, sys, threading, time
from pathlib import Path
import numpy as np, pandas as pd, pytest
from anomalypro.core import preset, AnomalyProError
from anomalypro.backend import keras
from anomalypro.gan import HealthyGAN, LOSS_NAMES
from anomalypro.trainer import fit_run, load_generator
from anomalypro.checkpoints import (list_checkpoints, load_checkpoint, save_checkpoint, checkpoint_nbytes,
                                    check_disk_space, NonFiniteLossError, RunLock)

ROOT = Path(__file__).resolve().parents[1]
CFG = preset('quick', checkpoint_every=2, keep_checkpoints=2)   # a checkpoint after every logged interval
STEPS = list(range(CFG.log_every, CFG.iterations + 1, CFG.log_every))
RNG = np.random.default_rng(0)
A = RNG.integers(0, 256, (24, 32, 32, 1), dtype=np.uint8); B = RNG.integers(0, 256, (16, 32, 32, 1), dtype=np.uint8)

@pytest.fixture(scope='module')
def model(tmp_path_factory):
    """One model for the in-process tests, so that its training step is traced once. `fresh()` puts it back in its
    initial state: every run starts from there, and a resume then overwrites the whole state from the checkpoint
    (resuming in a new process is what the SIGKILL test does)."""
    gan = HealthyGAN.create(CFG)
    init = save_checkpoint(gan, tmp_path_factory.mktemp('init'))
    def fresh():
        load_checkpoint(gan, init); return gan
    gan.fresh = fresh
    return gan

def train(run, gan, **kw):
    "Train `gan`, reset to its initial state, into `run` (resuming from the checkpoints there)"
    fit_run(gan.fresh(), A, B, run, progress=False, tensorboard=False, **kw)
    return gan

def ckpt(run, step): return Path(run)/'checkpoints'/f'ckpt-{step:09d}.npz'

def snapshot(run):
    "Name -> (SHA-256, mtime) of every file in the checkpoint folder"
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted((Path(run)/'checkpoints').iterdir())}

def leftovers(run):
    "Temporary or quarantined files anywhere in the run folder (the lock file excepted)"
    return sorted(str(p.relative_to(run)) for p in Path(run).rglob('*')
                  if p.name != '.lock' and (p.name.startswith('.') or p.name.endswith('.corrupt')))

def same_as_reference(run, ref):
    "The logged losses and the final training state (weights, optimizers, counters) equal the reference run's"
    a, b = pd.read_csv(ref/'log.csv'), pd.read_csv(run/'log.csv')
    assert list(b.step) == list(a.step) == STEPS
    np.testing.assert_allclose(b[list(LOSS_NAMES)].values, a[list(LOSS_NAMES)].values, rtol=1e-6, atol=1e-7)
    with np.load(ckpt(ref, 20)) as x, np.load(ckpt(run, 20)) as y:
        assert x.files == y.files
        for k in x.files: np.testing.assert_allclose(y[k], x[k], atol=1e-6, err_msg=k)

@pytest.fixture(scope='module')
def reference(tmp_path_factory, model):
    "An uninterrupted run"
    run = tmp_path_factory.mktemp('reference')
    train(run, model)
    assert [p.name for p in list_checkpoints(run/'checkpoints')] == ['ckpt-000000018.npz', 'ckpt-000000020.npz']
    return run

# ---------------------------------------------------------------- kill -9 at random moments

CHILD = r'''
import io, os, sys, time
import numpy as np
run_dir, pause = sys.argv[1], float(sys.argv[2])
from anomalypro.core import preset
from anomalypro.backend import keras
from anomalypro.gan import HealthyGAN
from anomalypro.trainer import fit_run
if pause:   # widen two windows of every checkpoint write, and say when the process is in them
    savez, replace = np.savez, os.replace
    def slow_savez(f, **arrays):
        buf = io.BytesIO(); savez(buf, **arrays); data = buf.getvalue()
        f.write(data[:len(data) // 2]); f.flush(); print('save-mid', flush=True); time.sleep(pause); f.write(data[len(data) // 2:])
    def slow_replace(src, dst):
        replace(src, dst)
        if str(dst).endswith('.json'): print('save-json', flush=True); time.sleep(pause)
    np.savez, os.replace = slow_savez, slow_replace
class Report(keras.callbacks.Callback):
    def on_train_begin(self, logs=None): print('start', int(self.model.iteration.numpy()), flush=True)
    def on_train_batch_end(self, batch, logs=None): print('step', int(self.model.iteration.numpy()), flush=True)
cfg = preset('quick', checkpoint_every=2, keep_checkpoints=2)
rng = np.random.default_rng(0)
A = rng.integers(0, 256, (24, 32, 32, 1), dtype=np.uint8); B = rng.integers(0, 256, (16, 32, 32, 1), dtype=np.uint8)
gan = HealthyGAN.create(cfg)
fit_run(gan, A, B, run_dir, progress=False, tensorboard=False, callbacks=[Report()])
print('done', flush=True)
'''

def run_child(script, run, pause=0.0, kill=None, log=None):
    """Run the training script on `run`. `kill` = (what, n, delay): SIGKILL it `delay` s after its `n`-th output line
    starting with `what` ('spawn': `delay` s after it starts). Returns (output lines, whether it was killed)."""
    with open(log, 'a') as err:
        p = subprocess.Popen([sys.executable, str(script), str(run), str(pause)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=err, text=True)
    q = queue.Queue()
    threading.Thread(target=lambda: [q.put(l.split()) for l in p.stdout] + [q.put(None)], daemon=True).start()
    what, n, delay = kill or (None, 0, 0.)
    lines, seen, line = [], 0, []
    if what == 'spawn': time.sleep(delay)
    else:
        while (line := q.get(timeout=300)) is not None:
            lines.append(line)
            if line[:1] == [what] and (seen := seen + 1) == n:
                time.sleep(delay); break
    killed = what is not None and p.poll() is None
    if killed: p.send_signal(signal.SIGKILL)
    p.wait(timeout=300)
    while line is not None and (line := q.get(timeout=60)) is not None: lines.append(line)
    assert killed or p.returncode == 0, f"training process failed ({p.returncode}):\n{Path(log).read_text()[-3000:]}"
    return lines, killed

def newest_complete(run):
    "The iteration of the newest checkpoint whose sidecar exists and whose checksum matches (0: none)"
    for p in reversed(list_checkpoints(Path(run)/'checkpoints')):
        try: meta = json.loads(p.with_suffix('.json').read_text())
        except OSError: continue
        if hashlib.sha256(p.read_bytes()).hexdigest() == meta['sha256']: return meta['iteration']
    return 0

def test_sigkill_at_random_moments_then_resume_equals_uninterrupted(reference, tmp_path):
    script = tmp_path/'train_child.py'; script.write_text(CHILD)
    run, log = tmp_path/'run', tmp_path/'child.err'
    rng = np.random.default_rng(8)
    plan = [('spawn', 0, rng.uniform(0.5, 5.0)),            # during start-up: imports, building, restoring
            ('step', int(rng.integers(1, 4)), rng.uniform(0, 0.5)),  # somewhere in training
            ('step', int(rng.integers(1, 4)), rng.uniform(0, 0.5)),
            ('save-mid', int(rng.integers(1, 3)), 0.),       # half of a checkpoint's .npz written
            ('save-json', int(rng.integers(1, 3)), 0.)]      # sidecar renamed, checkpoint not yet
    plan = [plan[i] for i in rng.permutation(len(plan))]
    kills = 0
    for what, n, delay in plan:
        expect = newest_complete(run)
        lines, killed = run_child(script, run, pause=0.2, kill=(what, n, delay), log=log)
        assert killed, f"the process ended before the kill {what, n, delay}: {lines}"
        kills += 1
        starts = [int(l[1]) for l in lines if l[:1] == ['start']]
        assert starts in ([], [expect])                      # it resumed from the newest complete checkpoint
        cdir = run/'checkpoints'
        if what == 'save-mid': assert list(cdir.glob('.ckpt-*.npz.tmp'))          # killed inside the write
        if what == 'save-json': assert [p for p in cdir.glob('ckpt-*.json') if not p.with_suffix('.npz').exists()]
    expect = newest_complete(run)
    lines, killed = run_child(script, run, log=log)
    assert not killed and ['done'] in lines and [l for l in lines if l[:1] == ['start']] == [['start', str(expect)]]
    assert kills == len(plan) == 5
    same_as_reference(run, reference)
    assert leftovers(run) == []                              # temporary files of the killed writes were removed
    assert sorted(p.name for p in (run/'samples').iterdir()) == ['sample-000000010.png', 'sample-000000020.png']
    assert load_generator(run/'generator.keras') is not None
    print(f"\n{kills} SIGKILLs ({', '.join(w for w, *_ in plan)}) survived; resumed run equals the uninterrupted one")

# ---------------------------------------------------------------- corrupt checkpoints

def copy_run(src, dst):
    shutil.copytree(src, dst)
    return dst

@pytest.mark.parametrize('fault', ['truncated', 'sidecar deleted'])
def test_corrupt_newest_checkpoint_falls_back(reference, model, tmp_path, fault):
    run = copy_run(reference, tmp_path/'run')
    newest = ckpt(run, 20)
    (run/'generator.keras').unlink()
    if fault == 'truncated': newest.write_bytes(newest.read_bytes()[:newest.stat().st_size // 2])
    else: newest.with_suffix('.json').unlink()
    older = snapshot(run)['ckpt-000000018.npz']
    with pytest.warns(UserWarning) as w:
        train(run, model)
    msgs = [str(m.message) for m in w]
    why = 'checksum mismatch' if fault == 'truncated' else 'missing or unreadable checksum sidecar'
    assert any(newest.name in m and why in m and 'falling back' in m for m in msgs), msgs
    assert any('resuming from iteration 18' in m and '*.corrupt' in m for m in msgs), msgs
    assert (run/'checkpoints'/(newest.name + '.corrupt')).exists()        # kept for inspection, never loaded again
    assert snapshot(run)['ckpt-000000018.npz'] == older                  # the checkpoint resumed from is untouched
    assert (run/'generator.keras').exists()
    same_as_reference(run, reference)

def test_flipped_byte_is_detected(reference, model, tmp_path):
    run = copy_run(reference, tmp_path/'run')
    data = bytearray(ckpt(run, 20).read_bytes()); data[len(data) // 2] ^= 0xFF; ckpt(run, 20).write_bytes(bytes(data))
    with pytest.raises(AnomalyProError, match='ckpt-000000020.npz: checksum mismatch'):
        load_checkpoint(model, ckpt(run, 20))

def test_no_loadable_checkpoint_refuses_to_start_over(reference, model, tmp_path):
    run = copy_run(reference, tmp_path/'run')
    for s in (18, 20): ckpt(run, s).write_bytes(b'garbage')
    before = snapshot(run)
    gan = model.fresh()
    with pytest.warns(UserWarning), pytest.raises(AnomalyProError, match='none of the 2 checkpoints .* can be loaded'):
        fit_run(gan, A, B, run, progress=False)
    assert snapshot(run) == before and int(gan.iteration.numpy()) == 0   # nothing deleted, nothing trained

# ---------------------------------------------------------------- NaN

class Poison(keras.callbacks.Callback):
    "Fill the critic's first kernel with NaN just before iteration `before` runs (or just after `after` ran)"
    def __init__(self, run, before=None, after=None): super().__init__(); self.run, self.before, self.after, self.snap = run, before, after, None
    def _poison(self):
        self.snap = snapshot(self.run)   # the checkpoint folder as it was before the fault
        w = self.model.critic.weights[0]; w.assign(np.full(w.shape, np.nan, 'float32'))
    def on_train_batch_begin(self, batch, logs=None):
        if int(self.model.iteration.numpy()) + 1 == self.before: self._poison()
    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.iteration.numpy()) == self.after: self._poison()

def test_nan_stops_training_and_keeps_the_last_good_checkpoint(reference, model, tmp_path):
    run = tmp_path/'run'
    train(run, model, iterations=10)
    # 1. NaN in the state right after iteration 12 (its losses were finite): the checkpoint of iteration 12 is refused
    p = Poison(run, after=12)
    with pytest.raises(NonFiniteLossError, match=r'refusing to write .*ckpt-000000012.npz.*critic/0000'):
        train(run, model, callbacks=[p])
    assert snapshot(run) == p.snap and [c.name for c in list_checkpoints(run/'checkpoints')][-1] == 'ckpt-000000010.npz'
    # 2. NaN losses from iteration 13 on: training stops after that step (iterations 13-14), naming it and the terms
    p = Poison(run, before=13)
    with pytest.raises(NonFiniteLossError) as e:
        train(run, model, callbacks=[p])
    msg = str(e.value)
    assert 'in iterations 13-14;' in msg and 'd_loss' in msg and 'the newest checkpoint ckpt-000000012.npz is untouched' in msg, msg
    assert snapshot(run) == p.snap                                       # byte-identical, same mtimes, nothing newer
    assert list(pd.read_csv(run/'log.csv').step) == [2, 4, 6, 8, 10, 12]
    # 3. no data lost: resuming (a fresh process would) finishes exactly like an uninterrupted run
    train(run, model)
    same_as_reference(run, reference)

def test_diverging_learning_rate_stops_without_writing_a_bad_checkpoint(tmp_path):
    cfg = CFG.replace(g_lr=1e3, d_lr=1e3)
    gan = HealthyGAN.create(cfg)
    with pytest.raises(NonFiniteLossError, match=r'non-finite .* in iterations \d+-\d+;|refusing to write'):
        fit_run(gan, A, B, tmp_path, progress=False, tensorboard=False)
    for p in list_checkpoints(tmp_path/'checkpoints'):                   # whatever was written is loadable and finite
        load_checkpoint(gan, p)
        with np.load(p) as z: assert all(np.isfinite(z[k]).all() for k in z.files if z[k].dtype.kind == 'f')
    assert leftovers(tmp_path) == []

# ---------------------------------------------------------------- preflight

def test_output_folder_not_writable(model, tmp_path, monkeypatch):
    run = tmp_path/'run'
    real = os.access
    monkeypatch.setattr(os, 'access', lambda p, mode, **kw: False if Path(p) == run else real(p, mode, **kw))
    gan = model.fresh()
    with pytest.raises(AnomalyProError, match=re.escape(f'the output folder {run} is not writable')):
        fit_run(gan, A, B, run, progress=False)
    assert list(run.iterdir()) == [] and int(gan.iteration.numpy()) == 0

def test_output_folder_under_a_file(model, tmp_path):
    (tmp_path/'a-file').write_text('x')
    with pytest.raises(AnomalyProError, match=re.escape(f'cannot create the output folder {tmp_path}/a-file/run')):
        fit_run(model.fresh(), A, B, tmp_path/'a-file'/'run', progress=False)

def test_disk_without_room_is_reported_before_training(model, tmp_path, monkeypatch):
    from collections import namedtuple
    Usage = namedtuple('Usage', 'total used free')
    monkeypatch.setattr(shutil, 'disk_usage', lambda p: Usage(10**9, 10**9 - 2**20, 2**20))   # 1 MB free
    gan = model.fresh()
    size = checkpoint_nbytes(gan)
    with pytest.raises(AnomalyProError) as e:
        fit_run(gan, A, B, tmp_path, progress=False)
    msg = str(e.value)
    assert 'not enough disk space' in msg and '1.0 MB free' in msg and f'3 checkpoint(s) of {size / 2**20:,.1f} MB' in msg, msg
    assert int(gan.iteration.numpy()) == 0 and not (tmp_path/'log.csv').exists() and not list_checkpoints(tmp_path/'checkpoints')
    # checkpoints already on disk count: with keep_checkpoints=2 on disk only one more is needed
    margin = 1000
    monkeypatch.setattr(shutil, 'disk_usage', lambda p: Usage(10**9, 0, size + margin))
    with pytest.raises(AnomalyProError, match='3 checkpoint'): check_disk_space(gan, tmp_path/'checkpoints', margin=margin)
    for _ in range(2): save_checkpoint(gan, tmp_path/'checkpoints'); gan.iteration.assign_add(2)
    assert check_disk_space(gan, tmp_path/'checkpoints', margin=margin) == size + margin

def test_disk_full_while_writing_a_checkpoint(model, tmp_path, monkeypatch):
    real = np.savez
    def full_at_12(f, **arrays):
        if int(arrays['iteration/0000']) == 12: f.write(b'partial'); raise OSError(errno.ENOSPC, 'No space left on device')
        return real(f, **arrays)
    monkeypatch.setattr(np, 'savez', full_at_12)
    with pytest.raises(AnomalyProError, match=r'could not write checkpoint .*ckpt-000000012.npz .*No space left on device'):
        train(tmp_path, model)
    assert [p.name for p in list_checkpoints(tmp_path/'checkpoints')] == ['ckpt-000000008.npz', 'ckpt-000000010.npz']
    load_checkpoint(model, ckpt(tmp_path, 10))
    assert leftovers(tmp_path) == []                                     # the partial file was removed

def test_run_folder_in_use(model, tmp_path):
    gan = model.fresh()
    with RunLock(tmp_path):
        with pytest.raises(AnomalyProError, match='in use by another training process'):
            fit_run(gan, A, B, tmp_path, progress=False)
    assert int(gan.iteration.numpy()) == 0

# ---------------------------------------------------------------- KeyboardInterrupt

class Interrupt(keras.callbacks.Callback):
    def __init__(self, at): super().__init__(); self.at = at
    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.iteration.numpy()) == self.at: raise KeyboardInterrupt

def test_keyboard_interrupt_loses_nothing(reference, model, tmp_path, monkeypatch, capsys):
    run = tmp_path/'run'
    # 1. Ctrl-C after a step, before its interval is logged and checkpointed
    with pytest.raises(KeyboardInterrupt): train(run, model, callbacks=[Interrupt(14)])
    assert 'interrupted at iteration 14; the newest checkpoint is ckpt-000000012.npz' in capsys.readouterr().err
    before = snapshot(run)
    load_checkpoint(model, ckpt(run, 12))
    assert list(pd.read_csv(run/'log.csv').step) == [2, 4, 6, 8, 10, 12]
    # 2. Ctrl-C while a checkpoint is being written (half of the file is out)
    real = np.savez
    def interrupted(f, **arrays):
        if int(arrays['iteration/0000']) == 14:
            buf = io.BytesIO(); real(buf, **arrays); f.write(buf.getvalue()[:1000]); raise KeyboardInterrupt
        return real(f, **arrays)
    monkeypatch.setattr(np, 'savez', interrupted)
    with pytest.raises(KeyboardInterrupt): train(run, model)
    monkeypatch.undo()
    assert snapshot(run) == before and leftovers(run) == []               # no half checkpoint, the others untouched
    assert list(pd.read_csv(run/'log.csv').step) == [2, 4, 6, 8, 10, 12, 14]   # the row of 14 is dropped on resume
    train(run, model)
    same_as_reference(run, reference)
