#!/usr/bin/env python
"""Where a training step's time goes: TensorFlow's profiler on a few steps, summed per op type and per op.

    pip install '.[bench]'              # xprof, which turns the profiler's trace into tables
    python bench/profile_step.py cpu@128         # a bench.py configuration; --xla on|off|auto|fastest, --convs auto|forward|keras, --steps N
    python bench/profile_step.py wide@64 --channels 3 --xla on   # as the release runs (3 channels)

Under XLA (`--xla on`) the step is one compiled cluster; the tables then list XLA's own ops (fusions, convolutions)
as the profiler records them. Prints the self time of every op type (and its share of the busy time), then the slowest ops. The step is traced and
warmed up first; the profiled steps are timed by TensorFlow's own profiler. The table in bench/README.md came from here.
"""
import argparse, collections, glob, json, os, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import bench_config

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('config', nargs='?', default='cpu@128')
    ap.add_argument('--steps', type=int, default=2)
    ap.add_argument('--xla', choices=['auto', 'on', 'off', 'fastest'], default='off')
    ap.add_argument('--convs', choices=['auto', 'forward', 'keras'], default='auto', help="conv_gradients (auto: the trainer's execution_plan)")
    ap.add_argument('--channels', type=int, help="image channels (default: the preset's)")
    ap.add_argument('--top', type=int, default=15)
    args = ap.parse_args()
    try: from xprof.convert import raw_to_tool_data
    except ImportError: raise SystemExit("needs xprof: pip install '.[bench]' (or pip install xprof)")
    import numpy as np
    from anomalypro.backend import tf, keras
    from anomalypro.gan import HealthyGAN, train_dataset
    cfg = bench_config(args.config, args.xla, channels=args.channels, convs=args.convs)
    a = np.random.default_rng(0).integers(0, 256, (64, cfg.image_size, cfg.image_size, cfg.channels), dtype=np.uint8)
    gan = HealthyGAN.create(cfg)
    ds = train_dataset(cfg, a, a)
    gan.fit(ds, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)   # trace, compile, warm up
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        t = time.perf_counter()
        gan.fit(ds, epochs=1, steps_per_epoch=args.steps, verbose=0, shuffle=False)
        wall = time.perf_counter() - t
        tf.profiler.experimental.stop()
        data, _ = raw_to_tool_data.xspace_to_tool_data(glob.glob(f'{logdir}/**/*.xplane.pb', recursive=True), 'framework_op_stats', {})
    table = json.loads(data if isinstance(data, str) else data.decode())[0]
    cols = [c['id'] for c in table['cols']]
    rows = [dict(zip(cols, [c.get('v') for c in r['c']])) for r in table['rows']]
    rows = [r for r in rows if r['type'] != 'IDLE']
    busy = sum(r['total_self_time'] for r in rows)
    by = collections.defaultdict(lambda: [0, 0.0])
    for r in rows: by[r['type']][0] += r['occurrences']; by[r['type']][1] += r['total_self_time']
    print(f"{args.config}, {cfg.channels} channel(s), xla {gan.jit_compile}, convs {'forward' if gan.generator.get_layer('head_conv').fast_gradients else 'keras'}: {args.steps} steps ({args.steps * cfg.n_critic} iterations) "
          f"in {wall:.2f} s wall, {busy / 1e6:.2f} s of op time")
    print(f"\n| op type | ops | self time (s) | share |\n|---|---|---|---|")
    for k, (n, s) in sorted(by.items(), key=lambda x: -x[1][1])[:args.top]:
        print(f"| {k} | {int(n)} | {s / 1e6:.3f} | {100 * s / busy:.1f}% |")
    print(f"\n| op | type | runs | self time (s) |\n|---|---|---|---|")
    for r in sorted(rows, key=lambda r: -r['total_self_time'])[:args.top]:
        print(f"| {r['operation'][-70:]} | {r['type']} | {int(r['occurrences'])} | {r['total_self_time'] / 1e6:.3f} |")

if __name__ == '__main__': main()
