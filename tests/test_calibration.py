"""Calibration at a horizon, D-calibration and net benefit against stored references.

The fixtures in tests/fixtures/calibration were written by
``scripts/regenerate_calibration_fixtures.py`` (R calls in ``scripts/calibration_fixtures.R``;
SurvivalEVAL 0.9.0 and dcurves 1.1.7 in Python). Real data: a Cox model fitted in R on
survival's Rotterdam breast-cancer cohort (2982 patients, recurrence-free survival) and
validated on GBSG (686 patients), the external validation of McLernon et al. (2023); and a
Fine-Gray model on riskRegression's Melanoma (205 patients, two causes). Neither R nor the
reference packages are needed to run these tests.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from sksurv.functions import StepFunction
from sksurv.util import Surv

from sarcoma_survival.competing_risks import competing_y
from sarcoma_survival.metrics import (
    UndefinedSurvivalMetricWarning,
    calibration_curve,
    calibration_in_the_large,
    calibration_slope,
    d_calibration,
    integrated_calibration_index,
    net_benefit,
)
from sarcoma_survival.utils import aalen_johansen_curve, incidence_at, rcs_knots

FIXTURES = Path(__file__).parent / "fixtures" / "calibration"


def _csv(name):
    return np.genfromtxt(FIXTURES / name, delimiter=",", names=True)


@pytest.fixture(scope="module")
def gbsg():
    data = _csv("gbsg_data.csv")
    base = _csv("rotterdam_baseline.csv")
    # the Rotterdam model's survival curve of each GBSG patient, 1 before the first jump
    grid = np.concatenate([[0.0], base["time"]])
    h0 = np.concatenate([[0.0], base["cumhaz"]])
    functions = [StepFunction(grid, np.exp(-h0 * np.exp(lp))) for lp in data["lp"]]
    return {
        "y": Surv.from_arrays(data["status"].astype(bool), data["time"]),
        "functions": functions,
        "r": json.loads((FIXTURES / "reference_r.json").read_text()),
    }


@pytest.fixture(scope="module")
def melanoma():
    data = _csv("melanoma_data.csv")
    r = json.loads((FIXTURES / "reference_r.json").read_text())["melanoma"]
    return {"y": competing_y(data["status"].astype(int), data["time"]), "risk": data["risk"], "r": r}


def _survival(gbsg, horizon):
    return np.array([fn(horizon) for fn in gbsg["functions"]])


HORIZONS = [1095, 1826]


def test_fixture_is_real_external_validation(gbsg):
    y = gbsg["y"]
    assert y.size == 686 and y["event"].sum() == 299
    assert np.unique(y["time"]).size < y.size  # tied days exercise Efron's ties


@pytest.mark.parametrize("horizon", HORIZONS)
def test_calibration_slope_matches_r_coxph(gbsg, horizon):
    r = gbsg["r"][f"t{horizon}"]
    slope = calibration_slope(gbsg["y"], _survival(gbsg, horizon), horizon)
    assert slope == pytest.approx(r["slope"], abs=1e-6)


@pytest.mark.parametrize("horizon", HORIZONS)
def test_calibration_slope_takes_survival_functions(gbsg, horizon):
    from_functions = calibration_slope(gbsg["y"], gbsg["functions"], horizon)
    assert from_functions == calibration_slope(gbsg["y"], _survival(gbsg, horizon), horizon)


@pytest.mark.parametrize("horizon", HORIZONS)
def test_spline_knots_match_hmisc(gbsg, horizon):
    cll = np.log(-np.log(_survival(gbsg, horizon)))
    np.testing.assert_allclose(rcs_knots(cll, 3), gbsg["r"][f"t{horizon}"]["knots"], atol=1e-12)


@pytest.mark.parametrize("horizon", HORIZONS)
def test_calibration_curve_matches_r_coxph_rcs(gbsg, horizon):
    r = gbsg["r"][f"t{horizon}"]
    survival = _survival(gbsg, horizon)
    observed, predicted = calibration_curve(gbsg["y"], survival, horizon)
    order = np.argsort(1.0 - survival, kind="stable")
    np.testing.assert_allclose(predicted, (1.0 - survival)[order], rtol=0, atol=1e-15)
    np.testing.assert_allclose(observed, np.asarray(r["smoothed"])[order], rtol=0, atol=1e-6)


@pytest.mark.parametrize("horizon", HORIZONS)
def test_ici_e50_e90_match_r(gbsg, horizon):
    r = gbsg["r"][f"t{horizon}"]
    ici, e50, e90 = integrated_calibration_index(gbsg["y"], gbsg["functions"], horizon)
    np.testing.assert_allclose([ici, e50, e90], [r["ici"], r["e50"], r["e90"]], rtol=0, atol=1e-6)


@pytest.mark.parametrize("horizon", HORIZONS)
def test_ici_close_to_austins_hare_curve(gbsg, horizon):
    """The adaptive hare fit of Austin et al.'s code (whole follow-up) gives a close ICI.

    Measured differences: 0.00015 at 3 years, 0.0093 at 5 years (ICI 0.027 and 0.057).
    """
    r = gbsg["r"][f"t{horizon}"]
    ici, _, _ = integrated_calibration_index(gbsg["y"], gbsg["functions"], horizon)
    assert abs(ici - r["hare_ici"]) < 0.01


@pytest.mark.parametrize("horizon", HORIZONS)
def test_calibration_in_the_large_is_km_over_mean_risk(gbsg, horizon):
    r = gbsg["r"][f"t{horizon}"]
    survival = _survival(gbsg, horizon)
    assert np.mean(1.0 - survival) == pytest.approx(r["expected"], abs=1e-12)
    oe = calibration_in_the_large(gbsg["y"], survival, horizon)
    assert oe == pytest.approx(r["observed_km"] / r["expected"], abs=1e-10)


def test_calibration_in_the_large_by_hand():
    # KM at 3.5: (1 - 1/5)(1 - 1/3) = 8/15, observed risk 7/15; expected 0.3
    y = Surv.from_arrays([True, False, True, False, False], [1.0, 2.0, 3.0, 4.0, 5.0])
    oe = calibration_in_the_large(y, np.full(5, 0.7), 3.5)
    assert oe == pytest.approx((7 / 15) / 0.3, abs=1e-12)


@pytest.mark.parametrize("cause", [1, 2])
def test_competing_calibration_in_the_large_uses_cuminc(melanoma, cause):
    r = melanoma["r"]
    observed = r["observed_cif"] if cause == 1 else r["observed_cif_2"]
    oe = calibration_in_the_large(melanoma["y"], 1.0 - melanoma["risk"], r["horizon"], cause=cause)
    assert oe == pytest.approx(observed / np.mean(melanoma["risk"]), abs=1e-10)


@pytest.mark.parametrize("n_bins", [10, 5])
def test_d_calibration_matches_survivaleval(gbsg, n_bins):
    ref = json.loads((FIXTURES / "survivaleval.json").read_text())[f"bins_{n_bins}"]
    statistic, p_value = d_calibration(gbsg["y"], gbsg["functions"], n_bins=n_bins)
    assert statistic == pytest.approx(ref["statistic"], abs=1e-8)
    assert p_value == pytest.approx(ref["p_value"], abs=1e-8)


def test_net_benefit_matches_dcurves(gbsg):
    ref = json.loads((FIXTURES / "dcurves.json").read_text())
    horizon, thresholds = ref["horizon"], np.asarray(ref["thresholds"])
    risk = 1.0 - _survival(gbsg, horizon)
    expected = np.array([np.nan if v is None else v for v in ref["cox"]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedSurvivalMetricWarning)
        got = net_benefit(gbsg["y"], risk, horizon, thresholds)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-8)
    np.testing.assert_allclose(net_benefit(gbsg["y"], "all", horizon, thresholds), ref["all"],
                               rtol=0, atol=1e-8)
    np.testing.assert_allclose(ref["none"], 0.0, atol=1e-12)


def test_competing_net_benefit_matches_cmprsk(melanoma):
    r = melanoma["r"]
    got = net_benefit(melanoma["y"], melanoma["risk"], r["horizon"], r["thresholds"], cause=1)
    np.testing.assert_allclose(got, r["net_benefit"], rtol=0, atol=1e-8)
    all_ = net_benefit(melanoma["y"], "all", r["horizon"], r["thresholds"], cause=1)
    np.testing.assert_allclose(all_, r["net_benefit_all"], rtol=0, atol=1e-8)


def test_net_benefit_nan_where_treated_follow_up_ends_censored():
    y = Surv.from_arrays([True, False, True, False], [1.0, 2.0, 3.0, 4.0])
    with pytest.warns(UndefinedSurvivalMetricWarning, match="follow-up of the treated"):
        got = net_benefit(y, [0.9, 0.8, 0.1, 0.1], 3.5, [0.5, 0.05])
    assert np.isnan(got[0]) and np.isfinite(got[1])
    # treated patients whose last time is an event: Kaplan-Meier is 0 after it, defined
    assert np.isfinite(net_benefit(y, [0.9, 0.1, 0.6, 0.1], 3.5, [0.5])[0])


def test_simulated_true_survival_is_calibrated_and_a_distorted_one_is_not():
    rng = np.random.default_rng(3)
    lp = rng.normal(size=2000)
    t_event = rng.exponential(np.exp(-lp))
    t_cens = rng.exponential(2.0, size=lp.size)
    y = Surv.from_arrays(t_event <= t_cens, np.minimum(t_event, t_cens))
    true = np.exp(-1.0 * np.exp(lp))
    assert calibration_slope(y, true, 1.0) == pytest.approx(1.0, abs=0.1)
    assert calibration_in_the_large(y, true, 1.0) == pytest.approx(1.0, abs=0.05)
    assert integrated_calibration_index(y, true, 1.0)[0] < 0.02
    grid = np.linspace(0, 60, 6001)
    functions = [StepFunction(grid, np.exp(-grid * np.exp(v))) for v in lp]
    assert d_calibration(y, functions)[1] > 0.01
    too_extreme = np.exp(-1.0 * np.exp(1.5 * lp))
    assert calibration_slope(y, too_extreme, 1.0) == pytest.approx(1 / 1.5, abs=0.07)
    assert integrated_calibration_index(y, too_extreme, 1.0)[0] > 0.05
    functions = [StepFunction(grid, np.exp(-grid * np.exp(1.5 * v))) for v in lp]
    assert d_calibration(y, functions)[1] < 1e-6


def test_incidence_core_is_one_minus_kaplan_meier():
    from sksurv.nonparametric import kaplan_meier_estimator

    rng = np.random.default_rng(0)
    time = rng.integers(1, 30, size=200).astype(float)
    event = rng.random(200) < 0.6
    km_t, km_s = kaplan_meier_estimator(event, time)
    times, cif = aalen_johansen_curve(event, time)
    np.testing.assert_allclose(times, km_t)
    np.testing.assert_allclose(cif, 1.0 - km_s, atol=1e-14)
    assert incidence_at(event, time, 12.5) == pytest.approx(1.0 - km_s[km_t <= 12.5][-1])


# --- bad input: one-line errors that name what is wrong ---------------------------------------

Y = Surv.from_arrays([True, False, True, True, False, True, False, True],
                     [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
SURV = np.linspace(0.2, 0.9, 8)


@pytest.mark.parametrize("metric", [calibration_in_the_large, calibration_slope,
                                    integrated_calibration_index, calibration_curve])
def test_horizon_beyond_follow_up_is_refused(metric):
    with pytest.raises(ValueError, match=r"follow-up range of y_true"):
        metric(Y, SURV, 9.0)


@pytest.mark.parametrize("metric", [calibration_in_the_large, calibration_slope,
                                    integrated_calibration_index])
def test_wrong_number_of_predictions_is_refused(metric):
    with pytest.raises(ValueError, match=r"survival must have shape \(8, 1\)"):
        metric(Y, SURV[:5], 4.5)


def test_horizon_must_be_a_number():
    with pytest.raises(ValueError, match="time must be a number"):
        calibration_slope(Y, SURV, [4.5])


def test_survival_of_zero_or_one_is_refused_for_cloglog():
    with pytest.raises(ValueError, match="predicted survival is 0 or 1 for 1 patient"):
        calibration_slope(Y, np.r_[SURV[:-1], 1.0], 4.5)


def test_constant_predictions_are_refused_by_the_curve():
    with pytest.raises(ValueError, match="takes 1 distinct values"):
        integrated_calibration_index(Y, np.full(8, 0.5), 4.5)
    with pytest.raises(ValueError, match="n_knots must be an integer from 3 to 7"):
        calibration_curve(Y, SURV, 4.5, n_knots=2)


def test_slope_without_event_by_the_horizon_is_nan():
    y = Surv.from_arrays([False, True, True], [1.0, 2.0, 3.0])
    with pytest.warns(UndefinedSurvivalMetricWarning, match="no event by time 1.5"):
        assert np.isnan(calibration_slope(y, [0.5, 0.6, 0.7], 1.5))


def test_d_calibration_refuses_bad_input():
    with pytest.raises(ValueError, match="n_bins must be an integer >= 2"):
        d_calibration(Y, [lambda t: 0.5] * 8, n_bins=1)
    with pytest.raises(ValueError, match="not an array of probabilities"):
        d_calibration(Y, np.full((8, 3), 0.5))
    with pytest.raises(ValueError, match="has 8 samples but survival_functions has 2"):
        d_calibration(Y, [lambda t: 0.5] * 2)
    with pytest.raises(ValueError, match="must hold callables"):
        d_calibration(Y, [0.5] * 8)


def test_net_benefit_refuses_bad_input():
    with pytest.raises(ValueError, match=r"thresholds must be .* in \[0, 1\)"):
        net_benefit(Y, SURV, 4.5, [0.2, 1.0])
    with pytest.raises(ValueError, match="not a risk score from predict"):
        net_benefit(Y, SURV * 3, 4.5, [0.2])
    with pytest.raises(ValueError, match="risk must be an array of probabilities or 'all'"):
        net_benefit(Y, "none", 4.5, [0.2])
    with pytest.raises(ValueError, match="cause must be an integer >= 1"):
        net_benefit(competing_y([1, 2, 0], [1.0, 2.0, 3.0]), [0.1, 0.2, 0.3], 2.5, [0.1], cause=0)
    with pytest.raises(ValueError, match="event field 'event' of y is boolean"):
        net_benefit(Y, SURV, 4.5, [0.1], cause=1)


@pytest.mark.parametrize("metric", [calibration_slope, integrated_calibration_index,
                                    calibration_in_the_large])
def test_competing_outcome_without_cause_is_refused_with_a_hint(metric):
    y = competing_y([1, 2, 0, 1, 0, 1, 2, 0], [1.0, 2, 3, 4, 5, 6, 7, 8])
    with pytest.raises(ValueError, match="competing-risks outcome .* pass cause="):
        metric(y, SURV, 4.5)
    with pytest.raises(ValueError, match="d_calibration: y_true is a competing-risks outcome"):
        d_calibration(y, [lambda t: 0.5] * 8)


def test_predictions_that_order_the_events_perfectly_are_refused():
    # each event happens to the patient of highest predicted risk still at risk
    survival = np.linspace(0.1, 0.9, 20)
    event = np.r_[np.ones(10, bool), np.zeros(10, bool)]
    time = np.r_[np.arange(1.0, 11.0), np.full(10, 20.0)]
    y = Surv.from_arrays(event, time)
    with pytest.raises(ValueError, match="calibration_slope: the Cox regression did not converge"):
        calibration_slope(y, survival, 15.0)
    with pytest.raises(ValueError, match="integrated_calibration_index: the Cox regression did not"):
        integrated_calibration_index(y, survival, 15.0)
