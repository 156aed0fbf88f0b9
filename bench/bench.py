#!/usr/bin/env python
"""Benchmark: training, inference and input-pipeline throughput, peak memory and FLOP utilisation per configuration.

    python bench/bench.py                                  # cpu@64, cpu@128, paper@128; one subprocess each
    python bench/bench.py --configs cpu@128 --steps 10     # one configuration, more timed steps
    python bench/bench.py --convs forward                  # conv gradients as forward convolutions (default: auto, the trainer's plan)
    python bench/bench.py --xla on --precision mixed_bfloat16
    python bench/bench.py --json out.json                  # also write the records
    python bench/bench.py --official-python /path/to/python  # a Python with PyTorch, for the official release's timing
    python bench/bench.py --plan                           # how each preset's step runs on this machine, and why; no timing

What each figure is (one JSON record per configuration, then a table):

- training: one `train_step` is `n_critic` critic iterations and one generator update on `batch_size` pairs each;
  `train_s_per_iter` is the median step time over the timed steps divided by `n_critic` (the first step, which traces
  and compiles, is not timed). Training images/s counts both images of every pair: 2 x batch_size / s_per_iter.
- FLOPs: counted on the traced training step, for every convolution and its two gradients (Conv2D,
  Conv2DBackpropInput, Conv2DBackpropFilter) and matrix product, as 2 x multiply-adds; elementwise work is not counted,
  so the utilisation is, if anything, an underestimate. `train_gflops_per_s` = FLOPs per step / median step time.
- peak: the best of 5 timed float32 matrix products of 1024, 2048 and 4096 squared, measured in the same process just
  before training; `utilisation` = train_gflops_per_s / peak_gflops_per_s.
- inference images/s: `HealthyGAN.score` (the compiled generator, batches of 64; also of 256:
  `inference_images_per_s_batch256`) on 256 images, and its FLOP/s against the peak (`inference_utilisation`);
  `flop_bound_inference_x_training` is the ratio inference images/s : training images/s that the FLOP counts allow
  at equal FLOP/s (training FLOPs per image / one generator pass).
- pipeline images/s: the training input stream (`train_dataset`: uint8 store -> float pairs, flips, grouping),
  consumed alone, counting both images of every pair.
- peak memory: the process's maximum resident set (training, scoring and the test arrays together); on a GPU also
  the device's peak allocation.

- configurations: `preset@size`, optionally with `:key=value,...` overrides of the preset (`cpu@64:upsample=transpose`);
  `wide@64` is the `cpu` preset at generator width 32, 3 residual blocks, critic 32 x 5 convs. Ours run with the
  preset's channels (1 for `cpu`, grayscale) and, for the side-by-side figure, with 3 channels as the release does.
- `x_official`: when `../shared/peers/healthygan-official` (or `--official DIR`) and a Python with PyTorch
  (`--official-python`, default this interpreter) are present, each configuration also runs the release's own training
  iteration (`time_official.py`: critic step with the penalty every iteration, generator step every second one, 3
  channels, batch 16, 4x4 transposed-conv up-sampling) at the same widths and depths, in its own process, right after
  ours; `x_official` = the release's s/iteration / ours (3 channels, `ours_rgb_s_per_iter`): > 1 means we are faster.
- equal method: beside each configuration as used, ours at exactly the release's method (`equal_method`: the `paper`
  preset's losses, up-sampling and schedule at the configuration's size, widths, depths and batch, restoration off,
  with the configuration's XLA setting; precision and conv gradients are the command line's, as for every row),
  3 channels: `equal_s_per_iter`, and `x_official_equal_method` = the release's s/iteration / that. Both run the
  same arithmetic per update; ours skips one generator pass the release makes (the last critic update reuses the
  generator update's translation of x_A), which `gflop_per_iter` counts. The equal-method and lever rows run with or
  without the release.
- levers: for each lever of the configuration that changes the work of a step (`WORK_LEVERS`: the up-sampling, the
  restoration pass), the equal-method row with that lever alone switched to the configuration's value:
  `levers[name]` gives its s/iteration, GFLOP/iteration and the difference to the equal-method row (`--no-levers`
  skips them). The other levers beyond the paper (mask bias, focus warm-up, augmentation) change no FLOPs of a step.
- plan: the trainer's `execution_plan` for the configuration on this machine (XLA, conv gradients, precision, the
  CPU family and why), in every record; `--plan` prints it for each preset without timing anything.

Each configuration runs in its own process, so that its peak memory is its own. This is a benchmark, not a test:
the figures vary with the machine and its load (this project's CPU machines are shared VMs: expect +-10%).
"""
import argparse, json, os, platform, resource, statistics, subprocess, sys, time

