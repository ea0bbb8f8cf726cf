"""Competing-risks outcome, estimators, metrics and the synthetic competing deaths."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.nonparametric import cumulative_incidence_competing_risks
from sksurv.util import Surv

from sarcoma_survival.competing_risks import (
    CauseSpecificCoxPH,
    FineGrayCoxPH,
    aalen_johansen,
    brier_score_competing,
    competing_y,
    concordance_index_competing,
    cumulative_dynamic_auc_competing,
    dm_competing_y,
    integrated_brier_score_competing,
    make_competing_risks_scorer,
)
from sarcoma_survival.datasets._synthetic_model import simulate_patients
from sarcoma_survival.metrics import UndefinedConcordanceWarning
from sarcoma_survival.utils import check_competing_y

FIXTURE_V1 = Path(__file__).parent / "fixtures" / "synthetic_generator_v1_n60_rs3.csv"


def _simulated(n=300, seed=0):
    """Latent exponential cause times with known effects, uniform censoring, tied days."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    t1 = rng.exponential(1.0 / np.exp(0.7 * X[:, 0]))
    t2 = rng.exponential(1.0 / np.exp(-0.5 * X[:, 1]))
    c = rng.uniform(0.0, 3.0, n)
    t = np.minimum(np.minimum(t1, t2), c)
    event = np.where(t == c, 0, np.where(t == t1, 1, 2))
    return X, competing_y(event, np.ceil(t * 100.0))


# --------------------------------------------------------------------------- outcome
@pytest.mark.parametrize(
    "event, time, match",
    [
        ([True, False], [1.0, 2.0], "boolean"),
        ([1, -1], [1.0, 2.0], r"integers >= 0.*sample 1"),
        ([1, 1.5], [1.0, 2.0], r"integers >= 0.*sample 1"),
        ([1, 0], [1.0, np.nan], "NaN or infinite for: sample 1"),
        ([1, 0], [0.0, 2.0], r"> 0; zero or negative for: sample 0"),
        ([1, 0, 2], [1.0, 2.0], "3 entries but time has 2"),
        (["a", "b"], [1.0, 2.0], "integer cause codes"),
    ],
)
def test_competing_y_refuses_bad_input_with_a_named_error(event, time, match):
    with pytest.raises(ValueError, match=match):
        competing_y(event, time)


def test_check_competing_y_names_patients_and_refuses_survival_y():
    X = pd.DataFrame({"a": [1.0, 2.0]}, index=["P1", "P2"])
    y = np.array([(1, 5.0), (0, -2.0)], dtype=[("event", int), ("time", float)])
    with pytest.raises(ValueError, match=r"P2 \(-2"):
        check_competing_y(y, X)
    with pytest.raises(ValueError, match="boolean .*competing_y"):
        check_competing_y(Surv.from_arrays([True, False], [1.0, 2.0]))
    with pytest.raises(ValueError, match="all samples are censored"):
        check_competing_y(competing_y([0, 0], [1.0, 2.0]))
    with pytest.raises(ValueError, match="2 rows but y has 1"):
        check_competing_y(competing_y([1], [1.0]), X)


def test_dm_competing_outcome_rules():
    # P1 DM then death; P2 death without DM; P3 DM and death the same day (DM wins);
    # P4 death after the end of DM follow-up (censored); P5 alive.
    y_os = Surv.from_arrays([True, True, True, True, False], [900.0, 200.0, 300.0, 800.0, 500.0])
    y_dm = Surv.from_arrays([True, False, True, False, False], [400.0, 200.0, 300.0, 600.0, 500.0])
    y = dm_competing_y(y_os, y_dm)
    assert y["event"].tolist() == [1, 2, 1, 0, 0]
    assert y["time"].tolist() == [400.0, 200.0, 300.0, 600.0, 500.0]
    assert dm_competing_y(y_os, None) is None


def test_load_cohort_returns_y_dm_competing(tiny_cohort):
    from sarcoma_survival.datasets import load_cohort

    cohort = load_cohort(tiny_cohort.manifest)
    expected = dm_competing_y(cohort.y_os, cohort.y_dm)
    np.testing.assert_array_equal(cohort.y_dm_competing, expected)
    np.testing.assert_array_equal(tiny_cohort.y_dm_competing, expected)


