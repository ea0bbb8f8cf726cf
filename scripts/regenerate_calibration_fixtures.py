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

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
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


def _numbers(path):
    if path.suffix == ".csv":
        return pd.read_csv(path).to_numpy(dtype=float).ravel()
    values = []

    def walk(node):
        if isinstance(node, dict):
            for key in sorted(node):
                if key not in ("versions", "version", "covariates"):
                    walk(node[key])
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, (int, float)) or node is None:
            values.append(np.nan if node is None else float(node))

    walk(json.loads(path.read_text()))
    return np.asarray(values)


def check():
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        regenerate(fresh)
        bad = []
        for stored in sorted(FIXTURES.iterdir()):
            new = fresh / stored.name
            if not new.is_file():
                bad.append(f"{stored.name}: not regenerated")
                continue
            a, b = _numbers(stored), _numbers(new)
            if a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True):
                bad.append(f"{stored.name}: differs from a fresh run")
        if bad:
            print("calibration fixtures out of date:\n  " + "\n  ".join(bad))
            return 1
        print(f"calibration fixtures match a fresh run ({len(list(FIXTURES.iterdir()))} files)")
        return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of rewriting")
    args = parser.parse_args(argv)
    if shutil.which("Rscript") is None:
        print("Rscript not found: install r-base-core r-cran-survival r-cran-hmisc "
              "r-cran-polspline r-cran-cmprsk r-cran-riskregression r-cran-jsonlite")
        return 2
    if args.check:
        return check()
    regenerate(FIXTURES)
    print(f"wrote {FIXTURES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
