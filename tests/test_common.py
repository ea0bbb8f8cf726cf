"""Common contract checks run on every survival estimator of the toolkit.

Estimators are discovered from ``sarcoma_survival.__all__`` (and the ``models`` / ``nn``
subpackages): every class that is a scikit-learn estimator with a
``predict_survival_function`` and can be built from its defaults (base classes that need
an argument, such as a torch module, are left out). Each must be registered in ``FAST``
below with small, fast parameters (and a 2-point grid), or
``test_every_estimator_is_registered`` fails. ``_ReferenceCoxPH``, defined here from scikit-survival parts, runs through
the
same checks, so the checks themselves are known to pass on a correct estimator.
"""
from __future__ import annotations

import inspect
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sksurv.base import SurvivalAnalysisMixin
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.util import Surv

import sarcoma_survival
from sarcoma_survival.metrics import concordance_index, concordance_scorer
from sarcoma_survival.model_selection import SurvivalStratifiedKFold
from sarcoma_survival.preprocessing import ClinicalEncoder
from sarcoma_survival.utils.validation import check_survival_y

# Tiny cohorts make a penalized Cox model keep more features than events; the warning that
# says so is tested in tests/test_models_radiomics.py and would only be noise in these checks.
pytestmark = pytest.mark.filterwarnings("ignore::sarcoma_survival.models.FeaturesExceedEventsWarning")

N_PATIENTS = 40
IMAGE_SIZE = 16


class _ReferenceCoxPH(SurvivalAnalysisMixin, BaseEstimator):
    """Cox model on a few clinical columns of the cohort table (reference for the checks)."""

    def __init__(self, columns=("age", "tumor_size_cm", "grade"), alpha=0.1):
        self.columns = columns
        self.alpha = alpha

    def fit(self, X, y):
        check_survival_y(y, X)
        self.encoder_ = ClinicalEncoder(list(self.columns)).fit(X)
        self.model_ = CoxPHSurvivalAnalysis(alpha=self.alpha).fit(self.encoder_.transform(X), y)
        self.unique_times_ = self.model_.unique_times_
        self.training_risks_ = np.sort(self.model_.predict(self.encoder_.transform(X)))
        self.feature_names_in_ = self.encoder_.feature_names_in_  # read by name
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def _z(self, X):
        if not hasattr(self, "model_"):
            raise NotFittedError("_ReferenceCoxPH is not fitted")
        return self.encoder_.transform(X)

    def predict(self, X):
        z = self._z(X)  # before touching model_: unfitted means NotFittedError
        return self.model_.predict(z)

    def predict_survival_function(self, X, return_array=False):
        z = self._z(X)
        return self.model_.predict_survival_function(z, return_array=return_array)

    def predict_cumulative_hazard_function(self, X, return_array=False):
        z = self._z(X)
        return self.model_.predict_cumulative_hazard_function(z, return_array=return_array)


def _tiny_volumes():
    from sarcoma_survival.preprocessing import VolumePreprocessor

    return VolumePreprocessor(size=IMAGE_SIZE, n4=False)


def _raw_radiomics():
    from sarcoma_survival.radiomics import RadiomicsExtractor

    return RadiomicsExtractor(preprocessor=None)  # the stored files, no N4: fast


def _clinical_rsf_member():
    from sarcoma_survival import ClinicalRSF

    return ClinicalRSF(n_estimators=5)


def _tiny_densenet():
    return dict(module__init_features=8, module__growth_rate=4, module__block_config=(1, 1))


# name -> (factory of fast params, 2-point grid, tolerance of |S - exp(-H)|).
# Forests average Kaplan-Meier curves and Nelson-Aalen hazards separately, so their
# S and exp(-H) agree only approximately; Cox models (Breslow) agree to rounding.
FAST = {
    "_ReferenceCoxPH": (lambda: {}, {"alpha": [0.1, 1.0]}, 1e-6),
    "SarculatorRSF": (
        lambda: dict(n_estimators=10, random_state=0), {"min_samples_leaf": [3, 6]}, 0.25,
    ),
    "ClinicalRSF": (
        lambda: dict(n_estimators=10, random_state=0), {"min_samples_leaf": [3, 6]}, 0.25,
    ),
    "SarculatorCoxPH": (lambda: dict(alpha=1.0), {"alpha": [0.1, 1.0]}, 1e-6),
    "RadiomicsRSF": (
        lambda: dict(extractor=_raw_radiomics(), n_estimators=10, include_clinical=True,
                     random_state=0),
        {"min_samples_leaf": [3, 6]},
        0.25,
    ),
    "RadiomicsCoxNet": (
        lambda: dict(extractor=_raw_radiomics(), l1_ratio=(0.5,), n_alphas=5, cv=2,
                     random_state=0),
        {"l1_ratio": [(0.5,), (0.9,)]},
        1e-6,
    ),
    "ClinicalMLPSurvival": (
        lambda: dict(max_epochs=2, batch_size=16, random_state=0), {"lr": [1e-3, 1e-2]}, 1e-6,
    ),
    "DenseNetSurvival": (
        lambda: dict(preprocessor=_tiny_volumes(), max_epochs=2, batch_size=16, random_state=0,
                     **_tiny_densenet()),
        {"lr": [1e-3, 1e-2]},
        1e-6,
    ),
    "MMNNSurvival": (
        lambda: dict(preprocessor=_tiny_volumes(), max_epochs=2, batch_size=16, random_state=0,
                     **_tiny_densenet()),
        {"lr": [1e-3, 1e-2]},
        1e-6,
    ),
    "SeedEnsemble": (
        lambda: dict(estimator=_clinical_rsf_member(), random_states=(0, 1)),
        {"estimator__min_samples_leaf": [3, 6]},
        1e-6,  # a Breslow baseline on the mean score: S = exp(-H) to rounding
    ),
}


