"""RadiomicsRSF and RadiomicsCoxNet: same results as scikit-survival on the assembled feature
matrix, CoxNet's inner CV against a hand-written loop, extraction once, grid search, errors.

Most tests use ``FakeExtractor``, a test double that reads a hidden column of the cohort
table instead of images, so that the model logic is tested in milliseconds; the real
:class:`~sarcoma_survival.radiomics.RadiomicsExtractor` is used at the end on tiny images.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sksurv.ensemble import RandomSurvivalForest
from sksurv.linear_model import CoxnetSurvivalAnalysis
from sksurv.metrics import concordance_index_censored
from sksurv.util import Surv

from sarcoma_survival.metrics import concordance_scorer
from sarcoma_survival.models import RadiomicsCoxNet, RadiomicsRSF
from sarcoma_survival.preprocessing import ClinicalEncoder

# Tiny cohorts make a penalized Cox model keep more features than events; the warning that
# says so is tested on its own (test_coxnet_warns_when_it_keeps_more_features_than_events) and
# would only be noise in the other checks.
pytestmark = pytest.mark.filterwarnings("ignore::sarcoma_survival.models.FeaturesExceedEventsWarning")


class FakeExtractor(TransformerMixin, BaseEstimator):
    """Test double: ``n_features`` deterministic 'radiomics' columns from hidden columns."""

    calls = []  # number of patients of each transform call, shared by all instances

    def __init__(self, n_features=8, scale=1.0):
        self.n_features = n_features
        self.scale = scale

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        FakeExtractor.calls.append(len(X))
        texture = X["_texture"].to_numpy()
        noise = np.vstack([np.cos((k + 1) * X["_seed"].to_numpy()) for k in range(self.n_features)]).T
        columns = {"t1_original_firstorder_Texture": self.scale * texture}
        for k in range(self.n_features - 1):
            columns[f"t1_original_glcm_Noise{k}"] = noise[:, k]
        frame = pd.DataFrame(columns, index=X.index)
        frame.loc[X["_texture"].isna(), "t1_original_glcm_Noise0"] = np.nan  # a failed feature
        return frame


def toy_cohort(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "age": rng.normal(55, 15, n).round(),
            "sex": rng.choice(["F", "M"], n),
            "tumor_size_cm": rng.gamma(4.0, 2.5, n).round(1),
            "tumor_depth": rng.choice(["superficial", "deep"], n, p=[0.2, 0.8]),
            "grade": rng.choice(["low", "high"], n, p=[0.3, 0.7]),
            "histology": rng.choice(["liposarcoma", "leiomyosarcoma", "myxofibrosarcoma"], n),
            "location": rng.choice(["axial", "upper_extremity", "lower_extremity"], n),
            "tumor_volume_cm3": rng.lognormal(5, 1, n).round(1),
            "neoadjuvant_chemo": rng.integers(0, 2, n).astype(float),
            "mets_at_presentation": (rng.random(n) < 0.1).astype(float),
            "rt_timing": rng.choice(["preop", "postop"], n),
            "t1": [f"/data/P{i:03d}_t1.nii.gz" for i in range(n)],
            "mask": [f"/data/P{i:03d}_mask.nii.gz" for i in range(n)],
            "_texture": rng.normal(0, 1, n),
            "_seed": rng.uniform(0, 10, n),
        },
        index=[f"P{i:03d}" for i in range(n)],
    )
    risk = 1.0 * X["_texture"] + 0.6 * (X["grade"] == "high")
    event_time = rng.exponential(1500 * np.exp(-risk.to_numpy()))
    censor_time = rng.uniform(300, 3000, n)
    y = Surv.from_arrays(event_time <= censor_time, np.minimum(event_time, censor_time) + 1.0)
    X.loc[X.index[:3], "age"] = np.nan
    return X, y, risk.to_numpy()


@pytest.fixture(scope="module")
def cohort():
    return toy_cohort()


SMALL_RSF = dict(n_estimators=15, min_samples_leaf=5, random_state=0)


@pytest.mark.parametrize("include_clinical", [False, True])
def test_rsf_same_predictions_as_sksurv(cohort, include_clinical):
    X, y, _ = cohort
    X_train, y_train, X_test = X.iloc[:90], y[:90], X.iloc[90:]
    X_train = X_train.assign(_texture=X_train["_texture"].where(np.arange(90) % 10 != 0))
    model = RadiomicsRSF(FakeExtractor(), include_clinical=include_clinical, **SMALL_RSF)
    model.fit(X_train, y_train)
    extractor = FakeExtractor()
    imputer = SimpleImputer(strategy="median", keep_empty_features=True)
    Z_train = imputer.fit_transform(extractor.transform(X_train))
    Z_test = imputer.transform(extractor.transform(X_test))
    names = list(extractor.transform(X_test).columns)
    if include_clinical:
        encoder = ClinicalEncoder("clinical", scale=False).fit(X_train)
        Z_train = np.hstack([Z_train, encoder.transform(X_train)])
        Z_test = np.hstack([Z_test, encoder.transform(X_test)])
        names += list(encoder.get_feature_names_out())
    direct = RandomSurvivalForest(**SMALL_RSF).fit(Z_train, y_train)
    np.testing.assert_allclose(model.predict(X_test), direct.predict(Z_test), rtol=1e-10)
    np.testing.assert_allclose(model.predict_survival_function(X_test, return_array=True),
                               direct.predict_survival_function(Z_test, return_array=True))
    assert list(model.get_feature_names_out()) == names
    expected_in = ["t1", "mask"] + (list(encoder.feature_names_in_) if include_clinical else [])
    assert list(model.feature_names_in_) == expected_in
    assert model.feature_transformer_.extractor_ is not model.extractor  # cloned, not modified
    assert not hasattr(model.extractor, "fitted_")


def _manual_coxnet_choice(X, y, ratios, n_alphas, cv):
    """The paper's procedure written out by hand: inner folds, C per alpha, argmax."""
    def design(X_fit, X_apply):
        extractor = FakeExtractor()
        imputer = SimpleImputer(strategy="median", keep_empty_features=True)
        scaler = StandardScaler()
        R_fit = scaler.fit_transform(imputer.fit_transform(extractor.transform(X_fit)))
        R_apply = scaler.transform(imputer.transform(extractor.transform(X_apply)))
        encoder = ClinicalEncoder("clinical", scale=True).fit(X_fit)
        return (np.hstack([R_fit, encoder.transform(X_fit)]),
                np.hstack([R_apply, encoder.transform(X_apply)]))

    Z, _ = design(X, X)
    best = (-np.inf, None, None)
    for ratio in ratios:
        alphas = CoxnetSurvivalAnalysis(l1_ratio=ratio, n_alphas=n_alphas, normalize=False,
                                        max_iter=100000, tol=1e-7).fit(Z, y).alphas_
        scores = np.zeros((cv.get_n_splits(), len(alphas)))
        for k, (train, test) in enumerate(cv.split(X, y["event"])):
            Z_train, Z_test = design(X.iloc[train], X.iloc[test])
            for j in range(len(alphas)):
                fit = CoxnetSurvivalAnalysis(l1_ratio=ratio, alphas=alphas[: j + 1],
                                             normalize=False, max_iter=100000, tol=1e-7)
                with warnings.catch_warnings():  # the null model at the top of the path
                    warnings.filterwarnings("ignore", message="all coefficients are zero")
                    fit.fit(Z_train, y[train])
                scores[k, j] = concordance_index_censored(
                    y[test]["event"], y[test]["time"], fit.predict(Z_test))[0]
        mean = scores.mean(axis=0)
        j = int(np.argmax(mean))
        if mean[j] > best[0]:
            best = (mean[j], ratio, alphas[j])
    return best


