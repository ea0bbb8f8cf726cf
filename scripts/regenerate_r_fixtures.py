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
    from sarcoma_survival.competing_risks._outcome import dm_competing_y
    from sksurv.util import Surv

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


def _numbers(path):
    if path.suffix == ".csv":
        return pd.read_csv(path).to_numpy(dtype=float).ravel()
    data = json.loads(path.read_text())
    values = []
    for key, value in sorted(data.items()):
        if key not in ("versions", "covariates"):
            values.extend(np.ravel(np.asarray(value, dtype=float)))
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
            if a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=1e-12):
                bad.append(f"{stored.name}: differs from a fresh R run")
        if bad:
            print("R fixtures out of date:\n  " + "\n  ".join(bad))
            return 1
        print(f"R fixtures match a fresh R run ({len(list(FIXTURES.iterdir()))} files)")
        return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of rewriting")
    args = parser.parse_args(argv)
    if shutil.which("Rscript") is None:
        print("Rscript not found: install r-base-core r-cran-cmprsk r-cran-survival "
              "r-cran-riskregression r-cran-pec")
        return 2
    if args.check:
        return check()
    regenerate(FIXTURES)
    print(f"wrote {FIXTURES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