# skorch's NeuralNet.__init__ itself sets these (its own convention, not a fit result).
SKORCH_INIT_ATTRIBUTES = {"history_", "initialized_", "virtual_params_"}


def _is_survival_estimator(obj):
    """A survival estimator class that can be built from defaults (not a base class)."""
    if not (
        isinstance(obj, type)
        and issubclass(obj, BaseEstimator)
        and callable(getattr(obj, "predict_survival_function", None))
    ):
        return False
    # a meta-estimator's ``estimator`` is given by its FAST factory (scikit-learn's convention)
    required = [
        p for p in inspect.signature(obj.__init__).parameters.values()
        if p.name not in ("self", "estimator") and p.default is p.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    return not required


def discover_estimators():
    """Exported survival estimator classes, by name."""
    found = {}
    modules = [sarcoma_survival]
    for sub in ("models", "nn"):
        try:
            modules.append(__import__(f"sarcoma_survival.{sub}", fromlist=["__all__"]))
        except ImportError:  # pragma: no cover - subpackage not there yet
            pass
    for module in modules:
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if _is_survival_estimator(obj):
                found[name] = obj
    return found


ESTIMATORS = {"_ReferenceCoxPH": _ReferenceCoxPH, **discover_estimators()}
NAMES = sorted(ESTIMATORS)


def test_every_estimator_is_registered():
    missing = sorted(set(ESTIMATORS) - set(FAST))
    assert not missing, (
        f"exported estimators without fast test parameters in tests/test_common.py FAST: {missing}"
    )


def test_discovery_finds_the_reference_and_skips_non_estimators():
    assert _is_survival_estimator(_ReferenceCoxPH)
    assert not _is_survival_estimator(ClinicalEncoder)
    assert not _is_survival_estimator(concordance_index)

    class _Base(_ReferenceCoxPH):  # a base class that needs an argument is not discovered
        def __init__(self, module, alpha=0.1):
            self.module = module
            self.alpha = alpha

    assert not _is_survival_estimator(_Base)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def _module_cache(tmp_path_factory):
    """Point the caches where conftest's per-test fixture does, for module-scoped fits too."""
    base = tmp_path_factory.getbasetemp()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SARCOMA_SURVIVAL_CACHE", str(base / "sarcoma_survival_cache"))
        patch.setenv("SARCOMA_SURVIVAL_DATA", str(base / "sarcoma_survival_data"))
        yield


@pytest.fixture(scope="module")
def cohort_bunch(tmp_path_factory, _module_cache):
    from sarcoma_survival.datasets import make_synthetic_cohort

    return make_synthetic_cohort(
        N_PATIENTS, image_size=IMAGE_SIZE, random_state=0,
        data_dir=tmp_path_factory.mktemp("common_cohort"),
    )


@pytest.fixture(scope="module")
def cohort(cohort_bunch):
    data = cohort_bunch
    assert data.y_os["event"].sum() >= 8
    return data.X, data.y_os


def make(name, **overrides):
    params = {**FAST[name][0](), **overrides}
    return ESTIMATORS[name](**params)


@pytest.fixture(scope="module", params=NAMES)
def fitted(request, cohort):
    name = request.param
    X, y = cohort
    X_before = X.copy()
    estimator = make(name)
    returned = estimator.fit(X, y)
    assert returned is estimator, "fit must return self"
    pd.testing.assert_frame_equal(X, X_before)  # fit does not modify X
    return name, estimator


# --------------------------------------------------------------------------- checks
@pytest.mark.parametrize("name", NAMES)
def test_init_stores_params_and_clone_round_trips(name):
    params = FAST[name][0]()
    estimator = ESTIMATORS[name](**params)
    stored = estimator.get_params(deep=False)
    for key, value in params.items():
        assert stored[key] is value, f"__init__ changed parameter {key!r}"
    twin = clone(estimator)
    assert twin is not estimator
    assert set(twin.get_params(deep=False)) == set(stored)
    assert twin.set_params(**stored) is twin
    fitted_like = [
        k for k in vars(estimator)
        if k.endswith("_") and not k.startswith("_") and k not in SKORCH_INIT_ATTRIBUTES
    ]
    assert not fitted_like, f"unfitted estimator already has fitted attributes {fitted_like}"


@pytest.mark.parametrize("name", NAMES)
def test_predict_before_fit_raises_not_fitted(name, cohort):
    X, _ = cohort
    with pytest.raises(NotFittedError):
        make(name).predict(X)


def test_predict_shape_finite_and_score(fitted, cohort):
    name, estimator = fitted
    X, y = cohort
    risk = estimator.predict(X)
    assert isinstance(risk, np.ndarray) and risk.shape == (len(X),)
    assert np.all(np.isfinite(risk))
    score = estimator.score(X, y)
    assert 0.0 <= score <= 1.0
    assert score == pytest.approx(concordance_index(y, risk), abs=1e-12)
    assert estimator.predict(X.iloc[:3]).shape == (3,)


def test_survival_function_properties(fitted, cohort):
    name, estimator = fitted
    X, _ = cohort
    functions = estimator.predict_survival_function(X)
    assert len(functions) == len(X)
    times = np.asarray(functions[0].x)
    curves = np.asarray([fn(times) for fn in functions])
    assert np.all(np.diff(times) > 0)
    assert np.all((curves >= 0) & (curves <= 1))
    assert np.all(np.diff(curves, axis=1) <= 1e-12), "survival must not increase"
    assert np.median(curves[:, 0]) > 0.8, "survival must start near 1"
    array = estimator.predict_survival_function(X, return_array=True)
    assert array.shape == (len(X), times.size)
    np.testing.assert_allclose(array, curves, rtol=0, atol=1e-12)
    if hasattr(estimator, "unique_times_"):
        np.testing.assert_allclose(times, estimator.unique_times_)


def test_cumulative_hazard_properties(fitted, cohort):
    name, estimator = fitted
    X, _ = cohort
    functions = estimator.predict_cumulative_hazard_function(X)
    times = np.asarray(functions[0].x)
    hazards = np.asarray([fn(times) for fn in functions])
    assert np.all(hazards >= 0)
    assert np.all(np.diff(hazards, axis=1) >= -1e-12), "cumulative hazard must not decrease"
    array = estimator.predict_cumulative_hazard_function(X, return_array=True)
    np.testing.assert_allclose(array, hazards, rtol=0, atol=1e-12)
    survival = estimator.predict_survival_function(X, return_array=True)
    assert survival.shape == hazards.shape
    np.testing.assert_allclose(np.exp(-hazards), survival, rtol=0, atol=FAST[name][2])
    # higher risk <-> lower survival at the median time (rank correlation, ties averaged)
    risk = estimator.predict(X)
    middle = survival[:, survival.shape[1] // 2]
    if np.ptp(risk) > 1e-12 and np.ptp(middle) > 1e-12:  # a null model ranks nothing
        assert spearmanr(risk, middle).statistic < 0


def test_pickle_round_trip_gives_same_predictions(fitted, cohort):
    name, estimator = fitted
    X, _ = cohort
    restored = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(restored.predict(X), estimator.predict(X))
    np.testing.assert_array_equal(
        restored.predict_survival_function(X, return_array=True),
        estimator.predict_survival_function(X, return_array=True),
    )


def test_works_inside_a_pipeline(fitted, cohort):
    name, estimator = fitted
    X, y = cohort
    pipe = Pipeline([("identity", FunctionTransformer()), ("model", clone(estimator))])
    pipe.fit(X, y)
    np.testing.assert_allclose(pipe.predict(X), estimator.predict(X), rtol=1e-6, atol=1e-6)
    assert pipe.score(X, y) == pytest.approx(estimator.score(X, y), abs=1e-6)


def test_cross_validate_and_grid_search_with_the_shared_scorer(fitted, cohort):
    name, fitted_estimator = fitted
    X, y = cohort
    cv = SurvivalStratifiedKFold(2, shuffle=True, random_state=0)
    estimator = make(name)
    scores = cross_validate(estimator, X, y, cv=cv, scoring=concordance_scorer,
                            error_score="raise")
    assert np.all((scores["test_score"] >= 0) & (scores["test_score"] <= 1))
    grid = FAST[name][1]
    search = GridSearchCV(estimator, grid, cv=cv, scoring=concordance_scorer,
                          error_score="raise").fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert len(search.cv_results_["params"]) == 2
    assert search.best_estimator_.predict(X).shape == (len(X),)


def _bad_targets(X, y):
    n = len(y)
    negative = y.copy()
    negative["time"][2] = -5.0
    zero = y.copy()
    zero["time"][3] = 0.0
    nan = y.copy()
    nan["time"][4] = np.nan
    censored = Surv.from_arrays(np.zeros(n, dtype=bool), y["time"])
    return {
        "negative": (negative, str(X.index[2])),
        "zero": (zero, str(X.index[3])),
        "nan": (nan, str(X.index[4])),
        "all_censored": (censored, "no observed event"),
        "wrong_length": (y[:-1], "rows"),
        "not_structured": (y["time"], "structured"),
    }


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "case", ["negative", "zero", "nan", "all_censored", "wrong_length", "not_structured"]
)
def test_bad_y_raises_a_clear_error(name, case, cohort):
    X, y = cohort
    bad, expected = _bad_targets(X, y)[case]
    with pytest.raises(ValueError, match=expected):
        make(name).fit(X, bad)


def test_random_state_reproducibility(fitted, cohort):
    name, estimator = fitted
    X, y = cohort
    if "random_state" not in estimator.get_params():
        pytest.skip(f"{name} has no random_state: it is deterministic")
    again = clone(estimator).fit(X, y)  # same random_state as the fixture's fit
    np.testing.assert_array_equal(again.predict(X), estimator.predict(X))


# --------------------------------------------------------------------------- parameter constraints
def discover_public_estimators():
    """Every exported scikit-learn estimator class (survival models and transformers)."""
    import sarcoma_survival.competing_risks
    import sarcoma_survival.models
    import sarcoma_survival.nn
    import sarcoma_survival.preprocessing
    import sarcoma_survival.radiomics

    found = {}
    for module in (sarcoma_survival, sarcoma_survival.models, sarcoma_survival.nn,
                   sarcoma_survival.preprocessing, sarcoma_survival.radiomics,
                   sarcoma_survival.competing_risks):
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, BaseEstimator):
                found[name] = obj
    return found