def test_coxnet_inner_cv_picks_the_c_maximising_penalty(cohort):
    X, y, _ = cohort
    ratios, n_alphas = [0.5, 0.9], 8
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    model = RadiomicsCoxNet(FakeExtractor(), l1_ratio=ratios, n_alphas=n_alphas, cv=cv)
    model.fit(X, y)
    best_score, best_ratio, best_alpha = _manual_coxnet_choice(X, y, ratios, n_alphas, cv)
    assert model.l1_ratio_ == best_ratio
    assert model.alpha_ == pytest.approx(best_alpha, rel=1e-12)
    assert model.best_score_ == pytest.approx(best_score, abs=1e-6)
    results = model.cv_results_
    assert len(results["alpha"]) == len(ratios) * n_alphas
    assert results["mean_test_score"].max() == pytest.approx(model.best_score_)
    np.testing.assert_allclose(
        results["mean_test_score"],
        np.mean([results[f"split{k}_test_score"] for k in range(3)], axis=0))


def test_coxnet_refit_equals_sksurv_with_the_chosen_penalty(cohort):
    X, y, _ = cohort
    X_train, y_train, X_test = X.iloc[:90], y[:90], X.iloc[90:]
    model = RadiomicsCoxNet(FakeExtractor(), l1_ratio=0.9, n_alphas=10, cv=3, random_state=0)
    model.fit(X_train, y_train)
    extractor = FakeExtractor()
    imputer = SimpleImputer(strategy="median", keep_empty_features=True)
    scaler = StandardScaler()
    encoder = ClinicalEncoder("clinical", scale=True).fit(X_train)
    Z_train = np.hstack([scaler.fit_transform(imputer.fit_transform(extractor.transform(X_train))),
                         encoder.transform(X_train)])
    Z_test = np.hstack([scaler.transform(imputer.transform(extractor.transform(X_test))),
                        encoder.transform(X_test)])
    path = CoxnetSurvivalAnalysis(l1_ratio=0.9, n_alphas=10, normalize=False, max_iter=100000,
                                  tol=1e-7).fit(Z_train, y_train).alphas_
    direct = CoxnetSurvivalAnalysis(l1_ratio=0.9, alphas=path[path >= model.alpha_],
                                    normalize=False, max_iter=100000, tol=1e-7,
                                    fit_baseline_model=True).fit(Z_train, y_train)
    np.testing.assert_allclose(model.predict(X_test), direct.predict(Z_test), rtol=1e-10)
    np.testing.assert_allclose(model.coef_, direct.coef_[:, -1])
    survival = model.predict_survival_function(X_test, return_array=True)
    np.testing.assert_allclose(survival, direct.predict_survival_function(Z_test, return_array=True))
    assert ((survival >= 0) & (survival <= 1)).all() and (np.diff(survival, axis=1) <= 1e-12).all()
    hazard = model.predict_cumulative_hazard_function(X_test, return_array=True)
    np.testing.assert_allclose(hazard, -np.log(survival), rtol=1e-8, atol=1e-12)
    assert model.coef_.shape == (len(model.get_feature_names_out()),)


