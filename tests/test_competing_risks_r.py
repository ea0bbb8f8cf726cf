"""Agreement with R's cmprsk, riskRegression and pec (stored outputs; R is not needed).

The fixtures in tests/fixtures/competing_risks were written by
``scripts/regenerate_r_fixtures.py`` (R calls in ``scripts/competing_risks_fixtures.R``)
on riskRegression's Melanoma data (205 patients, death from melanoma vs other causes,
tied times) and on a 400-patient synthetic cohort with other-cause deaths (DM vs death
without DM, many tied days).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sarcoma_survival.competing_risks import (
    CauseSpecificCoxPH,
    FineGrayCoxPH,
    aalen_johansen,
    brier_score_competing,
    competing_y,
    concordance_index_competing,
    cumulative_dynamic_auc_competing,
)

FIXTURES = Path(__file__).parent / "fixtures" / "competing_risks"
DATASETS = ["melanoma", "synthetic"]


@pytest.fixture(scope="module", params=DATASETS)
def reference(request):
    name = request.param
    data = pd.read_csv(FIXTURES / f"{name}_data.csv")
    r = json.loads((FIXTURES / f"{name}_r.json").read_text())
    X = data[r["covariates"]].to_numpy(dtype=float)
    y = competing_y(data["status"].to_numpy(), data["time"].to_numpy())
    incidence = pd.read_csv(FIXTURES / f"{name}_crr_incidence.csv").to_numpy(dtype=float)
    cuminc = pd.read_csv(FIXTURES / f"{name}_cuminc.csv")
    return {"name": name, "X": X, "y": y, "r": r, "times": np.asarray(r["times"], dtype=float),
            "incidence": incidence, "cuminc": cuminc}


def test_fixtures_hold_both_causes_ties_and_censoring(reference):
    y = reference["y"]
    assert set(np.unique(y["event"])) == {0, 1, 2}
    assert np.unique(y["time"]).size < y.size  # tied times exercise the tie conventions


@pytest.mark.parametrize("cause", [1, 2])
def test_fine_gray_coefficients_match_crr(reference, cause):
    model = FineGrayCoxPH(cause=cause).fit(reference["X"], reference["y"])
    np.testing.assert_allclose(model.coef_, reference["r"][f"crr_coef_{cause}"], rtol=0, atol=1e-3)


def test_fine_gray_baseline_and_incidence_match_crr(reference):
    model = FineGrayCoxPH(cause=1).fit(reference["X"], reference["y"])
    np.testing.assert_allclose(model.event_times_, reference["r"]["crr_uftime"])
    np.testing.assert_allclose(
        model.baseline_cumulative_hazard_, np.cumsum(reference["r"]["crr_bfitj"]), rtol=0, atol=1e-5
    )
    predicted = model.predict_cumulative_incidence(reference["X"], reference["times"])
    np.testing.assert_allclose(predicted, reference["incidence"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("cause", [1, 2])
def test_aalen_johansen_matches_cuminc(reference, cause):
    times, cif = aalen_johansen(reference["y"], cause=cause)
    np.testing.assert_array_equal(times, reference["cuminc"]["time"].to_numpy(dtype=float))
    np.testing.assert_allclose(cif, reference["cuminc"][f"cause{cause}"], rtol=0, atol=1e-8)


def test_brier_score_matches_riskregression_score(reference):
    scores = brier_score_competing(reference["y"], reference["incidence"], reference["times"], cause=1)
    np.testing.assert_allclose(scores, reference["r"]["score_brier"], rtol=0, atol=1e-6)


def test_auc_matches_riskregression_score(reference):
    auc = cumulative_dynamic_auc_competing(
        reference["y"], reference["incidence"], reference["times"], cause=1
    )
    np.testing.assert_allclose(auc, reference["r"]["score_auc"], rtol=0, atol=1e-6)


def test_concordance_matches_pec_cindex(reference):
    # pec evaluates the prediction at each eval time and truncates at it
    values = [
        concordance_index_competing(reference["y"], reference["incidence"][:, j], cause=1, tau=t)
        for j, t in enumerate(reference["times"])
    ]
    np.testing.assert_allclose(values, reference["r"]["pec_cindex"], rtol=0, atol=1e-3)


@pytest.mark.parametrize("cause", [1, 2])
def test_cause_specific_cox_matches_riskregression_csc(reference, cause):
    model = CauseSpecificCoxPH(cause=cause).fit(reference["X"], reference["y"])
    for k in (1, 2):
        np.testing.assert_allclose(model.coef_[k - 1], reference["r"][f"csc_coef_{k}"], rtol=0, atol=1e-6)
    incidence = model.predict_cumulative_incidence(reference["X"][:20], reference["times"])
    np.testing.assert_allclose(
        incidence, np.asarray(reference["r"][f"csc_incidence_{cause}"]), rtol=0, atol=1e-6
    )
