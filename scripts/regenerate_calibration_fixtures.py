#!/usr/bin/env python3
"""Regenerate (or check) the reference values of the calibration and decision-curve tests.

Usage (from the repository root)::

    python scripts/regenerate_calibration_fixtures.py          # rewrite tests/fixtures/calibration
    python scripts/regenerate_calibration_fixtures.py --check  # recompute in a temporary folder
                                                               # and compare with the fixtures

Three references, none of them a dependency of the library or of its tests:

* R (Debian packages r-base-core r-cran-survival r-cran-hmisc r-cran-polspline r-cran-cmprsk
  r-cran-riskregression r-cran-jsonlite; the calls are in scripts/calibration_fixtures.R):
  a Cox model fitted on survival's ``rotterdam`` and validated on ``gbsg``; calibration slope,
  the restricted-cubic-spline calibration curve with ICI/E50/E90, Austin et al.'s
  ``polspline::hare`` curve, Kaplan-Meier observed risk; Fine-Gray on riskRegression's
  ``Melanoma`` with its net benefit and incidence from ``cmprsk::cuminc``.
* SurvivalEVAL 0.9.0 (``pip install --no-deps survivaleval``; its pins on torch, pillow and
  setuptools do not fit the project's constraints): D-calibration of the Cox model on GBSG.
* dcurves 1.1.7 (``pip install dcurves``): the survival decision curve of the same model.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from regenerate_r_fixtures import fixture_main  # noqa: E402  (the one fixture command line)

FIXTURES = ROOT / "tests" / "fixtures" / "calibration"
R_SCRIPT = ROOT / "scripts" / "calibration_fixtures.R"
#: thresholds of the dcurves reference (its default grid, to 0.5)
DCURVES_THRESHOLDS = [round(0.01 * i, 2) for i in range(51)]
DCURVES_HORIZON = 1826


def gbsg_predictions(folder):
    """GBSG outcome and the Rotterdam Cox model's survival curve of each patient."""
    data = pd.read_csv(folder / "gbsg_data.csv")
    base = pd.read_csv(folder / "rotterdam_baseline.csv")

    def survival(times):
        idx = np.searchsorted(base["time"].to_numpy(), times, side="right") - 1
        h0 = np.where(idx >= 0, base["cumhaz"].to_numpy()[np.maximum(idx, 0)], 0.0)
        return np.exp(-h0 * np.exp(data["lp"].to_numpy()))

    return data, survival


def survivaleval_reference(folder):
    from SurvivalEVAL.evaluations.calibration.distributional.distribution_calibration import (
        d_calibration,
    )
    data, survival = gbsg_predictions(folder)
    at_own_time = survival(data["time"].to_numpy(dtype=float))
    result = {"version": _version("survivaleval")}
    for n_bins in (10, 5):
        statistic, p_value, hist = d_calibration(at_own_time, data["status"].to_numpy(), n_bins)
        result[f"bins_{n_bins}"] = {"statistic": float(statistic), "p_value": float(p_value),
                                    "histogram": np.asarray(hist, dtype=float).tolist()}
    (folder / "survivaleval.json").write_text(json.dumps(result, indent=2))


def dcurves_reference(folder):
    from dcurves import dca

    data, survival = gbsg_predictions(folder)
    frame = pd.DataFrame({
        "time": data["time"].to_numpy(dtype=float), "status": data["status"].to_numpy(dtype=int),
        "cox": 1.0 - survival(np.full(len(data), float(DCURVES_HORIZON))),
    })
    table = dca(data=frame, outcome="status", modelnames=["cox"], thresholds=DCURVES_THRESHOLDS,
                time=DCURVES_HORIZON, time_to_outcome_col="time")
    result = {"version": _version("dcurves"), "horizon": DCURVES_HORIZON,
              "thresholds": DCURVES_THRESHOLDS}
    for model in ("cox", "all", "none"):
        rows = table[table["model"] == model].sort_values("threshold")
        result[model] = [None if pd.isna(v) else float(v) for v in rows["net_benefit"]]
    (folder / "dcurves.json").write_text(json.dumps(result, indent=2))


def _version(name):
    from importlib.metadata import version

    return version(name)


def regenerate(folder):
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["Rscript", str(R_SCRIPT), str(folder)], check=True, cwd=ROOT)
    survivaleval_reference(folder)
    dcurves_reference(folder)


def main(argv=None):
    return fixture_main(argv, __doc__.splitlines()[0], FIXTURES, regenerate,
                        "r-base-core r-cran-survival r-cran-hmisc r-cran-polspline r-cran-cmprsk "
                        "r-cran-riskregression r-cran-jsonlite", "calibration fixtures")


if __name__ == "__main__":
    sys.exit(main())
