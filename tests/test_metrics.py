"""Metrics against scikit-survival on the real DeepSurv tables, and their edge cases."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import (
    concordance_index_censored,
    concordance_index_ipcw,
)
from sksurv.metrics import cumulative_dynamic_auc as sk_cumulative_dynamic_auc
from sksurv.metrics import integrated_brier_score as sk_integrated_brier_score
from sksurv.util import Surv

from sarcoma_survival.metrics import (
    UndefinedConcordanceWarning,
    UndefinedSurvivalMetricWarning,
    bootstrap_concordance,
    brier_score,
    concordance_index,
    concordance_index_uno,
    concordance_scorer,
    cumulative_dynamic_auc,
    integrated_brier_score,
    make_concordance_scorer,
)

TOL = 1e-12

# Test-set Harrell C of a default Cox model on the DeepSurv splits, as measured with
# lifelines' CoxPHFitter (validation README, section 2); ours is a scikit-survival Cox fit.
LIFELINES_COX_C = {
    "metabric_IHC4_clinical": 0.632,
    "support": 0.583,
    "gbsg_cancer": 0.656,
    "whas": 0.816,
}


def _load(path):
    h5py = pytest.importorskip("h5py")
    out = {}
    with h5py.File(path, "r") as h5:
        for group in ("train", "test"):
            x = np.asarray(h5[group]["x"], dtype=float)
            t = np.asarray(h5[group]["t"], dtype=float)
            e = np.asarray(h5[group]["e"]).astype(bool)
            # One METABRIC test patient has time 0, which our y validation rejects (a
            # survival time must be > 0); it is dropped for both implementations.
            keep = t > 0
            out[group] = (x[keep], Surv.from_arrays(e[keep], t[keep]))
    return out


@pytest.fixture(scope="module", params=sorted(LIFELINES_COX_C))
def deepsurv(request, validation_dir):
    """(name, y_train, y_test, risk_test, cox model, X_test) for one DeepSurv split."""
    path = validation_dir / "deepsurv" / f"{request.param}_train_test.h5"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    data = _load(path)
    x_train, y_train = data["train"]
    x_test, y_test = data["test"]
    cox = CoxPHSurvivalAnalysis().fit(x_train, y_train)
    return request.param, y_train, y_test, cox.predict(x_test), cox, x_test


def _eval_times(y_train, y_test):
    """Times inside both follow-ups: the 10th..80th percentiles of the test event times."""
    upper = min(y_train["time"].max(), y_test["time"].max())
    event_times = y_test["time"][y_test["event"] & (y_test["time"] < upper)]
    return np.unique(np.percentile(event_times, np.linspace(10, 80, 8)))


# --------------------------------------------------------------------------- real data
def test_harrell_equals_sksurv_on_deepsurv(deepsurv):
    name, y_train, y_test, risk, cox, x_test = deepsurv
    ours = concordance_index(y_test, risk)
    ref = concordance_index_censored(y_test["event"], y_test["time"], risk)[0]
    assert abs(ours - ref) <= TOL
    # the Cox fit itself is sound: it reproduces lifelines' published test C-index
    assert abs(ours - LIFELINES_COX_C[name]) < 1e-3


def test_harrell_equals_sksurv_on_large_training_sets(deepsurv):
    """Training sets (up to 7098 patients) span several internal chunks of event rows."""
    name, y_train, y_test, risk, cox, x_test = deepsurv
    x_train_risk = np.random.default_rng(0).normal(size=len(y_train)).round(1)  # many ties
    ours = concordance_index(y_train, x_train_risk)
    ref = concordance_index_censored(y_train["event"], y_train["time"], x_train_risk)[0]
    assert abs(ours - ref) <= TOL


def test_uno_equals_sksurv_ipcw_on_deepsurv(deepsurv):
    name, y_train, y_test, risk, cox, x_test = deepsurv
    for q in (50, 80):
        tau = float(np.percentile(y_test["time"], q))
        ours = concordance_index_uno(y_test, risk, y_train=y_train, tau=tau)
        ref = concordance_index_ipcw(y_train, y_test, risk, tau=tau)[0]
        assert abs(ours - ref) <= TOL
    if y_test["time"].max() <= y_train["time"].max():
        ours = concordance_index_uno(y_test, risk, y_train=y_train)
        ref = concordance_index_ipcw(y_train, y_test, risk)[0]
        assert abs(ours - ref) <= TOL


def test_cumulative_dynamic_auc_equals_sksurv_on_deepsurv(deepsurv):
    name, y_train, y_test, risk, cox, x_test = deepsurv
    times = _eval_times(y_train, y_test)
    auc, mean_auc = cumulative_dynamic_auc(y_test, risk, times, y_train=y_train)
    ref_auc, ref_mean = sk_cumulative_dynamic_auc(y_train, y_test, risk, times)
    np.testing.assert_allclose(auc, ref_auc, rtol=0, atol=TOL)
    assert abs(mean_auc - ref_mean) <= TOL
    assert np.all((auc > 0.5) & (auc < 1))  # a Cox model beats chance on every split


def test_integrated_brier_score_equals_sksurv_on_deepsurv(deepsurv):
    name, y_train, y_test, risk, cox, x_test = deepsurv
    times = _eval_times(y_train, y_test)
    functions = cox.predict_survival_function(x_test)
    matrix = np.asarray([fn(times) for fn in functions])
    ref = sk_integrated_brier_score(y_train, y_test, matrix, times)
    assert abs(integrated_brier_score(y_test, matrix, times, y_train=y_train) - ref) <= TOL
    # step functions straight from predict_survival_function give the same number
    assert abs(integrated_brier_score(y_test, functions, times, y_train=y_train) - ref) <= TOL
    assert 0 < ref < 0.25  # better than the uninformative constant 0.5


# --------------------------------------------------------------------------- hand cases
def y_of(event, time):
    return Surv.from_arrays(np.asarray(event, dtype=bool), np.asarray(time, dtype=float))


def test_harrell_hand_computed_pairs_and_ties():
    # comparable pairs: (0,1), (0,2), (0,3), (1,2), (1,3), and (2,3) is not (2 censored)
    y = y_of([True, True, False, True], [1.0, 2.0, 3.0, 4.0])
    assert concordance_index(y, [4, 3, 2, 1]) == 1.0
    assert concordance_index(y, [1, 2, 3, 4]) == 0.0
    assert concordance_index(y, [1, 1, 1, 1]) == 0.5  # all risks tied
    assert concordance_index(y, [4, 1, 3, 2]) == pytest.approx(3 / 5)
    # an event and a censoring at the same time are comparable (censored still at risk);
    # two events at the same time are not
    y_tied = y_of([True, False, True, True], [2.0, 2.0, 5.0, 5.0])
    risk = [3.0, 1.0, 2.0, 0.0]
    ref = concordance_index_censored(y_tied["event"], y_tied["time"], np.asarray(risk))[0]
    assert concordance_index(y_tied, risk) == pytest.approx(ref, abs=TOL)


def test_higher_risk_means_earlier_event():
    rng = np.random.default_rng(1)
    time = rng.exponential(100, 50) + 1
    y = y_of(rng.random(50) < 0.6, time)
    assert concordance_index(y, -time) == 1.0
    assert concordance_index(y, time) == 0.0


def test_all_censored_gives_nan_with_warning():
    y = y_of([False, False, False], [1.0, 2.0, 3.0])
    with pytest.warns(UndefinedConcordanceWarning, match="no event"):
        assert np.isnan(concordance_index(y, [1, 2, 3]))
    with pytest.warns(UndefinedConcordanceWarning, match="no event"):
        assert np.isnan(concordance_index_uno(y, [1, 2, 3]))
    with pytest.warns(UndefinedConcordanceWarning):
        auc, mean_auc = cumulative_dynamic_auc(y, [1, 2, 3], [1.5])
    assert np.isnan(auc).all() and np.isnan(mean_auc)
    with pytest.warns(UndefinedSurvivalMetricWarning):
        assert np.isnan(integrated_brier_score(y, [[0.5, 0.5]] * 3, [1.0, 2.0]))


def test_no_comparable_pair_gives_nan_with_warning():
    # the only event is the last time: nobody is at risk after it
    y = y_of([False, False, True], [1.0, 2.0, 3.0])
    with pytest.warns(UndefinedConcordanceWarning, match="comparable"):
        assert np.isnan(concordance_index(y, [1, 2, 3]))


def test_uno_needs_tau_beyond_training_follow_up():
    y_train = y_of([True, False, True, False], [1.0, 2.0, 3.0, 4.0])
    y_test = y_of([True, True, False], [1.5, 6.0, 7.0])
    with pytest.raises(ValueError, match="tau"):
        concordance_index_uno(y_test, [3, 2, 1], y_train=y_train)
    ours = concordance_index_uno(y_test, [3, 2, 1], y_train=y_train, tau=4.0)
    ref = concordance_index_ipcw(y_train, y_test, np.array([3.0, 2, 1]), tau=4.0)[0]
    assert ours == pytest.approx(ref, abs=TOL)
    with pytest.warns(UndefinedConcordanceWarning, match="before tau"):
        assert np.isnan(concordance_index_uno(y_test, [3, 2, 1], y_train=y_train, tau=1.0))


@pytest.mark.parametrize(
    "y, risk, match",
    [
        (np.array([1.0, 2.0]), [1, 2], "structured array"),
        (y_of([True, False], [1.0, 2.0]), [1, 2, 3], "2 samples"),
        (y_of([True, False], [1.0, 2.0]), [1, np.nan], "NaN or infinite for: sample 1"),
        (y_of([True, False], [1.0, 2.0]), [[1, 2], [3, 4]], "1-D"),
    ],
)
def test_bad_inputs_raise_clear_errors(y, risk, match):
    with pytest.raises(ValueError, match=match):
        concordance_index(y, risk)


def test_bad_times_raise_clear_errors():
    y = y_of([True, False, True], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="follow-up range"):
        cumulative_dynamic_auc(y, [3, 2, 1], [5.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        brier_score(y, [[0.5, 0.5]] * 3, [2.0, 1.5])
    with pytest.raises(ValueError, match="shape"):
        brier_score(y, [[0.5, 0.5]] * 3, [1.5])
    with pytest.raises(ValueError, match="at least two"):
        integrated_brier_score(y, [[0.5]] * 3, [1.5])
    negative = np.array([(True, -1.0), (False, 2.0)], dtype=[("event", bool), ("time", float)])
    with pytest.raises(ValueError, match="> 0"):
        concordance_index(negative, [1, 2])


# --------------------------------------------------------------------------- bootstrap
def test_bootstrap_matches_naive_sksurv_bootstrap():
    rng = np.random.default_rng(3)
    time = rng.exponential(100, 80) + 1
    y = y_of(rng.random(80) < 0.5, time)
    risk = -time + rng.normal(0, 60, 80)
    res = bootstrap_concordance(y, risk, n_bootstraps=200, random_state=7)
    # the same resamples, scored by scikit-survival
    state = np.random.RandomState(7)
    ref = []
    for _ in range(200):
        idx = state.randint(0, 80, 80)
        ref.append(concordance_index_censored(y["event"][idx], y["time"][idx], risk[idx])[0])
    np.testing.assert_allclose(res.bootstrap_values, ref, rtol=0, atol=TOL)
    assert res.sd == pytest.approx(np.std(ref, ddof=1), abs=TOL)
    assert res.ci_low == pytest.approx(np.quantile(ref, 0.025), abs=TOL)
    assert res.ci_high == pytest.approx(np.quantile(ref, 0.975), abs=TOL)
    assert res.cindex == pytest.approx(concordance_index(y, risk), abs=TOL)
    assert res.n_undefined == 0
    again = bootstrap_concordance(y, risk, n_bootstraps=200, random_state=7)
    np.testing.assert_array_equal(again.bootstrap_values, res.bootstrap_values)


def test_bootstrap_leaves_out_undefined_resamples_with_one_warning():
    y = y_of([True] + [False] * 9, np.arange(1.0, 11.0))
    with pytest.warns(UndefinedConcordanceWarning, match="bootstrap resamples") as record:
        res = bootstrap_concordance(y, np.arange(10.0)[::-1], n_bootstraps=50, random_state=0)
    assert len(record) == 1
    assert 0 < res.n_undefined < 50
    assert res.bootstrap_values.size == 50 - res.n_undefined


def _tied_cohort(n, seed):
    """Many events, with tied times and tied risks (the cases where pairs are subtle)."""
    rng = np.random.default_rng(seed)
    time = np.ceil(rng.exponential(300, n))  # whole days: many tied times
    event = rng.random(n) < 0.8
    risk = np.round(-np.log(time) + rng.normal(0, 1, n), 1)  # one decimal: many tied risks
    return y_of(event, time), risk


def test_bootstrap_over_several_chunks_of_events_equals_sksurv():
    """More than 512 events: the fast path visits several chunks of event rows, and each
    resample's value is scikit-survival's on that resample (Harrell and Uno)."""
    y, risk = _tied_cohort(1400, seed=11)
    assert y["event"].sum() > 2 * 512
    res = bootstrap_concordance(y, risk, n_bootstraps=12, random_state=3)
    state = np.random.RandomState(3)
    ref = []
    for _ in range(12):
        idx = state.randint(0, len(y), len(y))
        ref.append(concordance_index_censored(y["event"][idx], y["time"][idx], risk[idx])[0])
    np.testing.assert_allclose(res.bootstrap_values, ref, rtol=0, atol=TOL)
    assert res.cindex == pytest.approx(
        concordance_index_censored(y["event"], y["time"], risk)[0], abs=TOL
    )

    tau = float(np.percentile(y["time"], 70))
    res = bootstrap_concordance(y, risk, kind="uno", tau=tau, n_bootstraps=6, random_state=4)
    state = np.random.RandomState(4)
    ref = []
    for _ in range(6):
        idx = state.randint(0, len(y), len(y))
        # the censoring distribution stays that of the full sample (documented)
        ref.append(concordance_index_ipcw(y, y[idx], risk[idx], tau=tau)[0])
    np.testing.assert_allclose(res.bootstrap_values, ref, rtol=0, atol=TOL)
    assert res.cindex == pytest.approx(concordance_index_ipcw(y, y, risk, tau=tau)[0], abs=TOL)


def test_concordance_with_many_events_equals_sksurv():
    y, risk = _tied_cohort(1400, seed=12)
    ref = concordance_index_censored(y["event"], y["time"], risk)[0]
    assert concordance_index(y, risk) == pytest.approx(ref, abs=TOL)
    tau = float(np.percentile(y["time"], 70))
    assert concordance_index_uno(y, risk, tau=tau) == pytest.approx(
        concordance_index_ipcw(y, y, risk, tau=tau)[0], abs=TOL
    )


def test_bootstrap_uno():
    rng = np.random.default_rng(4)
    time = rng.exponential(100, 60) + 1
    y = y_of(rng.random(60) < 0.6, time)
    tau = float(np.percentile(time, 80))
    res = bootstrap_concordance(y, -time, kind="uno", tau=tau, n_bootstraps=30, random_state=0)
    assert res.cindex == pytest.approx(concordance_index_ipcw(y, y, -time, tau=tau)[0], abs=TOL)
    with pytest.raises(ValueError, match="kind"):
        bootstrap_concordance(y, -time, kind="antolini")


# --------------------------------------------------------------------------- scorer
class _TimeRisk(BaseEstimator):
    """Tiny estimator: risk = -coef * x (x = a noisy copy of the time)."""

    def __init__(self, coef=1.0):
        self.coef = coef

    def fit(self, X, y):
        self.fitted_ = True
        return self

    def predict(self, X):
        return -self.coef * np.asarray(X, dtype=float)[:, 0]


def _scorer_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    time = np.sort(rng.exponential(100, n) + 1)
    event = rng.random(n) < 0.7
    X = (time + rng.normal(0, 30, n))[:, None]
    return X, y_of(event, time)


def test_concordance_scorer_equals_metric_and_pickles():
    X, y = _scorer_data()
    est = _TimeRisk().fit(X, y)
    assert concordance_scorer(est, X, y) == concordance_index(y, est.predict(X))
    uno = make_concordance_scorer("uno", tau=100.0)
    assert uno(est, X, y) == pytest.approx(
        concordance_index_ipcw(y, y, est.predict(X), tau=100.0)[0], abs=TOL
    )
    clone = pickle.loads(pickle.dumps(uno))
    assert clone(est, X, y) == uno(est, X, y)
    assert "uno" in repr(uno)
    with pytest.raises(ValueError, match="tau only applies"):
        make_concordance_scorer("harrell", tau=3.0)


def test_scorer_in_cross_validate_survives_all_censored_fold():
    X, y = _scorer_data()
    y["event"][-10:] = False  # last fold (sorted by time) has no event
    with pytest.warns(UndefinedConcordanceWarning):
        scores = cross_validate(_TimeRisk(), X, y, cv=KFold(4), scoring=concordance_scorer)
    test_scores = scores["test_score"]
    assert np.isnan(test_scores[-1])
    assert np.all(np.isfinite(test_scores[:-1]))


def test_scorer_in_grid_search_picks_the_right_sign():
    X, y = _scorer_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        search = GridSearchCV(
            _TimeRisk(), {"coef": [-1.0, 1.0]}, cv=KFold(3, shuffle=True, random_state=0),
            scoring=concordance_scorer,
        ).fit(X, y)
    assert search.best_params_ == {"coef": 1.0}
    assert search.best_score_ > 0.7
