"""Coefficient tables of the Cox-type models against R's ``coxph`` (stored outputs).

``tests/fixtures/calibration/coef_r.json`` was written by
``scripts/regenerate_calibration_fixtures.py`` (R calls in ``scripts/calibration_fixtures.R``):
``coxph`` on GBSG (686 patients, 6 covariates; Breslow and Efron ties, and a ridge penalty)
and cause-specific ``coxph`` on riskRegression's Melanoma (205 patients, two causes);
``cmprsk::crr``'s robust variance on Melanoma and on the competing-risks tests' synthetic
cohort (400 patients, tied days).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sksurv.util import Surv

from sarcoma_survival.competing_risks import CauseSpecificCoxPH, FineGrayCoxPH, competing_y
from sarcoma_survival.models import SarculatorCoxPH
from sarcoma_survival.utils import cox_covariance

FIXTURES = Path(__file__).parent / "fixtures" / "calibration"
COLUMNS = ["coef", "se", "z", "p", "hr", "hr_lower", "hr_upper"]


@pytest.fixture(scope="module")
def r():
    return json.loads((FIXTURES / "coef_r.json").read_text())


def _csv(name):
    return pd.read_csv(FIXTURES / name)


@pytest.mark.parametrize(("key", "ties", "alpha"), [
    ("gbsg_breslow", "breslow", 0.0), ("gbsg_efron", "efron", 0.0), ("gbsg_ridge1", "breslow", 1.0),
])
def test_cox_standard_errors_match_r_coxph_on_gbsg(r, key, ties, alpha):
    data = _csv("gbsg_data.csv")
    X = data[r["covariates"]]
    y = competing_y(data["status"].to_numpy(), data["time"].to_numpy(dtype=float))
    model = CauseSpecificCoxPH(ties=ties, alpha=alpha, tol=1e-12).fit(X, y)
    table = model.coef_table_.loc[1]
    assert list(table.index) == r["covariates"] and list(table.columns) == COLUMNS
    np.testing.assert_allclose(table["coef"], r[key]["coef"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(table["se"], r[key]["se"], rtol=0, atol=1e-6)


def test_cause_specific_tables_match_r_coxph_on_melanoma(r):
    data = _csv("melanoma_data.csv")
    X = data[["age", "logthick", "ulcer"]].to_numpy(dtype=float)
    y = competing_y(data["status"].to_numpy(), data["time"].to_numpy(dtype=float))
    model = CauseSpecificCoxPH(tol=1e-12).fit(X, y)
    assert model.coef_table_.index.names == ["cause", "feature"]
    for cause in (1, 2):
        table = model.coef_table_.loc[cause]
        assert list(table.index) == ["x0", "x1", "x2"]
        np.testing.assert_allclose(table["coef"], r[f"melanoma_csc_{cause}"]["coef"], atol=1e-6)
        np.testing.assert_allclose(table["se"], r[f"melanoma_csc_{cause}"]["se"], atol=1e-6)


def test_table_columns_are_the_wald_statistics(r):
    data = _csv("melanoma_data.csv")
    y = competing_y(data["status"].to_numpy(), data["time"].to_numpy(dtype=float))
    table = CauseSpecificCoxPH().fit(data[["age", "logthick", "ulcer"]], y).coef_table_.loc[1]
    np.testing.assert_allclose(table["z"], table["coef"] / table["se"])
    np.testing.assert_allclose(table["p"], 2 * norm.sf(np.abs(table["z"])))
    np.testing.assert_allclose(table["hr"], np.exp(table["coef"]))
    np.testing.assert_allclose(table["hr_lower"], np.exp(table["coef"] - 1.959963984540054 * table["se"]))
    np.testing.assert_allclose(table["hr_upper"], np.exp(table["coef"] + 1.959963984540054 * table["se"]))


def test_cause_without_event_has_nan_standard_errors():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = competing_y(rng.integers(0, 2, 40), rng.exponential(1.0, 40) + 0.01)
    table = CauseSpecificCoxPH(cause=2).fit(X, y).coef_table_
    assert np.isnan(table.loc[2, "se"]).all() and np.isfinite(table.loc[1, "se"]).all()


def _sarculator_table_cohort(n=150, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "age": rng.normal(55, 15, n).round(), "tumor_size_cm": rng.gamma(4.0, 2.5, n).round(1),
        "grade": rng.choice(["low", "high"], n, p=[0.3, 0.7]),
        "histology": rng.choice(["liposarcoma", "leiomyosarcoma", "synovial sarcoma"], n),
    })
    risk = 0.03 * (X["age"] - 55) + 0.1 * (X["tumor_size_cm"] - 10) + (X["grade"] == "high")
    t = rng.exponential(1500 * np.exp(-risk.to_numpy()))
    c = rng.uniform(300, 3000, n)
    return X, Surv.from_arrays(t <= c, np.round(np.minimum(t, c)) + 1.0)  # tied days


def test_sarculator_cox_table_gives_the_identifiable_effects():
    # every level of a categorical column is one-hot encoded, so the coefficients of one
    # block are identified only up to a common shift: the table gives each level against
    # the reference level, with the contrast's own standard error
    X, y = _sarculator_table_cohort()
    model = SarculatorCoxPH(ties="efron").fit(X, y)
    table = model.coef_table_
    assert list(table.index) == ["age", "tumor_size_cm", "grade_low vs grade_high",
                                 "histology_liposarcoma vs histology_leiomyosarcoma",
                                 "histology_synovial sarcoma vs histology_leiomyosarcoma"]
    assert list(table.columns) == COLUMNS
    names = list(model.get_feature_names_out())
    coef = dict(zip(names, model.coef_))
    np.testing.assert_allclose(table.loc["grade_low vs grade_high", "coef"], coef["grade_low"] - coef["grade_high"])
    np.testing.assert_allclose(table.loc[["age", "tumor_size_cm"], "coef"], model.coef_[:2])
    # the same computation as a cause-specific Cox model on the encoded matrix
    covariance = cox_covariance(model.transform(X), model.coef_, y["event"], y["time"], ties="efron", alpha=1.0)
    i, j = names.index("grade_low"), names.index("grade_high")
    se = np.sqrt(covariance[i, i] + covariance[j, j] - 2 * covariance[i, j])
    np.testing.assert_allclose(table.loc["grade_low vs grade_high", "se"], se, rtol=1e-10)
    assert (table["se"] > 0).all() and (table["hr_lower"] < table["hr"]).all()
    # grade, which drives the simulated risk (log HR 1 for high), is found: the per-level
    # rows of the old table (+-0.60, se 0.72, p = 0.40 on this cohort) hid it
    assert table.loc["grade_low vs grade_high", "p"] < 1e-4


def test_sarculator_cox_table_matches_lifelines_on_treatment_contrasts():
    # with a vanishing ridge, the contrasts are the unpenalized Cox fit of the treatment-coded
    # design (R's default contrasts), here fitted by lifelines
    from lifelines import CoxPHFitter

    X, y = _sarculator_table_cohort()
    model = SarculatorCoxPH(alpha=1e-6, ties="efron", tol=1e-12).fit(X, y)
    names, _, columns = model.feature_transformer_.reference_contrasts()
    design = pd.DataFrame(model.transform(X)[:, columns], columns=names).assign(T=y["time"], E=y["event"])
    reference = CoxPHFitter(penalizer=0.0).fit(design, "T", "E")
    np.testing.assert_allclose(model.coef_table_["coef"], reference.params_[names], atol=1e-6)
    np.testing.assert_allclose(model.coef_table_["se"], reference.standard_errors_[names], atol=1e-6)


def test_sarculator_fine_gray_table_gives_the_contrasts_crr_fits_on_treatment_coding():
    # FineGrayCoxPH on the cohort table drops each reference level (its robust variance is
    # R's crr's, tested above); SarculatorFineGray encodes every level and reports contrasts
    from sarcoma_survival.models import SarculatorFineGray

    X, y_os = _sarculator_table_cohort()
    rng = np.random.default_rng(1)
    y = competing_y(np.where(y_os["event"], rng.integers(1, 3, len(y_os)), 0), y_os["time"])
    model = SarculatorFineGray(alpha=1e-6, tol=1e-12, min_frequency=1).fit(X, y)
    reference = FineGrayCoxPH(alpha=0.0, tol=1e-12, columns="sarculator", min_frequency=1).fit(X, y)
    table, expected = model.coef_table_, reference.coef_table_
    assert list(table.index)[2] == "grade_low vs grade_high"
    np.testing.assert_allclose(table["coef"], expected["coef"], atol=1e-5)
    np.testing.assert_allclose(table["se"], expected["se"], atol=1e-5)


def test_tables_survive_the_safe_model_file(tmp_path, r):
    from sarcoma_survival import load_model, save_model

    data = _csv("melanoma_data.csv")
    y = competing_y(data["status"].to_numpy(), data["time"].to_numpy(dtype=float))
    model = CauseSpecificCoxPH().fit(data[["age", "logthick", "ulcer"]], y)
    save_model(model, tmp_path / "csc.zip")
    pd.testing.assert_frame_equal(load_model(tmp_path / "csc.zip").coef_table_, model.coef_table_)


@pytest.mark.parametrize("cause", [1, 2])
@pytest.mark.parametrize(("name", "path", "columns"), [
    ("melanoma", "calibration/melanoma_data.csv", ["age", "logthick", "ulcer"]),
    ("synthetic", "competing_risks/synthetic_data.csv", ["age10", "logsize", "grade_high", "mets"]),
])
def test_fine_gray_robust_standard_errors_match_crr(r, name, path, columns, cause):
    data = pd.read_csv(FIXTURES.parent / path)
    y = competing_y(data["status"].to_numpy(), data["time"].to_numpy(dtype=float))
    table = FineGrayCoxPH(cause=cause, tol=1e-12).fit(data[columns], y).coef_table_
    assert list(table.index) == columns and list(table.columns) == COLUMNS
    np.testing.assert_allclose(table["coef"], r[f"{name}_crr_{cause}"]["coef"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(table["se"], r[f"{name}_crr_{cause}"]["se"], rtol=0, atol=1e-6)


def test_fine_gray_table_without_event_of_the_cause_is_nan(tmp_path):
    from sarcoma_survival import load_model, save_model

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = competing_y(rng.integers(0, 2, 40) * 2, rng.exponential(1.0, 40) + 0.01)
    model = FineGrayCoxPH(cause=1).fit(X, y)
    assert model.coef_table_["se"].isna().all() and (model.coef_table_["coef"] == 0).all()
    save_model(model, tmp_path / "fg.zip")
    pd.testing.assert_frame_equal(load_model(tmp_path / "fg.zip").coef_table_, model.coef_table_)