PUBLIC = discover_public_estimators()


def declared_parameters(cls):
    """The parameters this package declares for ``cls``: the named arguments of the
    ``__init__`` of every class of its MRO defined in ``sarcoma_survival``.

    The neural estimators pass ``**kwargs`` on to skorch's ``NeuralNet``: skorch's own
    arguments (``iterator_train``, ``callbacks``, ``warm_start``...) and the routed
    ``prefix__name`` parameters are skorch's to check (its ``_validate_params``), so
    they are left out here: they are not named in any of this package's ``__init__``.
    """
    names = []
    for klass in cls.__mro__:
        if klass.__module__.startswith("sarcoma_survival") and "__init__" in vars(klass):
            for p in inspect.signature(klass.__init__).parameters.values():
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                    names.append(p.name)
    return sorted(set(names))


def test_public_estimators_are_discovered():
    assert {"VolumePreprocessor", "ClinicalEncoder", "RandomAugment3D", "RadiomicsExtractor",
            "SurvivalNeuralNet", "MMNNSurvival", "RadiomicsCoxNet"} <= set(PUBLIC)
    assert set(ESTIMATORS) - {"_ReferenceCoxPH"} <= set(PUBLIC)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_declared_parameter_is_constrained(name):
    cls = PUBLIC[name]
    declared = declared_parameters(cls)
    constraints = getattr(cls, "_parameter_constraints", {})
    missing = [p for p in declared if p not in constraints]
    assert not missing, f"{name}._parameter_constraints lacks {missing}"
    stale = [p for p in constraints if p not in declared]
    assert not stale, f"{name}._parameter_constraints names no parameter of __init__: {stale}"


