"""Bootstrap of the C-index: all resamples at once versus one scikit-survival call each.

``bootstrap_concordance`` scores every resample in one pass over the pair matrix
(``metrics._resampled_concordance``); the plain way is one
``sksurv.metrics.concordance_index_censored`` call per resample. Both give the same values
(``tests/test_metrics.py`` pins them to 1e-12; this script checks it again). Printed: the
CPU seconds of each path (the fastest of ``--repeat`` runs) and their ratio, measured in
the same run. BLAS runs on one thread and the clock is the process's CPU time: on a shared,
loaded machine wall time and multi-threaded products measure the neighbors rather than
the method (compare ratios, not seconds).

Run::

    python benchmarks/bench_bootstrap.py [--n-bootstraps 200] [--repeat 3] [--sizes 44 287 1000]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from sksurv.metrics import concordance_index_censored
from sksurv.util import Surv
from threadpoolctl import threadpool_limits

from sarcoma_survival.metrics import bootstrap_concordance


def cohort(n, seed=0):
    rng = np.random.default_rng(seed)
    time_ = rng.exponential(1000, n) + 1
    event = rng.random(n) < 0.35  # about the paper's share of OS events
    risk = -np.log(time_) + rng.normal(0, 1, n)
    return Surv.from_arrays(event, time_), risk


def library_loop(y, risk, n_bootstraps, random_state):
    state = np.random.RandomState(random_state)
    values = []
    for _ in range(n_bootstraps):
        idx = state.randint(0, len(y), len(y))
        values.append(concordance_index_censored(y["event"][idx], y["time"][idx], risk[idx])[0])
    return np.asarray(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-bootstraps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[44, 287, 1000])
    args = parser.parse_args()
    print(f"{'patients':>8} {'events':>6} {'library cpu s':>13} {'fast cpu s':>10} {'ratio':>6} {'max |diff|':>10}")
    for n in args.sizes:
        y, risk = cohort(n)
        library, ours = [], []
        for _ in range(args.repeat):
            start = time.process_time()
            ref = library_loop(y, risk, args.n_bootstraps, 0)
            library.append(time.process_time() - start)
            start = time.process_time()
            fast = bootstrap_concordance(y, risk, n_bootstraps=args.n_bootstraps, random_state=0)
            ours.append(time.process_time() - start)
        library, ours = min(library), min(ours)
        diff = np.max(np.abs(fast.bootstrap_values - ref))
        print(f"{n:>8} {int(y['event'].sum()):>6} {library:>13.2f} {ours:>10.3f} "
              f"{library / ours:>6.0f} {diff:>10.1e}")


if __name__ == "__main__":
    with threadpool_limits(limits=1, user_api="blas"):
        main()