def test_coxnet_finds_the_radiomics_signal():
    X, y, _ = toy_cohort(n=200, seed=1)
    X_test, y_test, risk_test = toy_cohort(n=300, seed=2)
    model = RadiomicsCoxNet(FakeExtractor(), l1_ratio=[0.5, 1.0], n_alphas=15, random_state=0)
    model.fit(X, y)
    oracle = concordance_index_censored(y_test["event"], y_test["time"], risk_test)[0]
    assert model.score(X_test, y_test) > oracle - 0.03
    names = list(model.get_feature_names_out())
    # the informative feature has the largest coefficient, with the right sign
    assert names[int(np.argmax(np.abs(model.coef_)))] == "t1_original_firstorder_Texture"
    assert model.coef_[0] > 0


def test_coxnet_warns_when_it_keeps_more_features_than_events(monkeypatch):
    import warnings

    from sarcoma_survival.models import FeaturesExceedEventsWarning

    X, y, _ = toy_cohort(n=200, seed=1)
    with warnings.catch_warnings():  # enough events: silent (warnings are errors here)
        warnings.simplefilter("error", FeaturesExceedEventsWarning)
        model = RadiomicsCoxNet(FakeExtractor(), l1_ratio=1.0, n_alphas=10, cv=3, random_state=0).fit(X, y)
    assert 0 < np.count_nonzero(model.coef_) <= y["event"].sum()
    # 24 patients, 4 events, and the inner CV made to choose the weakest penalty: most features kept
    def weakest(self):
        last = int(np.flatnonzero(~np.isnan(self.cv_results_["mean_test_score"]))[-1])
        self.l1_ratio_, self.alpha_ = (float(self.cv_results_[k][last]) for k in ("l1_ratio", "alpha"))
        self.best_score_ = float(self.cv_results_["mean_test_score"][last])

    monkeypatch.setattr(RadiomicsCoxNet, "_select_best", weakest)
    few = Surv.from_arrays(np.arange(24) % 6 == 0, y["time"][:24])
    weak = RadiomicsCoxNet(FakeExtractor(), l1_ratio=0.1, n_alphas=10, alpha_min_ratio=1e-3, cv=2, random_state=0)
    with pytest.warns(FeaturesExceedEventsWarning, match=r"kept \d+ features from 24 training patients with 4 "
                                                         r"events.*inner CV's"):
        weak.fit(X.iloc[:24], few)
    assert np.count_nonzero(weak.coef_) > 4