class _BadType:
    """A value that no constraint of the toolkit accepts (not None, not callable, no method)."""


def _build(name, **params):
    from sarcoma_survival.nn import ClinicalMLP

    if name in FAST:
        return ESTIMATORS[name](**{**FAST[name][0](), **params})
    if name == "SurvivalNeuralNet":
        return PUBLIC[name](**{"module": ClinicalMLP, **params})
    return PUBLIC[name](**params)


CONSTRAINED = [(name, param) for name in sorted(PUBLIC) for param in declared_parameters(PUBLIC[name])]


@pytest.mark.parametrize("name, param", CONSTRAINED)
def test_fit_rejects_a_parameter_of_the_wrong_type_first(name, param, cohort):
    X, y = cohort
    estimator = _build(name, **{param: _BadType()})
    with pytest.raises(ValueError, match=f"'{param}' parameter of {name}"):
        if not hasattr(estimator, "fit"):
            estimator.reset()  # RandomAugment3D: its fit
        elif name in ESTIMATORS or name == "SurvivalNeuralNet":
            estimator.fit(X, y)
        elif callable(getattr(estimator, "predict_cumulative_incidence", None)):
            # a competing-risks estimator checks its (competing) y first, then its parameters
            from sarcoma_survival.competing_risks import competing_y

            estimator.fit(X, competing_y(y["event"].astype(int), y["time"]))
        else:
            estimator.fit(X)


