"""SarculatorRSF, SarculatorCoxPH, ClinicalRSF: same results as scikit-survival on the encoded
matrix, training-only encoding, robustness to the cohort table's shape, grid search, errors."""
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sksurv.ensemble import RandomSurvivalForest
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import concordance_index_censored
from sksurv.util import Surv

from sarcoma_survival.metrics import concordance_scorer
from sarcoma_survival.models import ClinicalRSF, SarculatorCoxPH, SarculatorRSF
from sarcoma_survival.preprocessing import ClinicalEncoder

HISTOLOGIES = ["undifferentiated pleomorphic sarcoma", "liposarcoma", "leiomyosarcoma",
               "myxofibrosarcoma", "synovial sarcoma"]


def toy_cohort(n=120, seed=0, missing=0.1):
    """Clinical cohort table with a known risk (age, size, grade, histology) and censoring."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "age": rng.normal(55, 15, n).round(),
            "sex": rng.choice(["F", "M"], n),
            "tumor_size_cm": rng.gamma(4.0, 2.5, n).round(1),
            "tumor_depth": rng.choice(["superficial", "deep"], n, p=[0.2, 0.8]),
            "grade": rng.choice(["low", "high"], n, p=[0.3, 0.7]),
            "histology": rng.choice(HISTOLOGIES, n),
            "location": rng.choice(["axial", "upper_extremity", "lower_extremity"], n),
            "tumor_volume_cm3": rng.lognormal(5, 1, n).round(1),
            "neoadjuvant_chemo": rng.integers(0, 2, n).astype(float),
            "mets_at_presentation": (rng.random(n) < 0.1).astype(float),
            "rt_timing": rng.choice(["preop", "postop"], n),
            "t1": [f"/data/P{i:03d}_t1.nii.gz" for i in range(n)],
        },
        index=[f"P{i:03d}" for i in range(n)],
    )
    risk = (0.04 * (X["age"] - 55) + 0.12 * (X["tumor_size_cm"] - 10)
            + 1.0 * (X["grade"] == "high") + 0.7 * (X["histology"] == "leiomyosarcoma")
            + 1.0 * X["mets_at_presentation"])
    event_time = rng.exponential(1500 * np.exp(-risk.to_numpy()))
    censor_time = rng.uniform(300, 3000, n)
    y = Surv.from_arrays(event_time <= censor_time, np.minimum(event_time, censor_time) + 1.0)
    for column in ("age", "tumor_size_cm", "grade", "histology", "rt_timing"):
        X.loc[rng.random(n) < missing, column] = np.nan
    return X, y, risk.to_numpy()


@pytest.fixture(scope="module")
def cohort():
    return toy_cohort()


SMALL_RSF = dict(n_estimators=15, min_samples_leaf=5, random_state=0)
ESTIMATORS = [
    pytest.param(lambda: SarculatorRSF(**SMALL_RSF), id="SarculatorRSF"),
    pytest.param(lambda: ClinicalRSF(**SMALL_RSF), id="ClinicalRSF"),
    pytest.param(lambda: SarculatorCoxPH(), id="SarculatorCoxPH"),
]


def _split(cohort, n_train=90):
    X, y, _ = cohort
    return X.iloc[:n_train], y[:n_train], X.iloc[n_train:], y[n_train:]


@pytest.mark.parametrize(
    "make, columns, scale, reference",
    [
        (lambda: SarculatorRSF(**SMALL_RSF), "sarculator", False,
         lambda: RandomSurvivalForest(**SMALL_RSF)),
        (lambda: ClinicalRSF(**SMALL_RSF), "clinical", False,
         lambda: RandomSurvivalForest(**SMALL_RSF)),
        (lambda: SarculatorCoxPH(alpha=0.5), "sarculator", True,
         lambda: CoxPHSurvivalAnalysis(alpha=0.5)),
    ],
    ids=["SarculatorRSF", "ClinicalRSF", "SarculatorCoxPH"],
)
def test_same_predictions_as_sksurv_on_training_encoded_matrix(cohort, make, columns, scale,
                                                               reference):
    X_train, y_train, X_test, _ = _split(cohort)
    model = make().fit(X_train, y_train)
    encoder = ClinicalEncoder(columns, scale=scale).fit(X_train)  # training rows only
    direct = reference().fit(encoder.transform(X_train), y_train)
    Z_test = encoder.transform(X_test)
    np.testing.assert_allclose(model.predict(X_test), direct.predict(Z_test), rtol=1e-10)
    np.testing.assert_allclose(
        model.predict_survival_function(X_test, return_array=True),
        direct.predict_survival_function(Z_test, return_array=True), rtol=1e-10)
    np.testing.assert_allclose(
        model.predict_cumulative_hazard_function(X_test, return_array=True),
        direct.predict_cumulative_hazard_function(Z_test, return_array=True), rtol=1e-10)
    np.testing.assert_array_equal(model.unique_times_, direct.unique_times_)
    assert list(model.get_feature_names_out()) == list(encoder.get_feature_names_out())
    assert list(model.feature_names_in_) == list(encoder.feature_names_in_)
    assert model.n_features_in_ == len(encoder.feature_names_in_)
    expected_c = concordance_index_censored(
        _split(cohort)[3]["event"], _split(cohort)[3]["time"], direct.predict(Z_test))[0]
    assert model.score(X_test, _split(cohort)[3]) == pytest.approx(expected_c)


def test_ridge_coxph_matches_lifelines(cohort):
    # scikit-survival adds 0.5 * alpha * ||b||^2 to the summed negative log partial
    # likelihood. lifelines adds n * 0.5 * sum_j p_j * (b_j * s_j)^2 (it fits on columns
    # standardised by their SD s_j): the same objective when p_j = alpha / (n * s_j^2).
    lifelines = pytest.importorskip("lifelines")
    X, y, _ = cohort
    alpha = 1.0
    model = SarculatorCoxPH(alpha=alpha).fit(X, y)
    frame = pd.DataFrame(model.transform(X), columns=model.get_feature_names_out())
    penalizer = alpha / (len(X) * frame.std().to_numpy() ** 2)
    frame["time"], frame["event"] = y["time"], y["event"]
    assert len(np.unique(y["time"])) == len(y)  # no ties: Breslow = Efron
    fitter = lifelines.CoxPHFitter(penalizer=penalizer).fit(frame, "time", "event")
    np.testing.assert_allclose(model.coef_, fitter.params_.to_numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("make", ESTIMATORS)
def test_learns_the_known_risk(make):
    X, y, _ = toy_cohort(n=300, seed=1, missing=0.0)
    X_test, y_test, risk_test = toy_cohort(n=300, seed=2, missing=0.0)
    model = make().fit(X, y)
    oracle = concordance_index_censored(y_test["event"], y_test["time"], risk_test)[0]
    assert oracle > 0.69  # the signal the models should find
    # close to the oracle C on fresh patients, and correlated with the true risk
    assert model.score(X_test, y_test) > oracle - 0.08
    assert np.corrcoef(model.predict(X_test), risk_test)[0, 1] > 0.6


@pytest.mark.parametrize("make", ESTIMATORS)
def test_extra_columns_column_order_nan_and_unknown_categories(cohort, make):
    X_train, y_train, X_test, _ = _split(cohort)
    assert X_train.isna().any().any()  # training data has missing values
    model = make().fit(X_train, y_train)
    reference = model.predict(X_test)
    shuffled = X_test[X_test.columns[::-1]].assign(necrosis=np.nan, extra="x")
    np.testing.assert_allclose(model.predict(shuffled), reference)
    odd = X_test.copy()
    odd["histology"] = "a subtype never seen in training"
    odd["grade"] = np.nan
    odd["age"] = np.nan
    risk = model.predict(odd)
    assert risk.shape == (len(odd),) and np.isfinite(risk).all()
    survival = model.predict_survival_function(odd, return_array=True)
    assert np.isfinite(survival).all()


@pytest.mark.parametrize("make", ESTIMATORS)
def test_survival_functions_are_valid(cohort, make):
    X, y, _ = cohort
    model = make().fit(X, y)
    survival = model.predict_survival_function(X.iloc[:10], return_array=True)
    assert survival.shape == (10, len(model.unique_times_))
    assert ((survival >= 0) & (survival <= 1)).all()
    assert (np.diff(survival, axis=1) <= 1e-12).all()
    hazard = model.predict_cumulative_hazard_function(X.iloc[:10], return_array=True)
    assert (np.diff(hazard, axis=1) >= -1e-12).all()
    functions = model.predict_survival_function(X.iloc[:2])
    np.testing.assert_allclose(functions[0](model.unique_times_), survival[0])
    assert (np.diff(model.unique_times_) > 0).all()


@pytest.mark.parametrize("make", ESTIMATORS)
def test_clone_pickle_and_params(cohort, make):
    X, y, _ = cohort
    model = make()
    params = model.get_params()
    assert clone(model).get_params() == params
    fitted = clone(model).fit(X, y)
    assert fitted.get_params() == params  # fit does not touch params
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))


def test_random_state_controls_the_forest(cohort):
    X, y, _ = cohort
    a = ClinicalRSF(n_estimators=10, random_state=3).fit(X, y).predict(X)
    b = ClinicalRSF(n_estimators=10, random_state=3).fit(X, y).predict(X)
    c = ClinicalRSF(n_estimators=10, random_state=4).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_forest_hyper_parameters_reach_sksurv(cohort):
    X, y, _ = cohort
    model = SarculatorRSF(n_estimators=7, max_depth=2, min_samples_leaf=4, max_features=None,
                          max_samples=0.5, random_state=0).fit(X, y)
    forest = model.model_
    assert len(forest.estimators_) == 7
    assert (forest.max_depth, forest.min_samples_leaf, forest.max_features,
            forest.max_samples) == (2, 4, None, 0.5)
    assert max(tree.tree_.max_depth for tree in forest.estimators_) <= 2


@pytest.mark.parametrize(
    "model, grid",
    [
        (SarculatorRSF(n_estimators=10, random_state=0), {"min_samples_leaf": [3, 15]}),
        (ClinicalRSF(n_estimators=10, random_state=0), {"max_depth": [1, None]}),
        (SarculatorCoxPH(), {"alpha": [0.1, 100.0]}),
    ],
    ids=["SarculatorRSF", "ClinicalRSF", "SarculatorCoxPH"],
)
def test_grid_search_with_concordance_scorer(cohort, model, grid):
    X, y, _ = cohort
    cv = KFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(model, grid, cv=cv, scoring=concordance_scorer).fit(X, y)
    # the reported scores are Harrell's C of each fold, recomputed here by hand
    name = next(iter(grid))
    for i, value in enumerate(grid[name]):
        folds = []
        for train, test in cv.split(X):
            fitted = clone(model).set_params(**{name: value}).fit(X.iloc[train], y[train])
            folds.append(concordance_index_censored(
                y[test]["event"], y[test]["time"], fitted.predict(X.iloc[test]))[0])
        assert search.cv_results_["mean_test_score"][i] == pytest.approx(np.mean(folds))
    assert search.best_estimator_.predict(X).shape == (len(X),)


def test_missing_columns_are_named(cohort):
    X, y, _ = cohort
    with pytest.raises(ValueError, match="'grade'.*'histology'|'histology'.*'grade'"):
        SarculatorRSF().fit(X.drop(columns=["grade", "histology"]), y)
    model = SarculatorCoxPH().fit(X, y)
    with pytest.raises(ValueError, match="tumor_size_cm"):
        model.predict(X.drop(columns=["tumor_size_cm"]))


def test_y_is_checked_first_and_names_the_patient(cohort):
    X, y, _ = cohort
    bad = y.copy()
    bad["time"][5] = -1.0
    with pytest.raises(ValueError, match="P005"):
        ClinicalRSF().fit(X.drop(columns=["grade"]), bad)  # y error before the column error


def test_non_dataframe_and_bad_params_are_rejected(cohort):
    X, y, _ = cohort
    with pytest.raises(TypeError, match="DataFrame"):
        SarculatorCoxPH().fit(X.to_numpy(), y)
    with pytest.raises(ValueError, match="alpha"):
        SarculatorCoxPH(alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="columns"):
        ClinicalRSF(columns="everything").fit(X, y)
    with pytest.raises(Exception, match="not fitted"):
        SarculatorRSF().predict(X)


def test_a_column_without_any_training_value_is_left_out(cohort):
    X, y, _ = cohort
    X = X.assign(rt_timing=np.nan, tumor_depth=np.nan)  # like the TCIA cohort
    model = ClinicalRSF(n_estimators=10, random_state=0).fit(X, y)
    assert "rt_timing" not in model.feature_names_in_
    assert model.n_features_in_ == 9
    assert np.isfinite(model.predict(X)).all()


@pytest.mark.parametrize("make", ESTIMATORS)
def test_features_is_a_deprecated_alias_of_feature_transformer(cohort, make):
    X, y, _ = cohort
    fitted = make().fit(X, y)
    with pytest.warns(FutureWarning, match="features_ is deprecated.*feature_transformer_"):
        assert fitted.features_ is fitted.feature_transformer_
    # a model file written before the rename holds the encoder as ``features_``
    state = dict(fitted.__getstate__())
    state["features_"] = state.pop("feature_transformer_")
    old = pickle.loads(pickle.dumps(fitted))
    old.__dict__.clear()
    old.__setstate__(state)
    assert "features_" not in vars(old)
    np.testing.assert_array_equal(old.predict(X), fitted.predict(X))


@pytest.mark.parametrize("name, fresh", [
    ("sarculator_coxph", SarculatorCoxPH()),
    ("clinical_rsf", ClinicalRSF(n_estimators=5, random_state=0)),
])
def test_model_files_written_with_features_still_load(name, fresh, tmp_path):
    # files of commit 319b49f (tests/fixtures/model_files/README.md), which stored the fitted
    # encoder as features_: it loads as feature_transformer_ and predicts as a fit of the same data
    import os
    import warnings

    from sarcoma_survival import load_model
    from sarcoma_survival.datasets import make_synthetic_cohort

    data = make_synthetic_cohort(60, image_size=16, random_state=0, data_dir=tmp_path / "data")
    path = os.path.join(os.path.dirname(__file__), "fixtures", "model_files", f"{name}_written_by_319b49f.ssm")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no FutureWarning: the file's features_ is renamed, not read
        old = load_model(path)
        assert "features_" not in vars(old) and isinstance(old.feature_transformer_, ClinicalEncoder)
        np.testing.assert_array_equal(old.predict(data.X), fresh.fit(data.X, data.y_os).predict(data.X))