def test_features_are_extracted_once_per_fit(cohort):
    X, y, _ = cohort
    FakeExtractor.calls.clear()
    RadiomicsCoxNet(FakeExtractor(), l1_ratio=0.5, n_alphas=5, cv=3, random_state=0).fit(X, y)
    assert FakeExtractor.calls == [len(X)]  # the inner CV reuses the training features
    FakeExtractor.calls.clear()
    RadiomicsRSF(FakeExtractor(), n_estimators=5).fit(X, y)
    assert FakeExtractor.calls == [len(X)]


def test_grid_search_over_extractor_and_model_params(cohort):
    X, y, _ = cohort
    model = RadiomicsRSF(FakeExtractor(), include_clinical=True, n_estimators=10, random_state=0)
    assert model.get_params()["extractor__n_features"] == 8
    grid = {"extractor__n_features": [2, 8]}
    cv = KFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(model, grid, cv=cv, scoring=concordance_scorer).fit(X, y)
    params = search.cv_results_["params"]
    for i, setting in enumerate(params):
        folds = []
        for train, test in cv.split(X):
            fitted = clone(model).set_params(**setting).fit(X.iloc[train], y[train])
            folds.append(fitted.score(X.iloc[test], y[test]))
        assert search.cv_results_["mean_test_score"][i] == pytest.approx(np.mean(folds))
    best = search.best_estimator_
    assert best.feature_transformer_.extractor_.n_features == search.best_params_["extractor__n_features"]

    coxnet = GridSearchCV(
        RadiomicsCoxNet(FakeExtractor(), l1_ratio=0.5, n_alphas=5, cv=3, random_state=0),
        {"include_clinical": [False, True]}, cv=cv, scoring=concordance_scorer).fit(X, y)
    assert np.isfinite(coxnet.cv_results_["mean_test_score"]).all()


def test_other_column_order_extra_columns_and_unknown_categories(cohort):
    X, y, _ = cohort
    for model in (RadiomicsRSF(FakeExtractor(), include_clinical=True, **SMALL_RSF),
                  RadiomicsCoxNet(FakeExtractor(), n_alphas=5, cv=3, random_state=0)):
        model.fit(X, y)
        reference = model.predict(X)
        np.testing.assert_allclose(model.predict(X[X.columns[::-1]].assign(extra=1)), reference)
        odd = X.assign(histology="unknown subtype", grade=np.nan)
        assert np.isfinite(model.predict(odd)).all()


def test_errors_name_what_is_wrong(cohort):
    X, y, _ = cohort

    class WrongIndex(FakeExtractor):
        def transform(self, X):
            return super().transform(X).iloc[1:]

    with pytest.raises(ValueError, match="no features for patients \\['P000'\\]"):
        RadiomicsRSF(WrongIndex()).fit(X, y)
    with pytest.raises(ValueError, match="'grade'"):
        RadiomicsRSF(FakeExtractor(), include_clinical=True).fit(X.drop(columns="grade"), y)
    RadiomicsRSF(FakeExtractor(), include_clinical=False, n_estimators=5).fit(
        X.drop(columns="grade"), y)  # clinical columns not needed without them
    with pytest.raises(ValueError, match="l1_ratio"):
        RadiomicsCoxNet(FakeExtractor(), l1_ratio=[0.5, 0.0]).fit(X, y)
    with pytest.raises(ValueError, match="extractor"):
        RadiomicsRSF(extractor="pyradiomics").fit(X, y)
    few = y.copy()
    few["event"][:] = False
    few["event"][:2] = True
    with pytest.raises(ValueError, match="at least 5 events"):
        RadiomicsCoxNet(FakeExtractor()).fit(X, few)


