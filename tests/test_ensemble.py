"""SeedEnsemble: the mean of one member per seed, a Breslow baseline on that mean.

The contract checks (clone, pickle, Pipeline, GridSearchCV, survival functions, safe model
files) run in test_common.py; here the ensemble is held against the same members fitted
by hand in the same run.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sksurv.linear_model.coxph import BreslowEstimator
from sksurv.util import Surv

from sarcoma_survival import ClinicalRSF, SarculatorCoxPH, SeedEnsemble
from sarcoma_survival.nn import ClinicalMLPSurvival


@pytest.fixture(scope="module")
def clinical():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4)).astype(np.float32)
    y = Surv.from_arrays(rng.random(80) < 0.7, np.exp(-X[:, 0] + 0.3 * rng.normal(size=80)) * 100)
    return X, y


def test_prediction_is_the_mean_of_members_fitted_by_hand(clinical):
    X, y = clinical
    member = ClinicalMLPSurvival(max_epochs=3)
    ensemble = SeedEnsemble(member, random_states=(3, 7, 11)).fit(X, y)
    by_hand = [clone(member).set_params(random_state=s).fit(X, y) for s in (3, 7, 11)]
    expected = np.mean([m.predict(X) for m in by_hand], axis=0)
    np.testing.assert_array_equal(ensemble.predict(X), expected)
    assert [m.random_state for m in ensemble.estimators_] == [3, 7, 11]
    assert member.random_state is None  # the template is cloned, never fitted
    assert not hasattr(member, "training_risks_")
    # the members differ (else the ensemble would average one model)
    assert not np.array_equal(by_hand[0].predict(X), by_hand[1].predict(X))


def test_survival_function_is_breslow_on_the_mean_risk(clinical):
    X, y = clinical
    ensemble = SeedEnsemble(ClinicalMLPSurvival(max_epochs=2), random_states=(0, 1)).fit(X, y)
    risk = ensemble.predict(X)
    baseline = BreslowEstimator().fit(risk, y["event"], y["time"])
    expected = np.vstack([fn(baseline.unique_times_) for fn in baseline.get_survival_function(risk[:5])])
    np.testing.assert_allclose(ensemble.predict_survival_function(X[:5], return_array=True), expected,
                               rtol=1e-12)
    np.testing.assert_array_equal(ensemble.unique_times_, baseline.unique_times_)
    np.testing.assert_array_equal(ensemble.training_risks_, np.sort(risk))


def test_forest_members_refit_and_in_parallel_give_the_same_ensemble(clinical):
    X, y = clinical
    table = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    ensemble = SeedEnsemble(ClinicalRSF(columns=["a", "b", "c", "d"], n_estimators=5), random_states=(0, 1))
    ensemble.fit(table, y)
    again = clone(ensemble).set_params(n_jobs=2).fit(table, y)
    np.testing.assert_array_equal(again.predict(table), ensemble.predict(table))
    np.testing.assert_array_equal(ensemble.feature_names_in_, ["a", "b", "c", "d"])


def test_parallel_members_equal_sequential_ones(clinical):
    X, y = clinical
    member = ClinicalMLPSurvival(max_epochs=2)
    one = SeedEnsemble(member, random_states=(0, 1)).fit(X, y)
    two = SeedEnsemble(member, random_states=(0, 1), n_jobs=2).fit(X, y)
    np.testing.assert_allclose(two.predict(X), one.predict(X), rtol=1e-6)


@pytest.mark.parametrize("params, message", [
    (dict(estimator=SarculatorCoxPH()), "SarculatorCoxPH has no random_state parameter"),
    (dict(random_states=()), "random_states is empty"),
    (dict(random_states=(0, 0)), "repeat a seed"),
    (dict(random_states=(0, 1.5)), "must be integers"),
])
def test_refusals_name_the_problem(clinical, params, message):
    X, y = clinical
    ensemble = SeedEnsemble(**{"estimator": ClinicalMLPSurvival(max_epochs=1), **params})
    with pytest.raises(ValueError, match=message):
        ensemble.fit(X, y)


def test_neural_members_are_refused_by_the_safe_model_file_with_a_reason(clinical, tmp_path):
    from sarcoma_survival import save_model

    X, y = clinical
    ensemble = SeedEnsemble(ClinicalMLPSurvival(max_epochs=1), random_states=(0, 1)).fit(X, y)
    with pytest.raises(TypeError, match="neural members .*ClinicalMLPSurvival.* use joblib"):
        save_model(ensemble, tmp_path / "ensemble.ssm")
    assert not (tmp_path / "ensemble.ssm").exists()


def test_an_ensemble_is_a_row_of_compare_models(tmp_path):
    from sarcoma_survival.compare import compare_models
    from sarcoma_survival.datasets import make_synthetic_cohort

    cohort = make_synthetic_cohort(120, image_size=12, random_state=1, data_dir=tmp_path)
    models = {"RSF": ClinicalRSF(n_estimators=5, random_state=0),
              "RSF x2 seeds": SeedEnsemble(ClinicalRSF(n_estimators=5), random_states=(0, 1))}
    table = compare_models(cohort.X, cohort.y_os, models, test_size=0.4, n_bootstraps=20, random_state=0)
    assert list(table.index) == ["RSF", "RSF x2 seeds"]
    assert table[["test_c_index", "test_c_index_sd"]].notna().all(axis=None)