# =========================================================================== competing risks
# Competing-risks estimators (``sarcoma_survival.competing_risks``) take a competing y
# (int event, 0 = censored, 1..K = cause) and have ``predict_cumulative_incidence``
# instead of ``predict_survival_function`` (the documented exception to the survival
# contract). They are discovered from that module's ``__all__`` and run through the
# same contract with the competing-risks scorer.
from sarcoma_survival.competing_risks import (  # noqa: E402
    concordance_index_competing,
    make_competing_risks_scorer,
)


def _numeric_columns(X):
    return X[["age", "tumor_size_cm"]]


def _cohort_table(X):
    return X


# name -> (factory of fast params, 2-point grid, the X it takes from the cohort table)
FAST_COMPETING = {
    "FineGrayCoxPH": (lambda: {}, {"alpha": [0.0, 1.0]}, _numeric_columns),
    "CauseSpecificCoxPH": (lambda: {}, {"alpha": [0.0, 1.0]}, _numeric_columns),
    "SarculatorFineGray": (lambda: dict(min_frequency=3), {"alpha": [0.5, 1.0]}, _cohort_table),
    # The neural estimators (``cause=1``): with a competing y they have one log-risk per
    # cause and a cumulative incidence; their survival function then refuses to answer.
    "ClinicalMLPSurvival": (FAST["ClinicalMLPSurvival"][0], FAST["ClinicalMLPSurvival"][1], _cohort_table),
    "DenseNetSurvival": (FAST["DenseNetSurvival"][0], FAST["DenseNetSurvival"][1], _cohort_table),
    "MMNNSurvival": (
        lambda: {**FAST["MMNNSurvival"][0](), "blend_warmup": 1, "blend_period": 1},
        FAST["MMNNSurvival"][1],
        _cohort_table,
    ),
}
#: Competing-risks estimators that also take a survival y (and then have survival functions).
NEURAL_COMPETING = ("ClinicalMLPSurvival", "DenseNetSurvival", "MMNNSurvival")


def _is_competing_estimator(obj):
    return (
        isinstance(obj, type)
        and issubclass(obj, BaseEstimator)
        and callable(getattr(obj, "predict_cumulative_incidence", None))
    )


def discover_competing_estimators():
    module = __import__("sarcoma_survival.competing_risks", fromlist=["__all__"])
    found = {
        name: getattr(module, name) for name in module.__all__
        if _is_competing_estimator(getattr(module, name))
    }
    return {**found, **{name: ESTIMATORS[name] for name in NEURAL_COMPETING}}


COMPETING = discover_competing_estimators()
COMPETING_NAMES = sorted(COMPETING)


def test_every_competing_estimator_is_registered():
    assert COMPETING_NAMES, "no competing-risks estimator discovered"
    missing = sorted(set(COMPETING) - set(FAST_COMPETING))
    assert not missing, f"competing-risks estimators without FAST_COMPETING entries: {missing}"


@pytest.fixture(scope="module")
def competing_cohort(cohort_bunch):
    y = cohort_bunch.y_dm_competing
    assert (y["event"] == 1).sum() >= 8 and (y["event"] == 2).sum() >= 3
    return cohort_bunch.X, y


def make_competing(name, **overrides):
    return COMPETING[name](**{**FAST_COMPETING[name][0](), **overrides})


def _competing_X(name, X):
    return FAST_COMPETING[name][2](X)


@pytest.fixture(scope="module", params=COMPETING_NAMES)
def fitted_competing(request, competing_cohort):
    name = request.param
    X, y = competing_cohort
    X = _competing_X(name, X)
    before = X.copy()
    estimator = make_competing(name)
    assert estimator.fit(X, y) is estimator, "fit must return self"
    pd.testing.assert_frame_equal(X, before)
    return name, estimator


