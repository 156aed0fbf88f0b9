#!/usr/bin/env python
"""Benchmark: training, inference and input-pipeline throughput and peak memory per configuration.

    python bench/bench.py                      # the default configurations, one subprocess each
    python bench/bench.py --configs cpu@64     # just one
    python bench/bench.py --json out.json      # also write the records

Pipeline images/s: pairs per second the tf.data stream delivers from a uint8 store (the trainer's input). Decode
images/s: 224x224 JPEGs decoded, cropped and resized into a store (done once per data set, then cached).
Each configuration runs in its own process so that its peak memory (max RSS) is its own. A record (JSON) is
printed per configuration, then a table. Training images/s counts pairs (x_A, x_B) per second: one iteration is
one critic update on `batch_size` pairs (plus a generator update every `n_critic` iterations), averaged over whole
n_critic cycles. This is a benchmark, not a test: figures vary with the machine and its load.
"""
import argparse, json, os, platform, resource, subprocess, sys, time

DEFAULT = ['cpu@64', 'cpu@128']

def run_one(spec, steps, infer_n):
    import numpy as np
    from anomalypro.core import preset, tf, keras
    from anomalypro.trainer import HealthyGAN
    from anomalypro.pipeline import pair_dataset
    name, size = spec.split('@')
    cfg = preset(name, image_size=int(size), iterations=100_000, decay_iters=1000, log_every=1, checkpoint_every=1000, sample_every=1000)
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (512, cfg.image_size, cfg.image_size, cfg.channels), dtype=np.uint8)
    b = rng.integers(0, 256, (512, cfg.image_size, cfg.image_size, cfg.channels), dtype=np.uint8)
    # input pipeline alone
    ds = pair_dataset(a, b, cfg.batch_size, seed=0)
    it = iter(ds); next(it)
    n_pipe = 200; t = time.perf_counter()
    for _ in range(n_pipe): next(it)
    pipe = n_pipe * cfg.batch_size / (time.perf_counter() - t)
    # decoding + preprocessing real-format files into a uint8 store (once per data set; then cached)
    import tempfile
    from PIL import Image
    from anomalypro.io import build_store, preprocess_cxr
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(200):
            img = (rng.random((224, 224)) * 60 + np.linspace(60, 190, 224)[None]).astype(np.uint8)
            paths.append(f'{tmp}/{i}.jpeg'); Image.fromarray(img).convert('RGB').save(paths[-1], quality=90)
        t = time.perf_counter()
        build_store(paths, lambda im: preprocess_cxr(im, cfg.image_size, channels=cfg.channels), channels=cfg.channels, progress=False)
        decode = len(paths) / (time.perf_counter() - t)
    # training through Keras fit, as a run does
    gan = HealthyGAN.create(cfg)
    ds = pair_dataset(a, b, cfg.batch_size, seed=0)
    warm = 2 * cfg.n_critic
    gan.fit(ds, epochs=1, steps_per_epoch=warm, verbose=0, shuffle=False)
    steps = max(cfg.n_critic, steps // cfg.n_critic * cfg.n_critic)
    t = time.perf_counter()
    gan.fit(ds, epochs=2, initial_epoch=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    train_s = time.perf_counter() - t
    # inference (scoring, batches of 64)
    x = a[:infer_n]
    gan.score(x[:64])
    t = time.perf_counter(); gan.score(x, batch_size=64); infer = len(x) / (time.perf_counter() - t)
    return dict(config=spec, image_size=cfg.image_size, conv_dim=cfg.conv_dim, repeat_num=cfg.repeat_num,
                d_repeat_num=cfg.d_repeat_num, batch_size=cfg.batch_size,
                generator_params=gan.generator.count_params(), critic_params=gan.critic.count_params(),
                train_steps=steps, train_s_per_iter=round(train_s / steps, 4),
                train_iters_per_s=round(steps / train_s, 3), train_images_per_s=round(steps * cfg.batch_size / train_s, 1),
                inference_images_per_s=round(infer, 1), pipeline_images_per_s=round(pipe, 1),
                decode_images_per_s=round(decode, 1),
                peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                train_step_traces=gan.train_step_traces)

def machine():
    from anomalypro.core import tf
    onednn = os.environ.get('TF_ENABLE_ONEDNN_OPTS', '1') != '0'
    return dict(python=platform.python_version(), cpus=os.cpu_count(), tensorflow=tf.__version__,
                gpus=len(tf.config.list_physical_devices('GPU')), onednn=onednn, machine=platform.machine())

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--configs', nargs='*', default=DEFAULT, help='preset@size, e.g. cpu@64 paper@128')
    ap.add_argument('--steps', type=int, default=20, help='timed training iterations per configuration')
    ap.add_argument('--infer', type=int, default=512, help='images scored for the inference figure')
    ap.add_argument('--json', help='also write all records to this file')
    ap.add_argument('--one', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.steps, args.infer))); return
    recs = []
    for spec in args.configs:
        p = subprocess.run([sys.executable, __file__, '--one', spec, '--steps', str(args.steps), '--infer', str(args.infer)],
                           capture_output=True, text=True)
        if p.returncode:
            print(f'{spec}: failed\n{p.stderr[-3000:]}', file=sys.stderr); continue
        rec = json.loads(p.stdout.strip().splitlines()[-1])
        recs.append(rec); print(json.dumps(rec), flush=True)
    m = machine()
    print(f"\nmachine: {json.dumps(m)}")
    cols = ['config', 'train_s_per_iter', 'train_images_per_s', 'inference_images_per_s', 'pipeline_images_per_s',
            'decode_images_per_s', 'peak_rss_mb']
    print(' | '.join(cols)); print(' | '.join('---' for _ in cols))
    for r in recs: print(' | '.join(str(r[c]) for c in cols))
    if args.json:
        with open(args.json, 'w') as f: json.dump(dict(machine=m, records=recs), f, indent=1)

if __name__ == '__main__': main()