DEFAULT = ['cpu@64', 'cpu@128', 'wide@64', 'paper@128']
ARCHS = {'wide': ('cpu', dict(conv_dim=32, repeat_num=3, d_conv_dim=32, d_repeat_num=5))}   # the third architecture
OFFICIAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'peers', 'healthygan-official')

WORK_LEVERS = {'upsample': ('upsample',),   # levers beyond the paper that change a step's FLOPs, with their own keys
               'lambda_restore': ('lambda_restore', 'restore_noise', 'restore_grid', 'restore_area', 'restore_foreground',
                                  'restore_fraction')}
EXECUTION = ('jit_compile',)   # the configuration's own; precision and conv gradients are the command line's
SHAPE = ('image_size', 'conv_dim', 'repeat_num', 'd_conv_dim', 'd_repeat_num', 'batch_size', 'n_critic')

def parse_config(spec):
    "'preset@size[:key=value,...]' -> (preset name, overrides of the preset)"
    import yaml
    from dataclasses import fields
    from anomalypro.core import Config
    head, _, extra = spec.partition(':')
    name, _, size = head.partition('@')
    if not size.isdigit(): raise SystemExit(f"bad configuration {spec!r}: expected preset@size[:key=value,...], e.g. cpu@64")
    base, over = ARCHS.get(name, (name, {}))
    over = {**over, 'image_size': int(size)}
    strings = {f.name for f in fields(Config) if f.type == 'str'}
    for kv in filter(None, extra.split(',')):
        k, eq, v = kv.partition('=')
        if not eq: raise SystemExit(f"bad override {kv!r} in {spec!r}: expected key=value")
        over[k] = v if k in strings else yaml.safe_load(v)   # YAML would read jit_compile=off as False
    return base, over

def config_of(spec):
    "The `Config` of a configuration spec"
    from anomalypro.core import preset
    name, over = parse_config(spec)
    return preset(name, **over)

def spec_of(name, over):
    "The configuration spec 'name@size:key=value,...' of preset `name` with overrides `over`"
    over = dict(over); size = over.pop('image_size')
    return f"{name}@{size}" + (':' + ','.join(f'{k}={v}' for k, v in over.items()) if over else '')

def equal_method(spec):
    "The spec of the release's method (the `paper` preset) at `spec`'s shape and execution keys"
    p = config_of(spec)
    return spec_of('paper', {k: getattr(p, k) for k in SHAPE + EXECUTION})

def levers(spec):
    "{lever: spec}: the equal-method spec with each work-changing lever of `spec` switched to `spec`'s value"
    from anomalypro.core import preset
    p, paper = config_of(spec), preset('paper')
    eq = {k: getattr(p, k) for k in SHAPE + EXECUTION}
    return {k: spec_of('paper', {**eq, **{key: getattr(p, key) for key in keys}})
            for k, keys in WORK_LEVERS.items() if getattr(p, k) != getattr(paper, k)}

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
    from anomalypro.backend import tf
    g = tf.function(gan.train_step).get_concrete_function(spec).graph
    gan.train_step_traces -= 1   # this trace is the benchmark's, not the trainer's
    return graph_flops(g)

def inference_flops(gan):
    "FLOPs of the generator's forward pass on one image"
    from anomalypro.backend import tf
    c = gan.cfg
    f = tf.function(lambda x: gan.generator(x, training=False))
    return graph_flops(f.get_concrete_function(tf.TensorSpec((1, c.image_size, c.image_size, c.channels), tf.float32)).graph)[0]

def matmul_peak():
    "Best float32 matrix-product FLOP/s of this machine, over sizes 1024, 2048, 4096 (GFLOP/s)"
    from anomalypro.backend import tf
    best = 0.0
    for n in (1024, 2048, 4096):
        a, b = tf.random.normal((n, n)), tf.random.normal((n, n))
        mm = tf.function(lambda a, b: tf.matmul(a, b))
        mm(a, b).numpy()
        for _ in range(5):
            t = time.perf_counter(); mm(a, b).numpy(); best = max(best, 2 * n ** 3 / (time.perf_counter() - t) / 1e9)
    return best

def bench_config(spec, xla='preset', precision='float32', channels=None, convs='auto'):
    "The Config a benchmark configuration trains"
    p = config_of(spec)
    return p.replace(iterations=100_000, decay_iters=1000, checkpoint_every=1000, sample_every=1000, log_every=p.n_critic,
                     jit_compile=p.jit_compile if xla == 'preset' else xla, precision=precision, strategy='none', conv_gradients=convs,
                     channels=channels or p.channels)

