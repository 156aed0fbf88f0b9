"""Scoring benchmark (not a test): throughput and peak memory of `anomalypro score` on a folder of N images.

Usage: python bench/bench_score.py [--n 10000] [--size 64] [--preset cpu] [--no-heatmaps] [--work /tmp/anomalypro-bench]

Writes N random-texture PNGs (size x size, grayscale) into WORK/images (reused when already there; never inside the
repository), saves a model bundle of the preset's generator (untrained: the cost of scoring does not depend on the
weights), runs the command line as a user would and samples the process's memory every 0.2 s. Prints one JSON
record: wall time, images/s overall and in steady state (after start-up), and resident memory (peak of the scoring
process, peak with its decoding processes summed in, and the scoring process's at 10%, 50%, 100% of the images:
flat memory means these stay close).
"""
import argparse, json, os, shutil, subprocess, sys, time
from pathlib import Path
import numpy as np
from PIL import Image

def make_images(folder, n, size, seed=0):
    "n grayscale PNGs in subfolders of 1000; reuse them when the folder already holds n"
    folder = Path(folder)
    if folder.exists() and sum(1 for _ in folder.rglob('*.png')) == n: return folder
    shutil.rmtree(folder, ignore_errors=True)
    rng = np.random.default_rng(seed)
    yy = np.linspace(0, 1, size)[:, None]
    for i in range(n):
        a = (0.2 + 0.5 * yy + 0.1 * rng.standard_normal((size, size))).clip(0, 1)
        d = folder/f'{i // 1000:03d}'; d.mkdir(parents=True, exist_ok=True)
        Image.fromarray((a * 255).astype(np.uint8)).save(d/f'img{i:05d}.png')
    return folder

def make_bundle(path, preset_name):
    "A bundle of the preset's (untrained) generator"
    from anomalypro.core import preset
    from anomalypro.model import build_generator
    from anomalypro.detector import AnomalyDetector
    cfg = preset(preset_name)
    shutil.rmtree(path, ignore_errors=True)
    return AnomalyDetector(build_generator(cfg), cfg, threshold=dict(value=0.1, method='benchmark')).save(path)

def status(pid, key):
    "A /proc/<pid>/status value in MB (VmRSS, VmHWM), or None once the process is gone"
    try:
        for line in open(f'/proc/{pid}/status'):
            if line.startswith(key + ':'): return int(line.split()[1]) / 1024
    except OSError: return None

def tree_rss(pid):
    "Resident memory of `pid` and its child processes (the decoding workers), MB"
    try: kids = [int(k) for t in os.listdir(f'/proc/{pid}/task') for k in open(f'/proc/{pid}/task/{t}/children').read().split()]
    except OSError: kids = []
    return sum(status(q, 'VmRSS') or 0 for q in [pid, *kids])

def rows(csv_path):
    try:
        with open(csv_path, 'rb') as f: return max(0, f.read().count(b'\n') - 1)
    except OSError: return 0

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=10_000); ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--preset', default='cpu'); ap.add_argument('--no-heatmaps', action='store_true')
    ap.add_argument('--work', default='/tmp/anomalypro-bench')
    a = ap.parse_args()
    work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    t = time.time(); images = make_images(work/f'images-{a.n}-{a.size}', a.n, a.size); t_make = time.time() - t
    bundle = make_bundle(work/f'model-{a.preset}', a.preset)
    out = work/'out'; shutil.rmtree(out, ignore_errors=True)
    exe = Path(sys.executable).parent/'anomalypro'
    cmd = [str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else ['-m', 'anomalypro.cli']),
           'score', str(bundle), str(images), '--out', str(out), '--quiet', *(['--no-heatmaps'] if a.no_heatmaps else [])]
    t0 = time.time(); p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples, peak, peak_tree = [], 0., 0.
    while p.poll() is None:
        rss, hwm = status(p.pid, 'VmRSS'), status(p.pid, 'VmHWM')
        if rss is not None: samples.append((time.time() - t0, rows(out/'scores.csv'), rss)); peak = max(peak, hwm or 0, rss)
        peak_tree = max(peak_tree, tree_rss(p.pid))
        time.sleep(0.2)
    wall = time.time() - t0
    stdout, stderr = p.communicate()
    if p.returncode: sys.exit(f"score failed ({p.returncode}):\n{stdout}\n{stderr}")
    n_done = rows(out/'scores.csv')
    first = next((s for s in samples if s[1] > 0), samples[-1])           # first rows written: start-up is over
    last = samples[-1]
    steady = (last[1] - first[1]) / (last[0] - first[0]) if last[0] > first[0] and last[1] > first[1] else float('nan')
    at = lambda frac: next((round(s[2]) for s in samples if s[1] >= frac * a.n), round(samples[-1][2]))
    rec = dict(images=a.n, scored=n_done, image_size=a.size, preset=a.preset, heatmaps=not a.no_heatmaps,
               heatmap_files=sum(1 for _ in (out/'heatmaps').rglob('*.png')) if not a.no_heatmaps else 0,
               wall_s=round(wall, 1), startup_s=round(first[0], 1), images_per_s=round(n_done / wall, 1),
               steady_images_per_s=round(steady, 1), peak_rss_mb=round(peak), peak_rss_with_decoders_mb=round(max(peak_tree, peak)), rss_mb_at_10_50_100pct=[at(.1), at(.5), at(1.)],
               cpus=os.cpu_count(), load_avg_1min=round(os.getloadavg()[0], 2), make_images_s=round(t_make, 1))
    print(json.dumps(rec))
    print(f"\n{n_done} images scored in {wall:.0f} s: {rec['images_per_s']} images/s overall, {rec['steady_images_per_s']} after "
          f"start-up ({rec['startup_s']} s); peak memory {rec['peak_rss_mb']} MB; RSS at 10/50/100%: {rec['rss_mb_at_10_50_100pct']} MB")

if __name__ == '__main__': main()
