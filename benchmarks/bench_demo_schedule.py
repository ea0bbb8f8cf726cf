"""The demo's MMNN under two gradient-blending schedules, scored on a large fresh cohort.

The demo trains its image models for a CPU-sized number of epochs (12 by default). With the
library's schedule (uniform weights for a 10-epoch warm-up, then new weights every 5) the
weights are estimated once, at the end of epoch 10, and used for the last two epochs: the
"gradient blending" row is mostly uniform weights. This script fits the demo's models
exactly as the demo builds them (``demo_settings``: compact DenseNet, 32^3, N4, the paper's
SGD recipe) on ``make_synthetic_cohort(287, random_state=seed)`` and scores them, on OS, on
one fresh cohort (``--n-test`` patients, ``random_state=--test-seed``):

* ``mmnn, schedule 10/5``: the library's warm-up and period;
* ``mmnn, schedule W/P``: the demo's schedule for its epoch budget
  (:func:`sarcoma_survival._demo.demo_blending_schedule`);
* ``mmnn-no-blending``: the ablation;
* the oracle (the generator's true log-hazard).

Every number is SIMULATED. Usage:

    python benchmarks/bench_demo_schedule.py --seeds 0 1 2 [--max-epochs 12]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from _machine import machine
from sksurv.metrics import concordance_index_censored

from sarcoma_survival._demo import DEMO_IMAGE_SIZE, DEMO_MAX_EPOCHS, demo_blending_schedule, demo_settings
from sarcoma_survival._registry import make_model
from sarcoma_survival.datasets import make_synthetic_cohort


def c_index(y, risk):
    event_name, time_name = y.dtype.names
    return concordance_index_censored(y[event_name], y[time_name], np.asarray(risk, dtype=float))[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-train", type=int, default=287)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--test-seed", type=int, default=1000)
    parser.add_argument("--max-epochs", type=int, default=DEMO_MAX_EPOCHS)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default="bench_demo_schedule.csv")
    args = parser.parse_args()
    size = DEMO_IMAGE_SIZE
    test = make_synthetic_cohort(args.n_test, random_state=args.test_seed, image_size=size, n_jobs=args.n_jobs)
    y_test = test.y_os
    print(f"test cohort: {len(test.X)} patients (random_state={args.test_seed}), "
          f"{int(y_test['event'].sum())} OS events; oracle C = {c_index(y_test, test['risk_os']):.3f}")
    warmup, period = demo_blending_schedule(args.max_epochs)
    variants = {
        "mmnn, schedule 10/5": ("mmnn", {"blend_warmup": 10, "blend_period": 5}),
        f"mmnn, schedule {warmup}/{period}": ("mmnn", {"blend_warmup": warmup, "blend_period": period}),
        "mmnn-no-blending": ("mmnn-no-blending", {}),
    }
    rows = []
    for seed in args.seeds:
        train = make_synthetic_cohort(args.n_train, random_state=seed, image_size=size, n_jobs=args.n_jobs)
        rows.append({"seed": seed, "model": "oracle", "c_test": c_index(y_test, test["risk_os"]), "fit_s": 0.0})
        for label, (name, params) in variants.items():
            model = demo_settings(make_model(name), image_size=size, max_epochs=args.max_epochs,
                                  random_state=seed, n_jobs=args.n_jobs, images=True).set_params(**params)
            start = time.perf_counter()
            model.fit(train.X, train.y_os)
            seconds = time.perf_counter() - start
            c = c_index(y_test, model.predict(test.X))
            rows.append({"seed": seed, "model": label, "c_test": c, "fit_s": seconds})
            print(f"seed {seed}  {label:24s} C={c:.3f}  {seconds:6.1f} s", flush=True)
    frame = pd.DataFrame(rows).assign(**machine())  # CPU model, instruction set, float kernels
    frame.to_csv(args.out, index=False)
    summary = frame.groupby("model", sort=False).agg(c_mean=("c_test", "mean"), c_sd=("c_test", "std"),
                                                     fit_s=("fit_s", "mean"))
    print(f"\nSIMULATED OS, {args.max_epochs} epochs, trained on {args.n_train} patients, seeds {args.seeds}, "
          f"C on {args.n_test} fresh patients; per-seed rows in {args.out}")
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