def run_one(spec, steps, infer_n, convs, xla, precision, channels=None):
    import numpy as np
    from anomalypro.backend import tf, keras
    from anomalypro.gan import HealthyGAN, train_dataset
    import anomalypro.inference   # attaches HealthyGAN.translate and .score
    cfg = bench_config(spec, xla, precision, channels, convs)
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
    gan = HealthyGAN.create(cfg)   # XLA and the conv gradients as `distribute.execution_plan` decides from cfg here
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
    gan.score(x[:256], batch_size=256)
    t = time.perf_counter(); gan.score(x, batch_size=256); infer256 = len(x) / (time.perf_counter() - t)
    s_iter = step / cfg.n_critic
    from anomalypro.distribute import execution_plan
    rec = dict(config=spec, channels=cfg.channels, upsample=cfg.upsample, plan=execution_plan(cfg),
               convs='forward' if gan.generator.get_layer('head_conv').fast_gradients else 'keras', xla=xla, jit_compile=bool(gan.jit_compile), precision=precision,
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
    rec['inference_utilisation'] = round(rec['inference_gflops_per_s'] / peak, 3)
    rec['inference_images_per_s_batch256'] = round(infer256, 1)
    if tf.config.list_physical_devices('GPU'):
        rec['gpu_peak_mb'] = round(tf.config.experimental.get_memory_info('GPU:0')['peak'] / 2**20, 1)
    return rec

def official_seconds(spec, python, folder, iters):
    "The release's s/iteration at `spec`'s architecture (3 channels, batch 16), or (None, why)"
    cfg = bench_config(spec)
    if cfg.batch_size != 16: return None, f'the release times batch 16 only (this configuration: {cfg.batch_size})'
    script = os.path.join(folder, 'time_official.py')
    args = [python, script, str(cfg.image_size), str(cfg.conv_dim), str(cfg.repeat_num), str(cfg.d_conv_dim), str(cfg.d_repeat_num), str(iters)]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode: return None, f'time_official.py failed: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode}'
    line = p.stdout.strip().splitlines()[-1]
    return float(line.split(':')[1].split('s/iteration')[0]), line

def official_available(python, folder):
    "Why the release cannot be timed here, or None"
    if not os.path.exists(os.path.join(folder, 'time_official.py')): return f'{os.path.normpath(folder)} not found'
    p = subprocess.run([python, '-c', 'import torch'], capture_output=True, text=True)
    if p.returncode: return f'{python} has no PyTorch (see {os.path.normpath(folder)}/README.md; --official-python PYTHON)'
    return None

def machine():
    from anomalypro.backend import tf
    import keras
    onednn = os.environ.get('TF_ENABLE_ONEDNN_OPTS', '1') != '0'
    gpus = tf.config.list_physical_devices('GPU')
    names = [tf.config.experimental.get_device_details(g).get('device_name', '?') for g in gpus]
    return dict(python=platform.python_version(), cpus=os.cpu_count(), tensorflow=tf.__version__, keras=keras.__version__,
                gpus=names, onednn=onednn, machine=platform.machine(), processor=platform.processor() or None)

COLS = ['config', 'channels', 'convs', 'xla', 'precision', 'train_s_per_iter', 'official_s_per_iter',
        'ours_rgb_s_per_iter', 'x_official', 'equal_s_per_iter', 'x_official_equal_method', 'levers', 'train_images_per_s', 'gflop_per_iter', 'train_gflops_per_s',
        'peak_gflops_per_s', 'utilisation', 'inference_images_per_s', 'inference_x_training', 'flop_bound_inference_x_training',
        'inference_utilisation', 'inference_images_per_s_batch256', 'pipeline_images_per_s', 'pipeline_x_training', 'peak_rss_mb']

def print_plan():
    "Each preset's execution plan on this machine (and with precision='fastest'), and why"
    from anomalypro.core import preset, PRESETS, cpu_flags
    from anomalypro.distribute import execution_plan, cpu_family
    f = cpu_flags()
    print(f"CPU family: {cpu_family()} (flags: {', '.join(sorted(x for x in f if x.startswith(('avx', 'amx', 'fma'))))})")
    for name in PRESETS:
        for prec in ('as preset', 'fastest'):
            c = preset(name) if prec == 'as preset' else preset(name, precision='fastest')
            p = execution_plan(c)
            print(f"{name:6s} precision {prec:9s}: XLA {p['jit_compile']}, forward conv gradients {p['forward_gradients']}, "
                  f"{p['precision']}  ({p['why']})")

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--configs', nargs='*', default=DEFAULT, help='preset@size, e.g. cpu@64 paper@128')
    ap.add_argument('--steps', type=int, default=6, help='timed training steps (n_critic iterations each) per configuration; paper@* uses 2')
    ap.add_argument('--infer', type=int, default=256, help='images scored for the inference figure')
    ap.add_argument('--convs', choices=['auto', 'forward', 'keras'], default='auto',
                    help="conv_gradients: the conv layers' gradients outside XLA (auto: the trainer's execution_plan)")
    ap.add_argument('--xla', choices=['preset', 'auto', 'on', 'off', 'fastest'], default='preset',
                    help="jit_compile of the training step (default: the preset's: fastest for cpu, auto for paper)")
    ap.add_argument('--precision', choices=['float32', 'mixed_float16', 'mixed_bfloat16', 'fastest'], default='float32',
                    help="every row's precision (fastest: bfloat16 where the CPU has it natively, see --plan)")
    ap.add_argument('--no-levers', action='store_true', help='skip the rows of single levers beyond the paper')
    ap.add_argument('--plan', action='store_true', help="print each preset's execution plan on this machine and exit")
    ap.add_argument('--json', help='also write all records to this file')
    ap.add_argument('--official', default=OFFICIAL, help='folder of the official release\'s timing script (default ../shared/peers/healthygan-official)')
    ap.add_argument('--official-python', default=sys.executable, help='a Python with PyTorch for the release (default: this one)')
    ap.add_argument('--official-iters', type=int, default=20, help="the release's timed iterations per configuration (paper@*: 2)")
    ap.add_argument('--no-official', action='store_true', help='skip the official release')
    ap.add_argument('--channels', type=int, help=argparse.SUPPRESS)
    ap.add_argument('--one', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.plan: print_plan(); return
    if args.one:
        print(json.dumps(run_one(args.one, args.steps, args.infer, args.convs, args.xla, args.precision, args.channels))); return
    why_not = 'skipped (--no-official)' if args.no_official else official_available(args.official_python, args.official)
    if why_not: print(f'official release: {why_not}; no x_official figures', flush=True)
    def ours(spec, steps, channels=None):
        cmd = [sys.executable, __file__, '--one', spec, '--steps', str(steps), '--infer', str(args.infer),
               '--convs', args.convs, '--xla', args.xla, '--precision', args.precision] + (['--channels', str(channels)] if channels else [])
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode: print(f'{spec} ({channels or "preset"} channels): failed\n{p.stderr[-3000:]}', file=sys.stderr); return None
        return json.loads(p.stdout.strip().splitlines()[-1])
    recs = []
    for spec in args.configs:
        paper = spec.startswith('paper') and not os.environ.get('BENCH_FULL')
        steps = min(args.steps, 2) if paper else args.steps
        rec = ours(spec, steps)
        if rec is None: continue
        rgb = rec if rec['channels'] == 3 else ours(spec, steps, channels=3)   # as the release: 3 channels
        same = config_of(equal_method(spec)).replace(channels=3) == config_of(spec).replace(channels=3)
        eq = rgb if same else ours(equal_method(spec), steps, channels=3)
        if rgb: rec.update(ours_rgb_s_per_iter=rgb['train_s_per_iter'])
        if eq:
            rec.update(equal_method=eq['config'], equal_s_per_iter=eq['train_s_per_iter'],
                       equal_gflop_per_iter=eq['gflop_per_iter'], equal_utilisation=eq['utilisation'])
            if not args.no_levers:
                rec['levers'] = {}
                for k, lspec in levers(spec).items():
                    lv = ours(lspec, steps, channels=3)
                    if lv: rec['levers'][k] = dict(
                        s_per_iter=lv['train_s_per_iter'], gflop_per_iter=lv['gflop_per_iter'],
                        extra_s=round(lv['train_s_per_iter'] - eq['train_s_per_iter'], 4),
                        extra_gflop=round(lv['gflop_per_iter'] - eq['gflop_per_iter'], 2))
        if not why_not:
            secs, line = official_seconds(spec, args.official_python, args.official, 2 if paper else args.official_iters)
            rec['official'] = line
            if secs and rgb:
                rec.update(official_s_per_iter=secs, x_official=round(secs / rgb['train_s_per_iter'], 2))
                if eq: rec.update(x_official_equal_method=round(secs / eq['train_s_per_iter'], 2))
        recs.append(rec); print(json.dumps(rec), flush=True)
    m = machine()
    print(f"\nmachine: {json.dumps(m)}")
    print('| ' + ' | '.join(COLS) + ' |'); print('|' + '---|' * len(COLS))
    def cell(r, c):
        if c == 'levers': return '; '.join(f"{k} +{v['extra_s']} s, +{v['extra_gflop']} GFLOP" for k, v in r.get(c, {}).items()) or '-'
        if c == 'precision': return r['plan'].get('precision', r['precision'])
        return str(r.get(c, '-'))
    for r in recs: print('| ' + ' | '.join(cell(r, c) for c in COLS) + ' |')
    if args.json:
        with open(args.json, 'w') as f: json.dump(dict(machine=m, records=recs), f, indent=1)

if __name__ == '__main__': main()
