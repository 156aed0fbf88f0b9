"Training behaviour that is awkward to show in a notebook: whole short runs, determinism, resume, save/load."
import numpy as np, pandas as pd, pytest
from anomalypro.core import preset
from anomalypro.backend import keras
from anomalypro.gan import HealthyGAN, LOSS_NAMES
from anomalypro.trainer import fit_run, load_gan, load_generator
from anomalypro.checkpoints import list_checkpoints

CFG = preset('quick')

@pytest.fixture(scope='module')
def images():
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (24, 32, 32, 1), dtype=np.uint8), rng.integers(0, 256, (16, 32, 32, 1), dtype=np.uint8))

def losses(run):
    return pd.read_csv(run/'log.csv')[['step', *LOSS_NAMES]]

@pytest.fixture(scope='module')
def full_run(images, tmp_path_factory):
    run = tmp_path_factory.mktemp('full')
    gan = HealthyGAN.create(CFG)
    fit_run(gan, *images, run, progress=False)
    return gan, run

def test_short_training_finishes_with_finite_losses(full_run):
    gan, run = full_run
    log = losses(run)
    assert list(log.step) == list(range(CFG.log_every, CFG.iterations + 1, CFG.log_every))
    assert np.isfinite(log.values).all() and (log.mask_mean.between(0, 1)).all()
    assert int(gan.iteration.numpy()) == CFG.iterations and gan.train_step_traces == 1
    assert sorted(p.name for p in (run/'samples').iterdir()) == ['sample-000000010.png', 'sample-000000020.png']
    assert (run/'generator.keras').exists() and (run/'tensorboard').is_dir() and (run/'config.yaml').exists()

def test_same_seed_same_losses(full_run, images, tmp_path):
    gan, run = full_run
    fit_run(HealthyGAN.create(CFG), *images, tmp_path/'again', progress=False)
    assert np.array_equal(losses(run).values, losses(tmp_path/'again').values)

def test_other_seed_other_losses(full_run, images, tmp_path):
    _, run = full_run
    fit_run(HealthyGAN.create(CFG.replace(seed=1)), *images, tmp_path/'other', progress=False)
    assert not np.allclose(losses(run).values[:, 1:], losses(tmp_path/'other').values[:, 1:])

def test_crash_and_resume_equals_uninterrupted(full_run, images, tmp_path):
    gan, run = full_run
    crashed = HealthyGAN.create(CFG)
    fit_run(crashed, *images, tmp_path, iterations=14, progress=False)   # "crashes" after 14: newest checkpoint is 10
    assert [p.name for p in list_checkpoints(tmp_path/'checkpoints')] == ['ckpt-000000010.npz']
    resumed = HealthyGAN.create(CFG)                                      # a fresh process would build a fresh model
    fit_run(resumed, *images, tmp_path, progress=False)
    a, b = losses(run), losses(tmp_path)
    assert list(b.step) == list(a.step)                                   # rows 12 and 14 of the crashed run were replaced
    np.testing.assert_allclose(a.values, b.values, rtol=1e-6, atol=1e-7)
    for p, q in zip(gan.weights, resumed.weights): np.testing.assert_allclose(p.numpy(), q.numpy(), atol=1e-6)

def test_restoration_lever_resumes_exactly(images, tmp_path):
    "The restoration lever's noise is drawn from (seed, iteration): a crashed and resumed run equals an uninterrupted one"
    cfg = CFG.replace(lambda_restore=10., restore_noise=0.5, restore_grid=4, restore_area=0.3)
    fit_run(HealthyGAN.create(cfg), *images, tmp_path/'full', progress=False)
    fit_run(HealthyGAN.create(cfg), *images, tmp_path/'crash', iterations=14, progress=False)
    fit_run(HealthyGAN.create(cfg), *images, tmp_path/'crash', progress=False)   # resumed from the checkpoint at 10
    a, b = losses(tmp_path/'full'), losses(tmp_path/'crash')
    assert (a.g_restore > 0).all() and list(a.step) == list(b.step)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-6, atol=1e-7)

def test_finished_run_is_not_retrained(full_run, images, capsys):
    gan, run = full_run
    assert fit_run(HealthyGAN.create(CFG), *images, run, progress=False) is None
    assert 'already trained' in capsys.readouterr().out

def test_fresh_run_refuses_existing_checkpoints(full_run, images):
    _, run = full_run
    with pytest.raises(FileExistsError, match='checkpoints of an earlier run'):
        fit_run(HealthyGAN.create(CFG), *images, run, resume=False, progress=False)

def test_keras_round_trip_safe_mode(full_run, images, tmp_path):
    gan, run = full_run
    x = images[0][:5]
    gan.save(tmp_path/'gan.keras')
    back = load_gan(tmp_path/'gan.keras')
    assert back.cfg == gan.cfg
    for p, q in zip(back.translate(x), gan.translate(x)): assert np.array_equal(p, q)
    g = load_generator(run/'generator.keras')
    assert np.array_equal(np.asarray(g(gan_input(x))[0]), gan.translate(x)[0])

def gan_input(x): return x.astype('float32') / 127.5 - 1

def test_score_is_mean_abs_difference(full_run, images):
    gan, _ = full_run
    x = images[1][:6]
    out = gan.translate(x)[0]
    np.testing.assert_allclose(gan.score(x), np.abs(gan_input(x) - out).mean(axis=(1, 2, 3)) / 2, atol=1e-6)
    assert ((gan.score(x) >= 0) & (gan.score(x) <= 1)).all()
