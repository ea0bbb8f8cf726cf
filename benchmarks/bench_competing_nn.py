"""Neural competing-risks model against cause-specific Cox models, on simulated data.

Two fresh synthetic cohorts with competing deaths (``competing_death_weight=1``): 600
training and 1500 test patients, as in the example ``plot_competing_risks``. On the
clinical variables (:class:`~sarcoma_survival.preprocessing.ClinicalEncoder`):

* ``CauseSpecificCoxPH(alpha=1)`` (one Cox model per cause, ridge 1);
* ``ClinicalMLPSurvival(cause=1)`` with its defaults (the paper's clinical MLP, Adam,
  100 epochs, best epoch on an inner 20 % split), one log-risk per cause, for several
  seeds.

Printed for each: the cause-specific concordance of DM (Wolbers et al. 2014) on the test
cohort, truncated at 3 years and untruncated, and the mean over risk deciles of
(predicted - observed Aalen-Johansen) 3-year DM incidence. Simulated data: the figures
say how the models compare on this generator, not on patients.

Run: ``python benchmarks/bench_competing_nn.py [--seeds 3]``. Every figure is measured
when it runs; nothing is stored.
"""
from __future__ import annotations

import argparse
import tempfile

import numpy as np

from sarcoma_survival.competing_risks import (
    CauseSpecificCoxPH,
    concordance_index_competing,
    incidence_calibration_table,
)
from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.nn import ClinicalMLPSurvival
from sarcoma_survival.preprocessing import ClinicalEncoder

HORIZON = 3 * 365.25


def _figures(y, risk, incidence):
    table = incidence_calibration_table(y, incidence, HORIZON, cause=1, n_groups=10)
    return (
        concordance_index_competing(y, risk, cause=1, tau=HORIZON),
        concordance_index_competing(y, risk, cause=1),
        float((table["predicted"] - table["observed"]).mean()),
    )


def main(seeds):
    with tempfile.TemporaryDirectory() as tmp:
        train = make_synthetic_cohort(600, image_size=12, random_state=0, competing_death_weight=1.0,
                                      data_dir=f"{tmp}/train")
        test = make_synthetic_cohort(1500, image_size=12, random_state=1, competing_death_weight=1.0,
                                     data_dir=f"{tmp}/test")
    y_train, y_test = train.y_dm_competing, test.y_dm_competing
    print("test events (censored, DM, death without DM):", np.bincount(y_test["event"], minlength=3))
    rows = []
    encoder = ClinicalEncoder(columns="clinical").fit(train.X)
    cox = CauseSpecificCoxPH(alpha=1.0).fit(encoder.transform(train.X), y_train)
    Z = encoder.transform(test.X)
    rows.append(("CauseSpecificCoxPH(alpha=1)",
                 *_figures(y_test, cox.predict(Z), cox.predict_cumulative_incidence(Z, [HORIZON])[:, 0])))
    for seed in range(seeds):
        net = ClinicalMLPSurvival(cause=1, random_state=seed).fit(train.X, y_train)
        rows.append((f"ClinicalMLPSurvival(cause=1), seed {seed}",
                     *_figures(y_test, net.predict(test.X),
                               net.predict_cumulative_incidence(test.X, [HORIZON])[:, 0])))
    print(f"{'model':42s} {'C (3 y)':>8s} {'C (all)':>8s} {'pred-obs 3 y':>13s}")
    for name, c3, c_all, excess in rows:
        print(f"{name:42s} {c3:8.3f} {c_all:8.3f} {excess:+13.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    main(parser.parse_args().seeds)