@pytest.mark.parametrize("name", COMPETING_NAMES)
def test_competing_init_stores_params_clone_and_not_fitted(name, competing_cohort):
    params = FAST_COMPETING[name][0]()
    estimator = COMPETING[name](**params)
    stored = estimator.get_params(deep=False)
    assert stored["cause"] == 1
    for key, value in params.items():
        assert stored[key] is value
    twin = clone(estimator)
    assert twin is not estimator and twin.get_params(deep=False)["cause"] == 1
    if name in NEURAL_COMPETING:  # skorch parameters such as train_split are deep copies
        assert set(twin.get_params(deep=False)) == set(stored)
    else:
        assert twin.get_params(deep=False) == stored
    assert not [
        k for k in vars(estimator)
        if k.endswith("_") and not k.startswith("_") and k not in SKORCH_INIT_ATTRIBUTES
    ]
    if name not in NEURAL_COMPETING:
        assert not hasattr(estimator, "predict_survival_function")  # the documented exception
    X, _ = competing_cohort
    with pytest.raises((NotFittedError, AttributeError)):
        estimator.predict(_competing_X(name, X))


def test_competing_predict_score_and_incidence(fitted_competing, competing_cohort):
    name, estimator = fitted_competing
    X, y = competing_cohort
    X = _competing_X(name, X)
    risk = estimator.predict(X)
    assert risk.shape == (len(X),) and np.all(np.isfinite(risk))
    assert estimator.score(X, y) == pytest.approx(concordance_index_competing(y, risk, cause=1), abs=1e-12)
    assert estimator.n_causes_ == 2
    times = np.quantile(y["time"], [0.0, 0.25, 0.5, 0.75])
    incidence = estimator.predict_cumulative_incidence(X, times)
    assert incidence.shape == (len(X), times.size)
    assert np.all((incidence >= 0) & (incidence <= 1))
    assert np.all(np.diff(incidence, axis=1) >= -1e-12), "incidence must not decrease"
    assert np.median(incidence[:, 0]) < 0.1, "incidence must start near 0"
    if np.ptp(risk) > 1e-12:  # higher linear predictor <-> higher incidence at mid follow-up
        assert spearmanr(risk, incidence[:, 2]).statistic > 0
    other = clone(estimator).set_params(cause=2).fit(X, y)
    total = incidence + other.predict_cumulative_incidence(X, times)
    if name == "CauseSpecificCoxPH" or name in NEURAL_COMPETING:  # incidences add up to 1 - S
        assert np.all(total <= 1 + 1e-12)
    if name in NEURAL_COMPETING:  # the documented exception, once fitted on a competing y
        for method in ("predict_survival_function", "predict_cumulative_hazard_function"):
            with pytest.raises(AttributeError, match="competing-risks outcome"):
                getattr(estimator, method)(X)


def test_competing_pickle_and_pipeline(fitted_competing, competing_cohort):
    name, estimator = fitted_competing
    X, y = competing_cohort
    X = _competing_X(name, X)
    restored = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(restored.predict(X), estimator.predict(X))
    times = [200.0, 800.0]
    np.testing.assert_array_equal(restored.predict_cumulative_incidence(X, times),
                                  estimator.predict_cumulative_incidence(X, times))
    pipe = Pipeline([("identity", FunctionTransformer()), ("model", clone(estimator))]).fit(X, y)
    np.testing.assert_allclose(pipe.predict(X), estimator.predict(X), rtol=1e-9, atol=1e-9)
    assert pipe.score(X, y) == pytest.approx(estimator.score(X, y), abs=1e-9)


def test_competing_cross_validate_and_grid_search(fitted_competing, competing_cohort):
    name, _ = fitted_competing
    X, y = competing_cohort
    X = _competing_X(name, X)
    cv = SurvivalStratifiedKFold(2, shuffle=True, random_state=0)
    folds = list(cv.split(X, Surv.from_arrays(y["event"] > 0, y["time"])))
    scorer = make_competing_risks_scorer(cause=1, tau=float(np.quantile(y["time"], 0.9)))
    scores = cross_validate(make_competing(name), X, y, cv=folds, scoring=scorer, error_score="raise")
    assert np.all((scores["test_score"] >= 0) & (scores["test_score"] <= 1))
    search = GridSearchCV(make_competing(name), FAST_COMPETING[name][1], cv=folds, scoring=scorer,
                          error_score="raise").fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert len(search.cv_results_["params"]) == 2
    assert search.best_estimator_.predict(X).shape == (len(X),)


def _bad_competing_targets(X, y):
    negative = y.copy()
    negative["time"][2] = -5.0
    nan = y.copy()
    nan["time"][4] = np.nan
    bad_code = y.copy()
    bad_code["event"][5] = -1
    censored = y.copy()
    censored["event"] = 0
    return {
        "survival_y": (Surv.from_arrays(y["event"] > 0, y["time"]), "boolean"),
        "negative": (negative, str(X.index[2])),
        "nan": (nan, str(X.index[4])),
        "bad_code": (bad_code, str(X.index[5])),
        "all_censored": (censored, "censored"),
        "wrong_length": (y[:-1], "rows"),
        "not_structured": (y["time"], "structured"),
    }