# ------------------------------------------------------------ the real extractor, tiny images
@pytest.fixture(scope="module")
def image_cohort(tmp_path_factory):
    from sarcoma_survival.datasets import make_synthetic_cohort

    data = make_synthetic_cohort(24, image_size=16, random_state=0,
                                 data_dir=tmp_path_factory.mktemp("radiomics_models"))
    return data.X, data.y_dm


def test_real_extractor_features_are_extracted_once_across_cv(image_cohort, tmp_path,
                                                              monkeypatch):
    from sarcoma_survival.radiomics import RadiomicsExtractor, _extractor

    X, y = image_cohort
    calls = []
    original = _extractor.extract_patient

    def counting(patient, *args, **kwargs):
        calls.append(patient)
        return original(patient, *args, **kwargs)

    monkeypatch.setattr(_extractor, "extract_patient", counting)
    extractor = RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path)
    model = RadiomicsRSF(extractor, include_clinical=True, n_estimators=10, random_state=0)
    model.fit(X, y)
    assert sorted(calls) == sorted(X.index)  # every patient once
    names = model.get_feature_names_out()
    assert any(n.startswith("t1_") for n in names) and any(n.startswith("t2_") for n in names)
    assert "age" in names
    direct = RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path).fit_transform(X)
    np.testing.assert_allclose(model.transform(X)[:, : direct.shape[1]],
                               direct.fillna(direct.median()).to_numpy())
    calls.clear()
    cv = KFold(3, shuffle=True, random_state=0)
    GridSearchCV(model, {"min_samples_leaf": [3, 6]}, cv=cv, scoring=concordance_scorer).fit(X, y)
    RadiomicsCoxNet(extractor, n_alphas=5, cv=3, random_state=0).fit(X, y)
    assert calls == []  # clones of the extractor read the on-disk cache
    assert extractor.get_params() == RadiomicsExtractor(preprocessor=None,
                                                        cache_dir=tmp_path).get_params()


def test_coxnet_inner_cv_warnings_come_back_from_workers_as_one_line(cohort, capfd):
    X, y, _ = cohort
    model = RadiomicsCoxNet(FakeExtractor(), l1_ratio=[0.5, 0.9], n_alphas=5, cv=3, max_iter=2,
                            n_jobs=2, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    ours = [w for w in caught if "inner-CV path fits" in str(w.message)]
    assert len(ours) == 1 and issubclass(ours[0].category, ConvergenceWarning)
    assert "max_iter=2" in str(ours[0].message) and "of 6 inner-CV path fits" in str(ours[0].message)
    # the fits outside the inner CV (one path per L1 ratio, the refit) warn in this process
    assert sum(issubclass(w.category, ConvergenceWarning) for w in caught) <= 1 + 2 + 1
    assert "Warning" not in capfd.readouterr().err  # nothing printed by the worker processes


def test_coxnet_penalties_a_fold_path_did_not_reach_are_never_chosen(cohort, monkeypatch):
    # sksurv stops a path early when it runs out of iterations: that fold has fewer alphas.
    # Those candidates get NaN (not a crash, not the first NaN chosen by argmax).
    from sarcoma_survival.models import _radiomics

    X, y, _ = cohort
    original = _radiomics._fold_scores
    calls = []

    def truncated(*args):
        scores, caught = original(*args)
        calls.append(1)
        if len(calls) == 1:  # the first fold of the first L1 ratio stops after 3 alphas
            scores[3:] = np.nan
        return scores, caught

    monkeypatch.setattr(_radiomics, "_fold_scores", truncated)
    model = RadiomicsCoxNet(FakeExtractor(), l1_ratio=0.5, n_alphas=8, cv=3, random_state=0).fit(X, y)
    mean = model.cv_results_["mean_test_score"]
    assert np.isnan(mean[3:]).all() and np.isfinite(mean[:3]).all()
    assert model.alpha_ in model.cv_results_["alpha"][:3]
    assert model.best_score_ == np.max(mean[:3])

    class EarlyStop(CoxnetSurvivalAnalysis):
        def fit(self, X, y):
            super().fit(X, y)
            self.coef_ = self.coef_[:, :2]
            return self

    class Identity(BaseEstimator):
        def fit(self, X, radiomics=None):
            return self

        def transform(self, X, radiomics=None):
            return np.asarray(radiomics)

    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(len(y), 3)), index=X.index)
    scores, _ = original(Identity(), frame, frame, y, np.arange(60), np.arange(60, len(y)),
                         EarlyStop(alphas=[0.5, 0.2, 0.1, 0.05], normalize=False))
    assert np.isfinite(scores[:2]).all() and np.isnan(scores[2:]).all()


