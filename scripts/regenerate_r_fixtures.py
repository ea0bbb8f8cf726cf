#!/usr/bin/env python3
"""Regenerate (or check) the R reference values of the competing-risks tests.

Usage (from the repository root, with the project's Python and R)::

    python scripts/regenerate_r_fixtures.py            # rewrite tests/fixtures/competing_risks
    python scripts/regenerate_r_fixtures.py --check    # recompute in a temporary folder and
                                                       # compare with the stored fixtures

R needs the Debian packages r-base-core, r-cran-cmprsk, r-cran-survival,
r-cran-riskregression and r-cran-pec (the R calls are in scripts/competing_risks_fixtures.R).
The synthetic input is written first by this script, from the toolkit's generator.
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
FIXTURES = ROOT / "tests" / "fixtures" / "competing_risks"
R_SCRIPT = ROOT / "scripts" / "competing_risks_fixtures.R"


def write_synthetic(folder):
    """Synthetic cohort with other-cause deaths: DM (1) vs death without DM (2)."""
    sys.path.insert(0, str(ROOT))
    from sksurv.util import Surv

    from sarcoma_survival.competing_risks import dm_competing_y
    from sarcoma_survival.datasets._synthetic_model import simulate_patients

    table = simulate_patients(400, random_state=7, competing_death_weight=1.0)
    out, clinical = table["outcomes"], table["clinical_true"]
    y = dm_competing_y(Surv.from_arrays(out["os_event"], out["os_time"]),
                       Surv.from_arrays(out["dm_event"], out["dm_time"]))
    frame = pd.DataFrame({
        "time": y["time"], "status": y["event"],
        "age10": clinical["age"].to_numpy() / 10.0,
        "logsize": np.round(np.log(clinical["tumor_size_cm"].to_numpy()), 6),
        "grade_high": (clinical["grade"].to_numpy() == "high").astype(float),
        "mets": clinical["mets_at_presentation"].to_numpy(dtype=float),
    })
    frame.to_csv(folder / "synthetic_data.csv", index=False)


def regenerate(folder):
    folder.mkdir(parents=True, exist_ok=True)
    write_synthetic(folder)
    subprocess.run(["Rscript", str(R_SCRIPT), str(folder)], check=True, cwd=ROOT)


def fixture_numbers(path):
    """Every number of a fixture file (CSV cells, or JSON values in key order; null = nan)."""
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


def check_fresh(fixtures, regenerate_into, what):
    """Regenerate into a temporary folder and compare every stored fixture with it."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        regenerate_into(fresh)
        bad = []
        for stored in sorted(fixtures.iterdir()):
            new = fresh / stored.name
            if not new.is_file():
                bad.append(f"{stored.name}: not regenerated")
                continue
            a, b = fixture_numbers(stored), fixture_numbers(new)
            if a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True):
                bad.append(f"{stored.name}: differs from a fresh run")
        if bad:
            print(f"{what} out of date:\n  " + "\n  ".join(bad))
            return 1
        print(f"{what} match a fresh run ({len(list(fixtures.iterdir()))} files)")
        return 0


def fixture_main(argv, description, fixtures, regenerate_into, r_packages, what):
    """Command line of a fixture script: rewrite ``fixtures``, or ``--check`` them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="compare instead of rewriting")
    args = parser.parse_args(argv)
    if shutil.which("Rscript") is None:
        print(f"Rscript not found: install {r_packages}")
        return 2
    if args.check:
        return check_fresh(fixtures, regenerate_into, what)
    regenerate_into(fixtures)
    print(f"wrote {fixtures}")
    return 0


def main(argv=None):
    return fixture_main(argv, __doc__.splitlines()[0], FIXTURES, regenerate,
                        "r-base-core r-cran-cmprsk r-cran-survival r-cran-riskregression r-cran-pec",
                        "R fixtures")


if __name__ == "__main__":
    sys.exit(main())
