#!/usr/bin/env python
"""Benchmark: training, inference and input-pipeline throughput, peak memory and FLOP utilisation per configuration.

    python bench/bench.py                                  # cpu@64, cpu@128, paper@128; one subprocess each
    python bench/bench.py --configs cpu@128 --steps 10     # one configuration, more timed steps
    python bench/bench.py --convs keras                    # Keras' own conv gradients (the "before" of the fast ones)
    python bench/bench.py --xla on --precision mixed_bfloat16
    python bench/bench.py --json out.json                  # also write the records

What each figure is (one JSON record per configuration, then a table):

- training: one `train_step` is `n_critic` critic iterations and one generator update on `batch_size` pairs each;
  `train_s_per_iter` is the median step time over the timed steps divided by `n_critic` (the first step, which traces
  and compiles, is not timed). Training images/s counts both images of every pair: 2 x batch_size / s_per_iter.
- FLOPs: counted on the traced training step, for every convolution and its two gradients (Conv2D,
  Conv2DBackpropInput, Conv2DBackpropFilter) and matrix product, as 2 x multiply-adds; elementwise work is not counted,
  so the utilisation is, if anything, an underestimate. `train_gflops_per_s` = FLOPs per step / median step time.
- peak: the best of 5 timed float32 matrix products of 1024, 2048 and 4096 squared, measured in the same process just
  before training; `utilisation` = train_gflops_per_s / peak_gflops_per_s.
- inference images/s: `HealthyGAN.score` (the compiled generator, batches of 64) on 256 images;
  `flop_bound_inference_x_training` is the ratio inference images/s : training images/s that the FLOP counts allow
  at equal FLOP/s (training FLOPs per image / one generator pass).
- pipeline images/s: the training input stream (`train_dataset`: uint8 store -> float pairs, flips, grouping),
  consumed alone, counting both images of every pair.
- peak memory: the process's maximum resident set (training, scoring and the test arrays together); on a GPU also
  the device's peak allocation.

Each configuration runs in its own process, so that its peak memory is its own. This is a benchmark, not a test:
the figures vary with the machine and its load (this project's CPU machines are shared VMs: expect +-10%).
"""
import argparse, json, os, platform, resource, statistics, subprocess, sys, time

DEFAULT = ['cpu@64', 'cpu@128', 'paper@128']

def graph_flops(g):
    "FLOPs of a traced graph: convolutions, their gradients and matrix products (2 x multiply-adds); (total, by op type)"
    import numpy as np
    total, by = 0.0, {}
    def n(shape): return float(np.prod([int(d) for d in shape]))
    for op in g.get_operations():
        t = op.type
        if t == 'Conv2D': f = 2 * n(op.outputs[0].shape) * n(op.inputs[1].shape[:3])
        elif t == 'Conv2DBackpropInput':
            k, s = op.inputs[1].shape, op.get_attr('strides'); f = 2 * n(op.outputs[0].shape) * k[0] * k[1] * k[3] / (s[1] * s[2])
        elif t == 'Conv2DBackpropFilter':
            k, s = op.outputs[0].shape, op.get_attr('strides'); f = 2 * n(op.inputs[0].shape) * k[0] * k[1] * k[3] / (s[1] * s[2])
        elif t == 'MatMul':
            a = op.inputs[0].shape; f = 2 * n(op.outputs[0].shape) * int(a[0] if op.get_attr('transpose_a') else a[1])
        else: continue
        total += f; by[t] = by.get(t, 0) + f
    return total, by

def step_flops(gan, spec):
    "FLOPs of one training step"
    from anomalypro.core import tf
    g = tf.function(gan.train_step).get_concrete_function(spec).graph
    gan.train_step_traces -= 1   # this trace is the benchmark's, not the trainer's
    return graph_flops(g)

def inference_flops(gan):
    "FLOPs of the generator's forward pass on one image"
    from anomalypro.core import tf
    c = gan.cfg
    f = tf.function(lambda x: gan.generator(x, training=False))
    return graph_flops(f.get_concrete_function(tf.TensorSpec((1, c.image_size, c.image_size, c.channels), tf.float32)).graph)[0]