@pytest.mark.parametrize("l1_ratio", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("alpha_min_ratio", ["auto", 0.01])
def test_coxnet_penalty_path_equals_a_converged_sksurv_path(cohort, l1_ratio, alpha_min_ratio):
    # The penalties come from a one-iteration fit (no path walk): they must be exactly those
    # of a converged scikit-survival path on the same design, and so must the extension
    # used when that short fit stops early.
    X, y, _ = cohort
    model = RadiomicsCoxNet(FakeExtractor(), n_alphas=30, alpha_min_ratio=alpha_min_ratio)
    model.feature_transformer_ = model._make_features()
    Z = model.feature_transformer_.fit(X).transform(X)
    full = CoxnetSurvivalAnalysis(l1_ratio=l1_ratio, n_alphas=30, alpha_min_ratio=alpha_min_ratio,
                                  normalize=False, max_iter=100000, tol=1e-7)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="all coefficients are zero")
        full.fit(Z, y)
    ours = model._alpha_path(l1_ratio, Z, y)
    np.testing.assert_array_equal(ours[:len(full.alphas_)], full.alphas_)
    assert len(ours) == 30
    factor = float(full.alpha_min_ratio_) ** (1 / 29)
    extended = [ours[0]]
    for _ in range(29):
        extended.append(extended[-1] * factor)
    np.testing.assert_array_equal(ours, extended)


def test_coxnet_refit_reaches_the_chosen_penalty_when_sksurv_ends_its_path_early(cohort, monkeypatch):
    # sksurv may end the refit's path before the chosen alpha (flat deviance); the refit then
    # restarts a few penalties above it, and gives the same model as the full path.
    from sarcoma_survival.models import _radiomics

    X, y, _ = cohort
    reference = RadiomicsCoxNet(FakeExtractor(), l1_ratio=0.5, n_alphas=30, cv=3, random_state=0).fit(X, y)
    assert np.flatnonzero(reference.cv_results_["alpha"] == reference.alpha_)[0] >= _radiomics._SHORT_PATH

    class EndsEarly(CoxnetSurvivalAnalysis):
        def fit(self, X, y):
            super().fit(X, y)
            if self.fit_baseline_model and self.alphas is not None and len(self.alphas) > _radiomics._SHORT_PATH:
                self.alphas_, self.coef_ = self.alphas_[:2], self.coef_[:, :2]  # the rule fired
            return self

    original = RadiomicsCoxNet._coxnet
    monkeypatch.setattr(RadiomicsCoxNet, "_coxnet", lambda self, ratio, **kw: EndsEarly(
        **{**original(self, ratio, **kw).get_params()}))
    model = RadiomicsCoxNet(FakeExtractor(), l1_ratio=0.5, n_alphas=30, cv=3, random_state=0).fit(X, y)
    assert model.alpha_ == reference.alpha_ and model.model_.alphas_[-1] == model.alpha_
    # the same penalized problem solved to the same tolerance from other warm starts
    np.testing.assert_allclose(model.predict(X), reference.predict(X), rtol=0, atol=1e-4)
