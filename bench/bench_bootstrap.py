"""Time the 1,000-replicate bootstrap of the evaluation: `bootstrap_ci` of the AUC and `evaluate_scores` (AUC and
both threshold protocols with intervals) on 600 test and 300 validation scores with ties; best of 3. For comparison,
the same replicates with scikit-learn called once per replicate (`roc_auc_score`; `confusion_matrix` through the
paper protocol's metrics), which is what `anomalypro.evaluate` avoids by counting the draws in numpy.

Usage: python bench/bench_bootstrap.py
       PYTHONPATH=<another checkout> python bench/bench_bootstrap.py   # the same figures for another version
"""
import time
import numpy as np
from anomalypro import evaluate as ev

def best(f, k:int=3):
    "The fastest of `k` calls of `f`, seconds"
    ts = []
    for _ in range(k):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return min(ts)

if __name__ == '__main__':
    r = np.random.default_rng(0)
    y = r.integers(0, 2, 600); s = np.round(r.normal(size=600) + y, 2)
    vy = r.integers(0, 2, 300); vs = np.round(r.normal(size=300) + vy, 2)
    print(f"bootstrap_ci(auc, n=1000):         {best(lambda: ev.bootstrap_ci(y, s, ev.auc, n=1000)):.3f} s")
    print(f"evaluate_scores(n_boot=1000):      {best(lambda: ev.evaluate_scores(y, s, vy, vs, n_boot=1000)):.3f} s")
    if hasattr(ev, 'confusion_counts'):   # the scikit-learn-based evaluate
        from sklearn.metrics import roc_auc_score
        paper = lambda a, b: ev.metrics_at(a, b, ev.threshold_paper(a, b))
        print(f"per replicate, roc_auc_score:      {best(lambda: ev.bootstrap_ci(y, s, roc_auc_score, n=1000)):.3f} s")
        print(f"per replicate, paper protocol:     {best(lambda: ev.bootstrap_ci(y, s, paper, n=1000), 1):.3f} s")