@pytest.mark.parametrize(
    "name, case",
    [
        (name, case) for name in COMPETING_NAMES
        for case in ["survival_y", "negative", "nan", "bad_code", "all_censored", "wrong_length",
                     "not_structured"]
        # a neural estimator takes a survival y too (the survival tests above)
        if not (name in NEURAL_COMPETING and case == "survival_y")
    ],
)
def test_competing_bad_y_raises_a_clear_error(name, case, competing_cohort):
    X, y = competing_cohort
    bad, expected = _bad_competing_targets(X, y)[case]
    with pytest.raises(ValueError, match=expected):
        make_competing(name).fit(_competing_X(name, X), bad)


@pytest.mark.parametrize(
    "name, param",
    [
        (name, param) for name in COMPETING_NAMES for param in declared_parameters(COMPETING[name])
        if name not in NEURAL_COMPETING or param == "cause"  # the others: the survival tests
    ],
)
def test_competing_fit_rejects_a_parameter_of_the_wrong_type_first(name, param, competing_cohort):
    cls = COMPETING[name]
    assert param in cls._parameter_constraints, f"{name}._parameter_constraints lacks {param!r}"
    X, y = competing_cohort
    estimator = make_competing(name, **{param: _BadType()})
    with pytest.raises(ValueError, match=f"'{param}' parameter of {name}"):
        estimator.fit(_competing_X(name, X), y)


