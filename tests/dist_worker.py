"""One training process for the distribution tests: `python dist_worker.py STRATEGY RUN_DIR ITERATIONS OUT.npz`.

Creates the strategy first (MultiWorkerMirroredStrategy must exist before TensorFlow runs anything), trains the
`quick` model with a global batch of 16 on fixed random images into RUN_DIR (resuming from its checkpoints), and
saves every variable of the training state to OUT.npz. Set ANOMALYPRO_CPU_DEVICES=2 for two logical CPU devices,
TF_CONFIG for a multi-worker run."""
import sys
import numpy as np
from anomalypro.distribute import make_strategy
from anomalypro.gan import HealthyGAN
from anomalypro.trainer import fit_run
from anomalypro.checkpoints import state_arrays
from anomalypro.core import preset

strategy_name, run, iterations, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
strategy = make_strategy(strategy_name)
cfg = preset('quick', batch_size=16, checkpoint_every=4)
rng = np.random.default_rng(0)
A = rng.integers(0, 256, (40, 32, 32, 1), dtype=np.uint8); B = rng.integers(0, 256, (24, 32, 32, 1), dtype=np.uint8)
gan = HealthyGAN.create(cfg, strategy)
fit_run(gan, A, B, run, iterations=iterations, progress=False, tensorboard=False)
np.savez(out, replicas=strategy.num_replicas_in_sync, traces=gan.train_step_traces, **state_arrays(gan))
print(f'done: {type(strategy).__name__}, {strategy.num_replicas_in_sync} replica(s), iteration {int(gan.iteration.numpy())}')
