"""Is the synthetic cohort's image signal learnable by DenseNetSurvival? (issue 5)

Trains ``DenseNetSurvival`` on the images alone of a paper-size synthetic cohort
(``make_synthetic_cohort(287, random_state=0)``, default image size, OS outcome) and scores
it on a fresh cohort from another ``random_state`` (default 1000 patients), because a
44-patient test set cannot tell a model from noise (docs/user_guide/synthetic.rst). Prints the model's
Harrell C-index, the oracle C-index of the true OS log-hazard on the same cohort, and the
Spearman correlation of the predicted risk with the true image-only risk component.

Run: ``python benchmarks/bench_image_signal.py [--epochs 30] [--n-test 1000]``; the demo's
CPU-sized setting: ``--image-size 32 --size 32 --net compact --epochs 12``. The fit time
printed includes preprocessing the training images (cached on disk for later runs).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import spearmanr
from sksurv.metrics import concordance_index_censored

from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.nn import DenseNetSurvival
from sarcoma_survival.preprocessing import VolumePreprocessor

COMPACT = {"module__init_features": 32, "module__growth_rate": 16, "module__block_config": (3, 6, 6)}


def _harrell(y, risk):
    return concordance_index_censored(y["event"], y["time"], risk)[0]


def _image_component(cohort):
    for key in ("image_risk_os", "risk_os_image"):
        if key in cohort:
            return np.asarray(cohort[key], dtype=float)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=287)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--image-size", type=int, default=48, help="synthetic image size")
    parser.add_argument("--size", type=int, default=48, help="preprocessed grid edge")
    parser.add_argument("--net", choices=("densenet121", "compact"), default="densenet121",
                        help="compact = the demo's 3-block DenseNet (init 32, growth 16, blocks 3/6/6)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's choice); 1 avoids oversubscription on a shared machine")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    start = time.perf_counter()
    train = make_synthetic_cohort(args.n_train, image_size=args.image_size, random_state=0, n_jobs=args.n_jobs)
    test = make_synthetic_cohort(args.n_test, image_size=args.image_size, random_state=12345, n_jobs=args.n_jobs)
    image_cols = [c for c in ("t1", "t2", "mask") if c in train.X.columns]
    print(f"cohorts ready in {time.perf_counter() - start:.0f}s; image columns {image_cols}")

    model = DenseNetSurvival(
        preprocessor=VolumePreprocessor(size=args.size, n_jobs=args.n_jobs),
        **(COMPACT if args.net == "compact" else {}),
        max_epochs=args.epochs, lr=args.lr, random_state=0, verbose=1,
    )
    start = time.perf_counter()
    cpu_start = time.process_time()
    model.fit(train.X[image_cols], train.y_os)
    fit_s = time.perf_counter() - start
    fit_cpu = time.process_time() - cpu_start
    risk = model.predict(test.X[image_cols])

    c_model = _harrell(test.y_os, risk)
    c_oracle = _harrell(test.y_os, np.asarray(test.risk_os, dtype=float))
    image_true = _image_component(test)
    rho = spearmanr(risk, image_true).statistic if image_true is not None else float("nan")
    print(f"fit {fit_s:.0f}s wall, {fit_cpu:.0f}s CPU (best epoch {model.best_epoch_}) | test n={args.n_test} "
          f"events={int(test.y_os['event'].sum())}")
    print(f"C-index model {c_model:.3f} | oracle {c_oracle:.3f} | "
          f"Spearman(pred, true image risk) {rho:.3f}")


if __name__ == "__main__":
    main()