def matmul_peak():
    "Best float32 matrix-product FLOP/s of this machine, over sizes 1024, 2048, 4096 (GFLOP/s)"
    from anomalypro.core import tf
    best = 0.0
    for n in (1024, 2048, 4096):
        a, b = tf.random.normal((n, n)), tf.random.normal((n, n))
        mm = tf.function(lambda a, b: tf.matmul(a, b))
        mm(a, b).numpy()
        for _ in range(5):
            t = time.perf_counter(); mm(a, b).numpy(); best = max(best, 2 * n ** 3 / (time.perf_counter() - t) / 1e9)
    return best

def run_one(spec, steps, infer_n, convs, xla, precision):
    import numpy as np
    from anomalypro.core import preset, tf, keras
    from anomalypro.model import use_fast_gradients
    from anomalypro.trainer import HealthyGAN, train_dataset
    name, size = spec.split('@')
    cfg = preset(name, image_size=int(size), iterations=100_000, decay_iters=1000, checkpoint_every=1000, sample_every=1000,
                 log_every=preset(name).n_critic, jit_compile=preset(name).jit_compile if xla == 'preset' else xla,
                 precision=precision, strategy='none')
    rng = np.random.default_rng(0)
    n_img = 256
    a = rng.integers(0, 256, (n_img, cfg.image_size, cfg.image_size, cfg.channels), dtype=np.uint8)
    b = rng.integers(0, 256, (n_img, cfg.image_size, cfg.image_size, cfg.channels), dtype=np.uint8)
    # input pipeline alone
    it = iter(train_dataset(cfg, a, b)); next(it)
    n_pipe = max(10, 400 // (cfg.batch_size * cfg.n_critic)); t = time.perf_counter()
    for _ in range(n_pipe): next(it)
    pipe = n_pipe * 2 * cfg.batch_size * cfg.n_critic / (time.perf_counter() - t)
    del it
    peak = matmul_peak()
    # training through Keras fit, as a run does; every step timed by a callback
    gan = HealthyGAN.create(cfg)
    if convs == 'keras':   # the "before": Keras' own conv gradients (the layers fall back to Keras' ops)
        for m in (gan.generator, gan.critic): use_fast_gradients(m, False)
    ds = train_dataset(cfg, a, b)
    flops, by = step_flops(gan, ds.element_spec)
    times = []
    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None): self.t = time.perf_counter()
        def on_train_batch_end(self, batch, logs=None): times.append(time.perf_counter() - self.t)
    t0 = time.perf_counter()
    gan.fit(ds, epochs=1, steps_per_epoch=steps + 1, verbose=0, shuffle=False, callbacks=[Timer()])
    first = times[0]; step = statistics.median(times[1:])
    # inference (scoring, batches of 64)
    x = a[:infer_n]
    gan.score(x[:64])
    t = time.perf_counter(); gan.score(x, batch_size=64); infer = len(x) / (time.perf_counter() - t)
    s_iter = step / cfg.n_critic
    rec = dict(config=spec, convs=convs, xla=xla, jit_compile=bool(gan.jit_compile), precision=precision,
               image_size=cfg.image_size, batch_size=cfg.batch_size, n_critic=cfg.n_critic,
               generator_params=gan.generator.count_params(), critic_params=gan.critic.count_params(),
               timed_steps=steps, first_step_s=round(first, 2), train_s_per_step=round(step, 4),
               train_s_per_iter=round(s_iter, 4), train_iters_per_s=round(1 / s_iter, 3),
               train_images_per_s=round(2 * cfg.batch_size / s_iter, 1),
               gflop_per_iter=round(flops / cfg.n_critic / 1e9, 2),
               gflop_per_iter_by_op={k: round(v / cfg.n_critic / 1e9, 2) for k, v in sorted(by.items())},
               train_gflops_per_s=round(flops / step / 1e9, 1), peak_gflops_per_s=round(peak, 1),
               utilisation=round(flops / step / 1e9 / peak, 3),
               inference_images_per_s=round(infer, 1), pipeline_images_per_s=round(pipe, 1),
               peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
               train_step_traces=gan.train_step_traces)
    rec['pipeline_x_training'] = round(rec['pipeline_images_per_s'] / rec['train_images_per_s'], 1)
    rec['inference_x_training'] = round(rec['inference_images_per_s'] / rec['train_images_per_s'], 1)
    # what the FLOPs allow: training costs gflop_per_iter per 2 x batch images, inference one generator pass per image
    rec['inference_gflop_per_image'] = round(inference_flops(gan) / 1e9, 3)
    rec['flop_bound_inference_x_training'] = round(flops / cfg.n_critic / (2 * cfg.batch_size) / 1e9 / rec['inference_gflop_per_image'], 1)
    rec['inference_gflops_per_s'] = round(infer * rec['inference_gflop_per_image'], 1)
    if tf.config.list_physical_devices('GPU'):
        rec['gpu_peak_mb'] = round(tf.config.experimental.get_memory_info('GPU:0')['peak'] / 2**20, 1)
    return rec

