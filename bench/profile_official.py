#!/usr/bin/env python
"""Where the official release's training iteration spends its time: torch.profiler around its own timing script.

    /path/to/python-with-torch bench/profile_official.py 64 16 4 32 4       # SIZE G_DIM G_RES D_DIM D_CONVS: the cpu preset
    /path/to/python-with-torch bench/profile_official.py 64 32 3 32 5 --iters 4   # bench.py's wide@64

The architecture is given as `time_official.py` takes it (bench.py's records show it for each configuration, in
their `official` line), so this script needs nothing of anomalypro.

Runs `../shared/peers/healthygan-official/time_official.py` (the release's model and loss code, 6 warm-up iterations
then ITERS timed ones, 3 channels, batch 16) unchanged, as a script, inside `torch.profiler.profile`, and prints the
self CPU time per op type, in the same table format as `bench/profile_step.py` prints TensorFlow's. The warm-up
iterations are profiled too (PyTorch has no tracing step, so they cost what the timed ones do): the table covers
6 + ITERS iterations. Needs only PyTorch (no TensorFlow, no anomalypro), so it can run in the release's own environment.
"""
import argparse, os, runpy, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
OFFICIAL = os.path.join(HERE, '..', '..', 'shared', 'peers', 'healthygan-official')

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('arch', type=int, nargs=5, metavar='N', help="SIZE G_DIM G_RES D_DIM D_CONVS, as time_official.py takes them")
    ap.add_argument('--iters', type=int, default=4, help='timed iterations after the 6 warm-up ones')
    ap.add_argument('--official', default=OFFICIAL)
    ap.add_argument('--top', type=int, default=15)
    args = ap.parse_args()
    script = os.path.join(args.official, 'time_official.py')
    if not os.path.exists(script): raise SystemExit(f"{os.path.normpath(script)} not found (--official DIR)")
    try: import torch
    except ImportError: raise SystemExit(f"{sys.executable} has no PyTorch; see {os.path.normpath(args.official)}/README.md")
    sys.argv = [script, *map(str, args.arch), str(args.iters)]
    from torch.profiler import profile, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t = time.perf_counter(); runpy.run_path(script, run_name='__main__'); wall = time.perf_counter() - t
    ev = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    busy = sum(e.self_cpu_time_total for e in ev)
    print(f"official S={args.arch[0]} g{args.arch[1]}x{args.arch[2]} d{args.arch[3]}x{args.arch[4]}: {6 + args.iters} iterations in {wall:.2f} s wall, {busy / 1e6:.2f} s of op self time "
          f"(torch {torch.__version__}, {torch.get_num_threads()} threads)")
    print(f"\n| op | calls | self time (s) | share |\n|---|---|---|---|")
    for e in sorted(ev, key=lambda e: -e.self_cpu_time_total)[:args.top]:
        print(f"| {e.key} | {e.count} | {e.self_cpu_time_total / 1e6:.3f} | {100 * e.self_cpu_time_total / busy:.1f}% |")

if __name__ == '__main__': main()
