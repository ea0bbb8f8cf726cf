"""What the refit of ``MMNNSurvival(blend_refit=True)`` costs, and what stopping its first run early saves.

The refit trains twice: an estimating run (blend set held out, weights measured) and the
final run on every training patient with those weights replayed. The estimating run
stops after the last estimation the final run uses (an estimate made at the end of epoch
u applies from epoch u + 1); before that change it ran all ``max_epochs``. This script
fits, on the same synthetic cohort and in one process:

* ``online``: ``blend_refit=False``, the single online run;
* ``refit``: ``blend_refit=True`` as shipped;
* ``refit, full first run``: the same with the first run forced to ``max_epochs`` (the
  earlier behavior), to time what the early stop saves;

and checks that the two refits give the same predictions (they replay the same weights).
Timings alternate between variants over ``--repeats`` rounds; compare the printed ratios,
not seconds across runs.

Usage: python benchmarks/bench_mmnn_refit.py [--epochs 12 --warmup 10 --period 5]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from unittest import mock

import numpy as np
import torch

from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.nn import MMNNSurvival
from sarcoma_survival.preprocessing import VolumePreprocessor


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=287)
    parser.add_argument("--size", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=12, help="max_epochs (the demo's default)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--period", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    folder = tempfile.mkdtemp()
    data = make_synthetic_cohort(args.n, image_size=args.size, random_state=0, data_dir=folder)
    X, y = data.X, data.y_os

    def model(**params):
        return MMNNSurvival(
            preprocessor=VolumePreprocessor(size=args.size, n4=False, normalize="tumor", cache_dir=folder),
            max_epochs=args.epochs, blend_warmup=args.warmup, blend_period=args.period,
            module__init_features=8, module__growth_rate=4, module__block_config=(1, 1),
            optimizer=torch.optim.Adam, lr=1e-3, batch_size=32, random_state=0, **params,
        )

    full_first_run = mock.patch.object(MMNNSurvival, "_last_used_estimate", lambda self, total: total)
    model(blend_refit=False).fit(X, y)  # fills the volume cache; not timed
    variants = {
        "online (no refit)": lambda: model(blend_refit=False).fit(X, y),
        "refit (first run stops early)": lambda: model(blend_refit=True).fit(X, y),
        "refit, full first run": lambda: _with(full_first_run, lambda: model(blend_refit=True).fit(X, y)),
    }
    seconds = {name: [] for name in variants}
    fitted = {}
    for _ in range(args.repeats):
        for name, fit in variants.items():
            start = time.perf_counter()
            fitted[name] = fit()
            seconds[name].append(time.perf_counter() - start)
    same = np.allclose(fitted["refit (first run stops early)"].predict(X),
                       fitted["refit, full first run"].predict(X), rtol=1e-5, atol=1e-6)
    first = len(fitted["refit (first run stops early)"].blend_history_ or [])
    print(f"{args.n} synthetic patients at {args.size}^3, tiny DenseNet, {args.epochs} epochs, "
          f"warm-up {args.warmup}, period {args.period}; first run of the refit: {first} epochs; "
          f"{args.repeats} rounds, median fit seconds")
    base = np.median(seconds["online (no refit)"])
    for name, values in seconds.items():
        print(f"  {name:32s} {np.median(values):7.1f} s   x{np.median(values) / base:.2f} of the online run")
    saved = 1 - np.median(seconds["refit (first run stops early)"]) / np.median(seconds["refit, full first run"])
    print(f"early stop saves {saved:.0%} of the refit's time; same predictions: {same}")


def _with(patch, fit):
    with patch:
        return fit()


if __name__ == "__main__":
    main()