def machine():
    from anomalypro.core import tf
    import keras
    onednn = os.environ.get('TF_ENABLE_ONEDNN_OPTS', '1') != '0'
    gpus = tf.config.list_physical_devices('GPU')
    names = [tf.config.experimental.get_device_details(g).get('device_name', '?') for g in gpus]
    return dict(python=platform.python_version(), cpus=os.cpu_count(), tensorflow=tf.__version__, keras=keras.__version__,
                gpus=names, onednn=onednn, machine=platform.machine(), processor=platform.processor() or None)

COLS = ['config', 'convs', 'xla', 'precision', 'train_s_per_iter', 'train_images_per_s', 'gflop_per_iter', 'train_gflops_per_s',
        'peak_gflops_per_s', 'utilisation', 'inference_images_per_s', 'inference_x_training', 'flop_bound_inference_x_training',
        'pipeline_images_per_s', 'pipeline_x_training', 'peak_rss_mb']

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--configs', nargs='*', default=DEFAULT, help='preset@size, e.g. cpu@64 paper@128')
    ap.add_argument('--steps', type=int, default=6, help='timed training steps (n_critic iterations each) per configuration; paper@* uses 2')
    ap.add_argument('--infer', type=int, default=256, help='images scored for the inference figure')
    ap.add_argument('--convs', choices=['fast', 'keras'], default='fast', help="the generator's and critic's conv layers")
    ap.add_argument('--xla', choices=['preset', 'auto', 'on', 'off'], default='preset',
                    help="jit_compile of the training step (default: the preset's: on for cpu, auto for paper)")
    ap.add_argument('--precision', choices=['float32', 'mixed_float16', 'mixed_bfloat16'], default='float32')
    ap.add_argument('--json', help='also write all records to this file')
    ap.add_argument('--one', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.steps, args.infer, args.convs, args.xla, args.precision))); return
    recs = []
    for spec in args.configs:
        steps = min(args.steps, 2) if spec.startswith('paper') and not os.environ.get('BENCH_FULL') else args.steps
        p = subprocess.run([sys.executable, __file__, '--one', spec, '--steps', str(steps), '--infer', str(args.infer),
                            '--convs', args.convs, '--xla', args.xla, '--precision', args.precision], capture_output=True, text=True)
        if p.returncode:
            print(f'{spec}: failed\n{p.stderr[-3000:]}', file=sys.stderr); continue
        rec = json.loads(p.stdout.strip().splitlines()[-1])
        recs.append(rec); print(json.dumps(rec), flush=True)
    m = machine()
    print(f"\nmachine: {json.dumps(m)}")
    print('| ' + ' | '.join(COLS) + ' |'); print('|' + '---|' * len(COLS))
    for r in recs: print('| ' + ' | '.join(str(r[c]) for c in COLS) + ' |')
    if args.json:
        with open(args.json, 'w') as f: json.dump(dict(machine=m, records=recs), f, indent=1)

if __name__ == '__main__': main()
