"""Exported-cell statistics of the library notebooks: per notebook, the exported cells, their median and largest
length in lines, and the share followed by a test (the next code cell is not exported and calls `fastcore.test`).

Usage: python tools/nbstats.py [NOTEBOOK ...]   (default: every nbs/[0-9]*.ipynb)
"""
import json, re, statistics, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = re.compile(r'\btest_(eq|ne|close|fail|is|warns|stdout|eq_type|shuffled|sig)\b')

def cells(path):
    "(source, is exported) of each code cell of the notebook at `path`"
    nb = json.loads(Path(path).read_text())
    for c in nb['cells']:
        if c['cell_type'] != 'code': continue
        s = ''.join(c['source'])
        yield s, bool(re.search(r'^#\|\s*export', s, re.M))

def stats(path):
    "dict(exported, median, max, tested): exported cells, median and max lines, share followed by a test cell"
    cs = list(cells(path))
    sizes, tested = [], 0
    for i, (s, exp) in enumerate(cs):
        if not exp: continue
        sizes.append(len([l for l in s.splitlines() if not l.startswith('#|')]))
        nxt = cs[i + 1] if i + 1 < len(cs) else None
        tested += bool(nxt and not nxt[1] and TEST.search(nxt[0]))
    if not sizes: return dict(exported=0, median=0, max=0, tested=0.)
    return dict(exported=len(sizes), median=statistics.median(sizes), max=max(sizes), tested=tested / len(sizes))

def main(paths):
    rows = [(Path(p).stem, stats(p)) for p in paths]
    print(f"{'notebook':18} {'exported':>8} {'median':>6} {'max':>4} {'tested':>6}")
    for name, r in rows: print(f"{name:18} {r['exported']:8d} {r['median']:6.1f} {r['max']:4d} {r['tested']:6.0%}")
    sizes = [len([l for l in s.splitlines() if not l.startswith('#|')]) for p in paths for s, e in cells(p) if e]
    tested = sum(r['tested'] * r['exported'] for _, r in rows) / max(1, sum(r['exported'] for _, r in rows))
    print(f"{'all':18} {len(sizes):8d} {statistics.median(sizes):6.1f} {max(sizes):4d} {tested:6.0%}")

if __name__ == '__main__': main(sys.argv[1:] or sorted(ROOT.glob('nbs/[0-9]*.ipynb')))