# --------------------------------------------------------------------------- nonparametric
def test_aalen_johansen_equals_scikit_survival():
    _, y = _simulated()
    times, cif1 = aalen_johansen(y, cause=1)
    _, cif2 = aalen_johansen(y, cause=2)
    x, reference = cumulative_incidence_competing_risks(y["event"], y["time"])
    np.testing.assert_array_equal(times, x)
    np.testing.assert_allclose(cif1, reference[1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(cif2, reference[2], rtol=0, atol=1e-12)


def test_aalen_johansen_of_an_absent_cause_is_zero():
    times, cif = aalen_johansen(competing_y([1, 0, 1], [1.0, 2.0, 3.0]), cause=2)
    assert times.tolist() == [1.0, 2.0, 3.0] and cif.tolist() == [0.0, 0.0, 0.0]


# --------------------------------------------------------------------------- estimators
@pytest.mark.parametrize("alpha", [0.0, 0.7])
def test_fine_gray_without_competing_events_is_the_breslow_cox_model(alpha):
    X, y = _simulated()
    event = np.where(y["event"] == 2, 0, y["event"])
    fg = FineGrayCoxPH(alpha=alpha).fit(X, competing_y(event, y["time"]))
    cox = CoxPHSurvivalAnalysis(alpha=alpha, ties="breslow").fit(X, Surv.from_arrays(event == 1, y["time"]))
    np.testing.assert_allclose(fg.coef_, cox.coef_, rtol=0, atol=1e-8)


def test_fine_gray_coef_follows_column_order_and_names():
    X, y = _simulated()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = FineGrayCoxPH().fit(frame, y)
    permuted = FineGrayCoxPH().fit(frame[["c", "a", "b"]], y)
    np.testing.assert_allclose(permuted.coef_, model.coef_[[2, 0, 1]], rtol=0, atol=1e-10)
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    assert model.coef_[0] > 0.3 and model.coef_[1] > 0.1  # fewer competing deaths -> more cause 1


def test_ridge_penalty_shrinks_the_fine_gray_coefficients():
    X, y = _simulated()
    free = FineGrayCoxPH().fit(X, y).coef_
    ridge = FineGrayCoxPH(alpha=50.0).fit(X, y).coef_
    assert np.linalg.norm(ridge) < 0.8 * np.linalg.norm(free)


@pytest.mark.parametrize("estimator", [FineGrayCoxPH, CauseSpecificCoxPH])
def test_incidence_is_a_probability_that_grows_and_ranks_with_predict(estimator):
    X, y = _simulated()
    model = estimator(cause=1).fit(X, y)
    times = np.array([0.0, 10.0, 50.0, 100.0, 200.0, 400.0])
    incidence = model.predict_cumulative_incidence(X, times)
    assert incidence.shape == (len(X), times.size)
    assert np.all(incidence[:, 0] == 0) and np.all((incidence >= 0) & (incidence <= 1))
    assert np.all(np.diff(incidence, axis=1) >= -1e-12)
    if estimator is FineGrayCoxPH:  # proportional subdistribution hazards: same order
        order = np.argsort(model.predict(X))
        assert np.all(np.diff(incidence[order, -1]) >= -1e-12)


def test_cause_specific_incidences_sum_to_at_most_one_and_match_aalen_johansen_without_covariates():
    X, y = _simulated()
    times = np.array([20.0, 80.0, 250.0])
    total = sum(CauseSpecificCoxPH(cause=k).fit(X, y).predict_cumulative_incidence(X, times) for k in (1, 2))
    assert np.all(total <= 1 + 1e-12)
    constant = np.zeros((len(X), 1))
    for k in (1, 2):
        # no covariate: the Breslow hazards are Nelson-Aalen, the incidence Aalen-Johansen
        model = CauseSpecificCoxPH(cause=k, alpha=1.0).fit(constant, y)  # coef stays 0
        grid, cif = aalen_johansen(y, cause=k)
        expected = cif[np.searchsorted(grid, times, side="right") - 1]
        np.testing.assert_allclose(model.predict_cumulative_incidence(constant[:1], times)[0], expected,
                                   rtol=0, atol=1e-12)


@pytest.mark.parametrize("estimator", [FineGrayCoxPH, CauseSpecificCoxPH])
def test_a_training_fold_without_the_cause_keeps_its_head_with_zero_incidence(estimator):
    X, y = _simulated()
    only_cause_1 = competing_y(np.where(y["event"] == 2, 0, y["event"]), y["time"])
    model = estimator(cause=2).fit(X, only_cause_1)
    assert model.n_causes_ == 2
    np.testing.assert_array_equal(model.predict(X), 0.0)
    np.testing.assert_array_equal(model.predict_cumulative_incidence(X, [50.0, 300.0]), 0.0)


def test_cause_specific_coefficients_are_per_cause_cox_models():
    X, y = _simulated()
    model = CauseSpecificCoxPH(alpha=0.3).fit(X, y)
    for k in (1, 2):
        cox = CoxPHSurvivalAnalysis(alpha=0.3).fit(X, Surv.from_arrays(y["event"] == k, y["time"]))
        np.testing.assert_allclose(model.coef_[k - 1], cox.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(model.predict(X), X @ model.coef_[0])


# --------------------------------------------------------------------------- metrics
def test_concordance_by_hand_with_type_a_and_type_b_pairs():
    # No censoring before the last time: G = 1, so the index is the plain pair count.
    y = competing_y([1, 2, 1, 0], [1.0, 2.0, 3.0, 4.0])
    # comparable: (0,1) A, (0,2) A, (0,3) A, (2,3) A, (2,1) B
    assert concordance_index_competing(y, [3.0, 0.0, 2.0, 1.0]) == 1.0
    assert concordance_index_competing(y, [3.0, 2.5, 2.0, 1.0]) == pytest.approx(4 / 5)
    assert concordance_index_competing(y, [3.0, 0.0, 2.0, 1.0], tau=2.0) == 1.0
    assert concordance_index_competing(y, [1.0, 1.0, 1.0, 1.0]) == 0.5


def test_metrics_return_nan_with_a_warning_when_undefined():
    y = competing_y([2, 0, 2], [1.0, 2.0, 3.0])
    with pytest.warns(UndefinedConcordanceWarning, match="no comparable pair"):
        assert np.isnan(concordance_index_competing(y, [1.0, 2.0, 3.0]))
    with pytest.warns(UndefinedConcordanceWarning, match="no case or no control"):
        assert np.isnan(cumulative_dynamic_auc_competing(y, [[0.1], [0.2], [0.3]], [2.5])[0])


def test_brier_and_its_integral():
    X, y = _simulated()
    times = np.array([20.0, 80.0, 250.0])
    incidence = FineGrayCoxPH().fit(X, y).predict_cumulative_incidence(X, times)
    scores = brier_score_competing(y, incidence, times)
    grid, cif = aalen_johansen(y, 1)
    marginal = np.tile(cif[np.searchsorted(grid, times, side="right") - 1], (len(X), 1))
    assert np.all(scores < brier_score_competing(y, marginal, times))  # covariates help
    assert integrated_brier_score_competing(y, incidence, times) == pytest.approx(
        np.trapezoid(scores, times) / (times[-1] - times[0]))
    with pytest.raises(ValueError, match="shape"):
        brier_score_competing(y, incidence[:, :2], times)
    with pytest.raises(ValueError, match="within \\[0, 1\\]"):
        brier_score_competing(y, incidence + 1.0, times)


def test_scorer_truncates_at_tau_and_pickles():
    import pickle

    X, y = _simulated()
    model = FineGrayCoxPH().fit(X, y)
    scorer = pickle.loads(pickle.dumps(make_competing_risks_scorer(cause=1, tau=100.0)))
    assert scorer(model, X, y) == concordance_index_competing(y, model.predict(X), tau=100.0)
    assert make_competing_risks_scorer(2)(model, X, y) == concordance_index_competing(
        y, model.predict(X), cause=2)
    assert model.score(X, y) == concordance_index_competing(y, model.predict(X))
    with pytest.raises(ValueError, match="tau"):
        make_competing_risks_scorer(tau=-1.0)


# --------------------------------------------------------------------------- synthetic
def test_synthetic_outputs_unchanged_at_zero_competing_weight():
    """The v1 generator's outputs (recorded before other-cause deaths existed) stay."""
    recorded = pd.read_csv(FIXTURE_V1, index_col="patient_id")
    table = simulate_patients(60, random_state=3)
    now = table["outcomes"].join(table["clinical"]).join(table["risk_os"]).join(table["risk_dm"])
    pd.testing.assert_frame_equal(now, recorded, check_dtype=False, check_exact=False, rtol=1e-15)


def test_competing_deaths_change_only_the_deaths_and_never_follow_a_metastasis():
    base = simulate_patients(3000, random_state=4)
    more = simulate_patients(3000, random_state=4, competing_death_weight=2.0)
    pd.testing.assert_frame_equal(base["clinical"], more["clinical"])
    pd.testing.assert_frame_equal(base["latent"], more["latent"])
    a, b = base["outcomes"], more["outcomes"]
    assert np.all(b["os_time"] <= a["os_time"]) and b["os_event"].sum() > a["os_event"].sum()
    assert np.all(b["dm_time"] <= b["os_time"])  # no metastasis after death
    changed = b["os_time"] < a["os_time"]
    assert np.all(b["os_event"][changed])
    old = a["age"] if "age" in a else base["clinical"]["age"]
    young, older = old < 45, old > 70
    extra_death = changed & ~b["dm_event"]
    assert extra_death[older].mean() > 3 * extra_death[young].mean()


@pytest.mark.parametrize("weight", [0.0, 1.5])
def test_oracle_incidence_matches_aalen_johansen_of_a_large_draw(weight):
    table = simulate_patients(20000, random_state=21, competing_death_weight=weight)
    o = table["outcomes"]
    y = dm_competing_y(Surv.from_arrays(o["os_event"], o["os_time"]),
                       Surv.from_arrays(o["dm_event"], o["dm_time"]))
    times = np.array([365.25, 1095.75, 1826.25])
    for cause in (1, 2):
        truth = table["oracle"].cumulative_incidence(times, cause=cause, n_steps=1000).mean(axis=0)
        grid, cif = aalen_johansen(y, cause)
        observed = cif[np.searchsorted(grid, times, side="right") - 1]
        np.testing.assert_allclose(observed, truth, rtol=0, atol=0.012)


def test_death_censored_incidence_overestimates_the_true_dm_incidence():
    table = simulate_patients(20000, random_state=22, competing_death_weight=1.0)
    oracle = table["oracle"]
    t = np.array([1826.25])
    h = oracle.cumulative_cause_specific_hazards(t)
    naive = 1.0 - np.exp(-h[:, 0, 0])  # 1 - KM with death censored, in expectation
    truth = oracle.cumulative_incidence(t, cause=1, n_steps=1000)[:, 0]
    assert np.all(naive >= truth - 1e-9)
    assert naive.mean() - truth.mean() > 0.03
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert oracle.cumulative_incidence(t, cause=2, n_steps=1000).mean() > 0.15


# --------------------------------------------------------------------------- compare / demo
def test_compare_models_reports_the_dm_rows_both_ways(tiny_cohort):
    from sarcoma_survival import SarculatorCoxPH
    from sarcoma_survival.compare import compare_models
    from sarcoma_survival.competing_risks import SarculatorFineGray

    X, y = tiny_cohort.X, tiny_cohort.y_dm_competing
    train, test = np.arange(14), np.arange(14, 24)
    models = {"CoxPH": SarculatorCoxPH(), "FG": SarculatorFineGray(min_frequency=2)}
    table = compare_models(X, {"DM": y}, models, split=(train, test), n_bootstraps=20,
                           random_state=0)
    assert list(table.index) == ["CoxPH (DM, death censored)", "FG (DM, competing death)"]
    censored = SarculatorCoxPH().fit(
        X.iloc[train], Surv.from_arrays(y["event"][train] == 1, y["time"][train]))
    competing = SarculatorFineGray(min_frequency=2).fit(X.iloc[train], y[train])
    for row, model in (("CoxPH (DM, death censored)", censored), ("FG (DM, competing death)", competing)):
        expected = concordance_index_competing(y[test], model.predict(X.iloc[test]), cause=1)
        assert table.loc[row, ("DM", "test_c_index")] == pytest.approx(expected, abs=1e-12)
        assert 0 < table.loc[row, ("DM", "test_ibs")] < 0.5
    with pytest.raises(ValueError, match="need a competing outcome"):
        compare_models(X, tiny_cohort.y_dm, {"FG": SarculatorFineGray()}, cv=2)


def test_demo_shows_both_dm_rows_for_the_sarculator_variables(tmp_path):
    from sarcoma_survival._demo import run_demo

    run = run_demo(tmp_path / "run", n_patients=40, n_test=40, image_size=12,
                   models="sarculator-coxph", verbose=False)
    rows = [name for name in run.table.index if "(DM," in name]
    assert rows == ["sarculator-coxph (DM, death censored)", "sarculator-finegray (DM, competing death)"]
    for name in rows:
        assert run.table.loc[name, "DM C (SD)"] and run.table.loc[name, "DM IBS"]
        assert run.table.loc[name, "OS C (SD)"] == ""


# ------------------------------------------ issue 23: constant or collinear columns are named
def _two_column_table(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"age": rng.normal(60, 10, n), "size": rng.normal(8, 3, n)})
    return X, competing_y(rng.integers(0, 3, n), rng.exponential(500, n) + 1)


@pytest.mark.parametrize("model", [FineGrayCoxPH, CauseSpecificCoxPH])
@pytest.mark.parametrize("extra, match", [
    ({"site": lambda X: 1.0}, r"column\(s\) 'site' are constant in the training data"),
    ({"size_mm": lambda X: X["size"] * 10}, r"column 'size(_mm)?' is collinear with 'size(_mm)?'"),
    ({"score": lambda X: X["age"] + 2 * X["size"]},
     r"column '(score|age|size)' is collinear with '(age|size|score)', '(size|score|age)'"),
], ids=["constant", "rescaled-copy", "sum-of-two"])
def test_constant_or_collinear_columns_are_named(model, extra, match):
    # Before: Fine-Gray blamed separation (ConvergenceWarning) or warned of an ill-conditioned
    # matrix; the cause-specific Cox model raised LinAlgError or fitted huge coefficients.
    X, y = _two_column_table()
    wide = X.assign(**{k: f(X) for k, f in extra.items()})
    with pytest.raises(ValueError, match=match + r".*drop (them|one of them), or set alpha > 0"):
        model().fit(wide, y)
    # a ridge penalty makes the fit identifiable: no refusal then
    assert np.isfinite(model(alpha=1.0).fit(wide, y).coef_).all()


# --------------------------------------------------------------------------- the cohort table
@pytest.fixture(scope="module")
def competing_cohort(tmp_path_factory):
    """120 simulated patients with competing deaths (cohort table and ``y_dm_competing``)."""
    from sarcoma_survival.datasets import make_synthetic_cohort

    return make_synthetic_cohort(120, image_size=16, random_state=2, competing_death_weight=1,
                                 data_dir=tmp_path_factory.mktemp("competing_cohort"))


@pytest.mark.parametrize("model", [CauseSpecificCoxPH(cause=1), FineGrayCoxPH(cause=1, alpha=1.0),
                                   CauseSpecificCoxPH(cause=2, alpha=1.0, columns="sarculator")])
def test_the_cohort_table_is_encoded_as_for_the_other_models(model, competing_cohort):
    # issue #25: CauseSpecificCoxPH(cause=1).fit(X, y_dm_competing) on the cohort table
    # failed with "could not convert string to float: 'M'"
    from sarcoma_survival.preprocessing import ClinicalEncoder

    X, y = competing_cohort.X, competing_cohort.y_dm_competing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # unpenalized: a subtype without DM
        fitted = clone(model).fit(X, y)
    columns = "clinical" if model.columns is None else model.columns
    encoder = ClinicalEncoder(columns, scale=True, min_frequency=model.min_frequency).fit(X)
    names = list(encoder.get_feature_names_out())
    kept = list(fitted.get_feature_names_out())
    # one reference category per categorical column is left out, nothing else
    assert sorted(set(names) - set(kept)) == sorted(
        next(n for n in names if n.startswith(f"{c}_")) for c in encoder.categorical_columns_)
    np.testing.assert_array_equal(fitted.feature_names_in_, encoder.feature_names_in_)
    # the same model as on the encoded matrix, given as numbers
    Z = np.asarray(encoder.transform(X), dtype=float)[:, [names.index(name) for name in kept]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        on_matrix = clone(model).set_params(columns=None).fit(Z, y)
    np.testing.assert_array_equal(fitted.coef_, on_matrix.coef_)
    np.testing.assert_array_equal(fitted.predict(X.iloc[:7]), on_matrix.predict(Z[:7]))
    times = [365.0, 1095.0]
    np.testing.assert_array_equal(fitted.predict_cumulative_incidence(X.iloc[:7], times),
                                  on_matrix.predict_cumulative_incidence(Z[:7], times))
    assert list(fitted.coef_table_.index.get_level_values("feature").unique()) == kept
    assert fitted.feature_transformer_ is not None and on_matrix.feature_transformer_ is None
    # the table's columns are read by name: order and extra columns do not matter
    np.testing.assert_array_equal(fitted.predict(X[X.columns[::-1]].assign(extra=1)), fitted.predict(X))


def test_a_numeric_dataframe_is_still_a_matrix(competing_cohort):
    X, y = competing_cohort.X[["age", "tumor_size_cm"]], competing_cohort.y_dm_competing
    model = FineGrayCoxPH().fit(X, y)
    assert model.feature_transformer_ is None
    np.testing.assert_array_equal(model.get_feature_names_out(), ["age", "tumor_size_cm"])
    np.testing.assert_array_equal(model.predict(X), X.to_numpy() @ model.coef_)
    with pytest.raises(TypeError, match="FineGrayCoxPH takes the cohort table as a pandas DataFrame"):
        FineGrayCoxPH(columns="sarculator").fit(X.to_numpy(), y)  # an array is not a cohort table


def test_the_user_guide_script_runs(capsys):
    import runpy

    script = Path(__file__).parent.parent / "docs" / "user_guide" / "scripts" / "competing_risks_cohort.py"
    runpy.run_path(str(script), run_name="__main__")
    printed = capsys.readouterr().out
    for name in ("FineGrayCoxPH", "CauseSpecificCoxPH", "SarculatorFineGray"):
        line = next(row for row in printed.splitlines() if row.startswith(f"{name}: C = "))
        assert 0.5 < float(line.split("C = ")[1].split(",")[0]) < 1.0
    assert "hr_lower" in printed


# --------------------------------------------------------------------------- bootstrap
def test_bootstrap_concordance_competing_scores_each_resample_as_the_loop_does():
    from sarcoma_survival.competing_risks import bootstrap_concordance_competing
    from sarcoma_survival.metrics import bootstrap_concordance

    X, y = _simulated(n=120, seed=3)
    risk = X[:, 0] + 0.3 * X[:, 2]
    res = bootstrap_concordance_competing(y, risk, cause=1, n_bootstraps=30, random_state=4)
    assert res.cindex == concordance_index_competing(y, risk, cause=1)
    rng = np.random.RandomState(4)
    expected = [concordance_index_competing(y[idx], risk[idx], cause=1, y_train=y)
                for idx in (rng.randint(0, y.size, y.size) for _ in range(30))]
    np.testing.assert_allclose(res.bootstrap_values, expected, rtol=1e-12)
    assert res.sd == pytest.approx(np.std(expected, ddof=1), rel=1e-10)
    assert res.ci_low <= res.cindex <= res.ci_high and res.n_undefined == 0
    # the same draws as the survival bootstrap
    survival = bootstrap_concordance(Surv.from_arrays(y["event"] == 1, y["time"]), risk,
                                     n_bootstraps=30, random_state=4)
    assert survival.bootstrap_values.size == res.bootstrap_values.size


def test_compare_scores_a_competing_outcome_with_the_one_bootstrap_and_time_grid(tiny_cohort):
    from sarcoma_survival.compare import _fit_and_score
    from sarcoma_survival.competing_risks import bootstrap_concordance_competing

    X, y = tiny_cohort.X, tiny_cohort.y_dm_competing
    train, test = np.arange(14), np.arange(14, 24)
    from sarcoma_survival.models import SarculatorFineGray

    model = SarculatorFineGray(min_frequency=2)
    result, fit = _fit_and_score(model, X.iloc[train], y[train], X.iloc[test], y[test],
                                 n_bootstraps=25, random_state=0)
    expected = bootstrap_concordance_competing(y[test], fit.risk, n_bootstraps=25, random_state=0)
    assert result["c_index_sd"] == expected.sd
    low, high = np.percentile(y[test]["time"], [10, 90])
    assert (result["ibs_time_min"], result["ibs_time_max"]) == (low, high)