def test_training_risks_are_the_sorted_training_predictions(fitted, cohort):
    # The reference of the web page's risk percentile: n floats, no patient ids.
    _, estimator = fitted
    X, _ = cohort
    stored = estimator.training_risks_
    assert isinstance(stored, np.ndarray) and stored.dtype == np.float64 and stored.ndim == 1
    np.testing.assert_allclose(stored, np.sort(estimator.predict(X)), rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------- feature names
# scikit-learn's contract, as scikit-survival's tests/test_frame_inputs.py checks it for
# its estimators: feature_names_in_ recorded at fit; a table with the same columns in
# another order is refused ("Feature names must be in the same order as they were in
# fit") -- or, for estimators that select the cohort schema's columns by name, gives the
# same predictions; an array where a frame was fitted (or the reverse) warns or is refused.
SAME_ORDER = "Feature names must be in the same order as they were in fit"


def _predict_or_refusal(estimator, X):
    """``predict(X)``, or the refusal (exception) it raised; UserWarnings recorded."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = estimator.predict(X)
        except (TypeError, ValueError) as exc:
            result = exc
    return result, [w for w in caught if issubclass(w.category, UserWarning)]


def test_feature_names_are_recorded_and_column_order_is_safe(fitted, cohort):
    name, estimator = fitted
    X, _ = cohort
    names = estimator.feature_names_in_
    assert isinstance(names, np.ndarray) and names.dtype == object
    assert set(names) <= set(X.columns) and estimator.n_features_in_ == len(names)
    reference = estimator.predict(X)
    reordered, _ = _predict_or_refusal(estimator, X[X.columns[::-1]])
    if isinstance(reordered, Exception):
        assert SAME_ORDER in str(reordered)
    else:  # columns selected by name: the order cannot change a prediction
        np.testing.assert_array_equal(reordered, reference)
    as_array, caught = _predict_or_refusal(estimator, X.to_numpy())
    assert isinstance(as_array, Exception) or any(
        "does not have valid feature names" in str(w.message) for w in caught
    ), f"{name} predicted from an array after a fit on a frame without a word"


def _whas500_numeric():
    from sksurv.datasets import load_whas500

    X, y = load_whas500()
    columns = ["age", "bmi", "diasbp", "hr"]
    return X[columns].astype(float).iloc[:50], y[:50]


# Estimators that take a plain numeric table (params for whas500's columns); every other
# estimator needs cohort columns (Sarculator variables or images) and is covered above.
NUMERIC_TABLE = {
    "_ReferenceCoxPH": {"columns": ("age", "bmi", "diasbp", "hr")},
    "ClinicalRSF": {"columns": ["age", "bmi", "diasbp", "hr"]},
    "ClinicalMLPSurvival": {},
}
COHORT_ONLY = {"SarculatorRSF", "SarculatorCoxPH", "RadiomicsRSF", "RadiomicsCoxNet",
               "DenseNetSurvival", "MMNNSurvival", "SeedEnsemble"}


def test_every_estimator_is_classed_for_the_frame_input_checks():
    assert set(ESTIMATORS) == set(NUMERIC_TABLE) | COHORT_ONLY


@pytest.mark.parametrize("name", sorted(NUMERIC_TABLE))
def test_frame_inputs_on_a_numeric_table(name):
    X_df, y = _whas500_numeric()
    X_np = X_df.to_numpy()
    estimator = make(name, **NUMERIC_TABLE[name]).fit(X_df, y)
    np.testing.assert_array_equal(estimator.feature_names_in_, np.asarray(X_df.columns, dtype=object))
    reference = estimator.predict(X_df)
    reordered, _ = _predict_or_refusal(estimator, X_df[X_df.columns[::-1]])
    if isinstance(reordered, Exception):
        assert SAME_ORDER in str(reordered)
    else:
        np.testing.assert_array_equal(reordered, reference)
    as_array, caught = _predict_or_refusal(estimator, X_np)
    assert isinstance(as_array, Exception) or any(
        f"X does not have valid feature names, but {type(estimator).__name__} was fitted with "
        "feature names" in str(w.message) for w in caught
    )
    try:
        estimator.fit(X_np, y)
    except TypeError:
        return  # selects cohort columns by name: an array has none (refused at fit)
    assert not hasattr(estimator, "feature_names_in_")
    with pytest.warns(UserWarning, match=f"X has feature names, but {type(estimator).__name__} "
                                         "was fitted without feature names"):
        estimator.predict(X_df)


def test_clinical_mlp_with_a_scaler_refuses_reordered_columns():
    """The reported case: StandardScaler given explicitly, whas500 columns reversed."""
    from sklearn.preprocessing import StandardScaler

    X, y = _whas500_numeric()
    model = make("ClinicalMLPSurvival", preprocessor=StandardScaler()).fit(X, y)
    assert list(model.feature_names_in_) == ["age", "bmi", "diasbp", "hr"]
    with pytest.raises(ValueError, match=SAME_ORDER):
        model.predict(X[X.columns[::-1]])


TRANSFORMERS = {
    "ClinicalEncoder": lambda: ClinicalEncoder("clinical"),
    "VolumePreprocessor": _tiny_volumes,
    "RadiomicsExtractor": _raw_radiomics,
}


@pytest.mark.parametrize("name", sorted(TRANSFORMERS))
def test_transformers_record_feature_names_and_read_columns_by_name(name, cohort):
    X, _ = cohort
    X = X.iloc[:6]
    transformer = TRANSFORMERS[name]().fit(X)
    assert set(transformer.feature_names_in_) <= set(X.columns)
    assert transformer.n_features_in_ == len(transformer.feature_names_in_)
    reference = np.asarray(transformer.transform(X))
    np.testing.assert_array_equal(np.asarray(transformer.transform(X[X.columns[::-1]])), reference)
    with pytest.raises(TypeError, match="DataFrame"):
        transformer.transform(X.to_numpy())


def test_save_load_round_trip_gives_identical_predictions(fitted, cohort, tmp_path):
    """A safe model file (``save_model`` / ``load_model``) keeps every prediction bit for bit."""
    from sarcoma_survival import load_model, save_model

    name, estimator = fitted
    X, _ = cohort
    path = tmp_path / "model.ssm"
    if name not in sarcoma_survival.__all__:  # only the package's own estimators are saved
        with pytest.raises(TypeError, match="exported estimators"):
            save_model(estimator, path)
        return
    save_model(estimator, path)
    loaded = load_model(path)
    assert type(loaded) is type(estimator)
    def readable(params):  # repr compares nested estimators by value; sets have no order
        return repr({k: sorted(v) if isinstance(v, set) else v for k, v in params.items()})

    assert readable(loaded.get_params(deep=False)) == readable(estimator.get_params(deep=False))
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))
    for method in ("predict_survival_function", "predict_cumulative_hazard_function"):
        np.testing.assert_array_equal(getattr(loaded, method)(X, return_array=True),
                                      getattr(estimator, method)(X, return_array=True))
    np.testing.assert_array_equal(loaded.unique_times_, estimator.unique_times_)


def test_competing_save_load_round_trip_gives_identical_predictions(fitted_competing, competing_cohort,
                                                                    tmp_path):
    from sarcoma_survival import load_model, save_model

    name, estimator = fitted_competing
    X, _ = competing_cohort
    X = _competing_X(name, X)
    loaded = load_model(save_model(estimator, tmp_path / "model.ssm"))
    assert type(loaded) is type(estimator)
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))
    times = [200.0, 800.0]
    np.testing.assert_array_equal(loaded.predict_cumulative_incidence(X, times),
                                  estimator.predict_cumulative_incidence(X, times))
