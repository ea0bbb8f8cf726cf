"""Calibration at 3 years of three models of the paper on SIMULATED patients (issue 27).

Each model is fitted on one synthetic training cohort (``make_synthetic_cohort(n_train,
random_state=seed)``) and evaluated on fresh synthetic patients (``random_state=seed + 1000``):

* against their observed (simulated) outcomes: the calibration slope, ICI, E50, E90 and O/E
  of :mod:`sarcoma_survival.metrics` at the horizon, and Harrell's C;
* against the true survival the simulator knows (``cohort.oracle``; with
  ``competing_death_weight=0`` the OS hazard is the sarcoma-death hazard): ``oe_true`` (mean true
  over mean predicted risk), ``slope_true`` (least-squares slope of the complementary log-log of
  the true risk on that of the predicted risk: 1 when the predicted log-hazards have the true
  spread, below 1 when too extreme; the calibration slope's estimand when the true
  log-hazard is linear in the predicted one), ``ici_true`` (the ICI with the true risk in
  place of the outcome: mean |predicted - E[true risk | predicted]|, see :func:`true_ici`) and
  ``mae_true`` (mean |predicted - true risk| per patient: accuracy, not calibration; a model
  that ignores a predictor can be calibrated and still far from each patient's true risk).

Rows: the Sarculator Cox model (``SarculatorCoxPH``), the clinical MLP
(``ClinicalMLPSurvival``, library defaults), the MMNN with gradient blending at CPU size
(24^3 images, a 2-block DenseNet, 30 epochs, Adam, as the CPU run of ``bench_mmnn.py``), and
three references computed from the simulator, not fitted: the true survival ("oracle"), the
true survival with the log-hazard ratios doubled ("mis-specified: too extreme") and with the
baseline hazard halved ("mis-specified: baseline / 2").

Every number is measured when the script runs, on simulated data; the CSV's ``#`` lines say
the machine (CPU model, vector instruction set, torch kernels) and the load.

    python benchmarks/bench_calibration.py --out benchmarks/measured/calibration_cpu.csv
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _machine import machine_line

from sarcoma_survival import ClinicalMLPSurvival, MMNNSurvival, SarculatorCoxPH
from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.metrics import (
    calibration_in_the_large,
    calibration_slope,
    concordance_index,
    integrated_calibration_index,
)
from sarcoma_survival.preprocessing import VolumePreprocessor
from sarcoma_survival.utils import rcs_basis, rcs_knots

#: Predicted survival is clipped to [EPS, 1 - EPS] (the complementary log-log needs it); the
#: ``n_clipped`` column counts the patients it changed.
EPS = 1e-6
TINY_NET = {"module__init_features": 8, "module__growth_rate": 4, "module__block_config": (1, 1)}


def make_models(args, seed, cache_dir):
    volumes = VolumePreprocessor(size=args.image_size, n4=False, normalize="tumor", cache_dir=cache_dir, n_jobs=1)
    return {
        "SarculatorCoxPH": SarculatorCoxPH(),
        "ClinicalMLPSurvival": ClinicalMLPSurvival(random_state=seed),
        "MMNNSurvival (blending, 24^3 CPU)": MMNNSurvival(
            preprocessor=volumes, max_epochs=args.epochs, blend_warmup=5, blend_period=5,
            optimizer=torch.optim.Adam, lr=1e-3, batch_size=32, random_state=seed, **TINY_NET),
    }


def true_survival(cohort, horizon):
    """True OS survival at ``horizon`` (days) of each patient of a synthetic cohort."""
    hazards = cohort.oracle.cumulative_cause_specific_hazards([horizon])  # (n, 2, 1)
    return np.exp(-hazards[:, 1, 0])


def _cll(s):
    return np.log(-np.log(s))


def true_ici(s_pred, s_true):
    """ICI with the true risk in place of the outcome: mean |predicted - E[true risk | predicted]|.

    ``E[true risk | predicted]`` is what the ICI's smoother estimates from outcomes (the
    expected outcome indicator of a patient is its true risk); here it is the least-squares
    fit of the true risk on the ICI's basis (a 3-knot restricted cubic spline of the
    complementary log-log of the predicted risk), on the risk scale.
    """
    basis = rcs_basis(_cll(s_pred), rcs_knots(_cll(s_pred), 3))
    design = np.column_stack([np.ones(len(s_pred)), basis])
    coef, *_ = np.linalg.lstsq(design, 1.0 - s_true, rcond=None)
    return float(np.mean(np.abs(design @ coef - (1.0 - s_pred))))


def scores(y, s_pred, s_true, horizon):
    cll = _cll
    clipped = int(np.sum((s_pred < EPS) | (s_pred > 1 - EPS)))
    s_pred = np.clip(s_pred, EPS, 1 - EPS)
    ici, e50, e90 = integrated_calibration_index(y, s_pred, horizon)
    return {
        "oe": calibration_in_the_large(y, s_pred, horizon),
        "slope": calibration_slope(y, s_pred, horizon),
        "ici": ici, "e50": e50, "e90": e90,
        "oe_true": float(np.mean(1 - s_true) / np.mean(1 - s_pred)),
        "slope_true": float(np.polyfit(cll(s_pred), cll(s_true), 1)[0]),
        "ici_true": true_ici(s_pred, s_true),
        "mae_true": float(np.mean(np.abs(s_pred - s_true))),
        "n_clipped": clipped,
    }


def run(args):
    torch.set_num_threads(args.threads)
    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data_dir or tmp)
        for seed in args.seeds:
            start = time.perf_counter()
            train = make_synthetic_cohort(args.n_train, image_size=args.image_size, random_state=seed,
                                          data_dir=data, n_jobs=args.n_jobs)
            test = make_synthetic_cohort(args.n_test, image_size=args.image_size, random_state=seed + 1000,
                                         data_dir=data, n_jobs=args.n_jobs)
            print(f"seed {seed}: cohorts in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
            h = args.horizon
            s_true = true_survival(test, h)
            lp = test.risk_os.to_numpy()
            base = {"seed": seed, "horizon_days": h, "n_train": args.n_train, "n_test": args.n_test}
            references = {
                "oracle (true survival)": s_true,
                "mis-specified: too extreme (log-hazard x2)": np.exp(-np.exp(np.log(-np.log(s_true)) + lp - lp.mean())),
                "mis-specified: baseline / 2": s_true ** 0.5,
            }
            for name, s in references.items():
                rows.append({**base, "model": name, "c_index": concordance_index(test.y_os, -s),
                             **scores(test.y_os, s, s_true, h), "fit_s": 0.0})
            for name, model in make_models(args, seed, data / "cache").items():
                start = time.perf_counter()
                model.fit(train.X, train.y_os)
                fit_s = time.perf_counter() - start
                s = np.array([fn(h) for fn in model.predict_survival_function(test.X)])
                rows.append({**base, "model": name, "c_index": concordance_index(test.y_os, model.predict(test.X)),
                             **scores(test.y_os, s, s_true, h), "fit_s": fit_s})
                print(f"seed {seed}: {name} fitted in {fit_s:.0f} s", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows)
    header = [f"# bench_calibration.py {' '.join(sys.argv[1:])}; SIMULATED data (make_synthetic_cohort), not patients",
              f"# {machine_line()}; torch threads {args.threads}; load average before {load_before:.1f} "
              f"after {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"]
    out = Path(args.out)
    out.write_text("\n".join(header) + "\n" + table.to_csv(index=False, float_format="%.4f"), encoding="utf-8")
    print(table.drop(columns=["n_train", "n_test", "horizon_days"]).to_string(index=False, float_format="%.3f"))
    print(f"wrote {out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--n-train", type=int, default=600)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--horizon", type=float, default=1095.0, help="days (1095 = 3 years)")
    parser.add_argument("--image-size", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--data-dir", help="keep the cohorts here (default: a temporary folder)")
    parser.add_argument("--out", default="bench_calibration.csv")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
