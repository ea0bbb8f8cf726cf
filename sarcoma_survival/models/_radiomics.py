"""The paper's radiomics survival models: RSF (radiomics, radiomics + clinical) and ElasticNet Cox."""
from __future__ import annotations

import contextlib
import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sksurv.linear_model import CoxnetSurvivalAnalysis
from sksurv.metrics import concordance_index_censored

from ..utils.constraints import MIN_FREQUENCY_CONSTRAINT, SequenceOf
from ._base import RSF_CONSTRAINTS, RSF_DOC, CohortSurvivalEstimator, RSFParamsMixin
from ._radiomics_features import RadiomicsFeatures

_EXTRACTOR_DOC = """
    extractor : RadiomicsExtractor or None, default=None
        Transformer from the cohort table to a DataFrame of radiomics features indexed like
        the table (columns ``t1_*`` / ``t2_*``). None: a default
        :class:`~sarcoma_survival.radiomics.RadiomicsExtractor`. It is cloned, never
        modified; the extractor caches each patient's features on disk keyed by the image
        files and its settings, so refits (cross-validation, grid search) read the cache
        instead of extracting again. Its settings are grid-searchable as
        ``extractor__<param>``."""


class _RadiomicsSurvivalEstimator(CohortSurvivalEstimator):
    """Base of the radiomics estimators: the cohort table through :class:`RadiomicsFeatures`.

    Subclasses take ``extractor``, ``include_clinical`` and ``min_frequency`` and set
    ``_scale_features`` (trees are invariant to scaling; a penalized Cox model is not).
    """

    _scale_features = False

    def _make_features(self):
        return RadiomicsFeatures(
            self.extractor, include_clinical=self.include_clinical, scale=self._scale_features,
            min_frequency=self.min_frequency,
        )


#: Constraints of the parameters that choose the features of a radiomics estimator.
_FEATURE_CONSTRAINTS = {
    "extractor": [None, HasMethods(["fit", "transform"])],
    "include_clinical": ["boolean"],
}


class RadiomicsRSF(RSFParamsMixin, _RadiomicsSurvivalEstimator):
    __doc__ = f"""Random survival forest on radiomics features, optionally + clinical (Table 3, rows 4-5).

    ``include_clinical=False`` is the paper's "Radiomics" RSF (100 features per MRI
    sequence, 200 for T1 + T2); ``include_clinical=True`` appends the 11 clinical
    variables ("Radiomics + Clinical", 211 features). Radiomics features missing for a
    patient take the training median; clinical variables are encoded by
    :class:`~sarcoma_survival.preprocessing.ClinicalEncoder` fitted on training patients.

    Parameters
    ----------{_EXTRACTOR_DOC}
    include_clinical : bool, default=False
        Append the 11 clinical variables.{RSF_DOC}
    min_frequency : int, default=5
        Categories seen fewer times in training are grouped (clinical encoder).

    Attributes
    ----------
    feature_transformer_ : RadiomicsFeatures
        Fitted feature assembly (its ``extractor_`` is the fitted extractor).
    model_ : sksurv.ensemble.RandomSurvivalForest
        The fitted forest.
    feature_names_in_ : ndarray of str
        Cohort columns the model reads (image columns, then clinical columns).
    n_features_in_ : int
    unique_times_ : ndarray
        Unique training times (events and censorings), where survival functions are evaluated.

    Examples
    --------
    >>> from sarcoma_survival.models import RadiomicsRSF
    >>> from sarcoma_survival.radiomics import RadiomicsExtractor
    >>> model = RadiomicsRSF(RadiomicsExtractor(), include_clinical=True, random_state=0)
    >>> model.get_params()["include_clinical"]
    True
    """

    _parameter_constraints = {
        **RSF_CONSTRAINTS,
        **_FEATURE_CONSTRAINTS,
    }

    def __init__(
        self,
        extractor=None,
        *,
        include_clinical=False,
        n_estimators=100,
        max_depth=None,
        min_samples_split=6,
        min_samples_leaf=3,
        max_features="sqrt",
        max_leaf_nodes=None,
        bootstrap=True,
        max_samples=None,
        min_frequency=5,
        n_jobs=None,
        random_state=None,
    ):
        self.extractor = extractor
        self.include_clinical = include_clinical
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.max_leaf_nodes = max_leaf_nodes
        self.bootstrap = bootstrap
        self.max_samples = max_samples
        self.min_frequency = min_frequency
        self.n_jobs = n_jobs
        self.random_state = random_state


@contextlib.contextmanager
def _null_model_allowed():
    """Silence sksurv's warning for the null model (all coefficients zero): the largest
    alpha of a path gives it by construction, and the inner CV may choose it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="all coefficients are zero")
        yield


#: Penalties of the fallback refit: fewer than sksurv needs before it may end a path early.
_SHORT_PATH = 5


def _fold_scores(features, X, radiomics, y, train, test, model):
    """Harrell's C on one validation fold for every alpha of a fixed path."""
    X_train, X_test = X.iloc[train], X.iloc[test]
    features = clone(features).fit(X_train, radiomics=radiomics.iloc[train])
    Z_train = features.transform(X_train, radiomics=radiomics.iloc[train])
    Z_test = features.transform(X_test, radiomics=radiomics.iloc[test])
    # Warnings are recorded and handed back: raised in a joblib worker process they would
    # reach the user's terminal as raw text with source lines, out of the caller's control.
    with _null_model_allowed(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(Z_train, y[train])
    event_name, time_name = y.dtype.names
    event, time = y[test][event_name], y[test][time_name]
    risks = Z_test @ model.coef_  # (n_test, n_alphas); offsets do not change rankings
    # sksurv ends a path early once the deviance explained stops changing: unreached alphas get NaN
    scores = np.full(len(model.alphas), np.nan)
    scores[:risks.shape[1]] = [concordance_index_censored(event, time, r)[0] for r in risks.T]
    return scores, [(w.category, str(w.message)) for w in caught]


def _reraise_fold_warnings(caught, n_fits, max_iter, tol):
    """One ConvergenceWarning for all inner-CV path fits that stopped early; others once each."""
    n_early = sum(1 for fit in caught if any(issubclass(c, ConvergenceWarning) for c, _ in fit))
    if n_early:
        warnings.warn(
            f"RadiomicsCoxNet: coordinate descent stopped at max_iter={max_iter} before reaching "
            f"tol={tol} in {n_early} of {n_fits} inner-CV path fits; their scores may be slightly "
            "off (raise max_iter or tol)", ConvergenceWarning, stacklevel=4)
    others = {(c, m) for fit in caught for c, m in fit if not issubclass(c, ConvergenceWarning)}
    for category, message in sorted(others, key=lambda w: (w[0].__name__, w[1])):
        warnings.warn(message, category, stacklevel=4)


class RadiomicsCoxNet(_RadiomicsSurvivalEstimator):
    __doc__ = f"""ElasticNet-penalized Cox model on radiomics + clinical features (Table 3, row 6).

    Features (radiomics, plus the 11 clinical variables when ``include_clinical``) are
    imputed (training median) and standardized, then a
    :class:`sksurv.linear_model.CoxnetSurvivalAnalysis` is fitted. As in the paper, the
    penalty strength ``alpha`` -- and here also the L1 ratio, from the small grid
    ``l1_ratio`` -- is chosen by an inner ``cv``-fold cross-validation on the training
    patients that maximizes Harrell's C-index:

    1. for each L1 ratio, the path of ``n_alphas`` penalties is computed on all training
       patients;
    2. in each inner fold (stratified on the event), imputation, scaling and clinical
       encoding are fitted on the inner-training part only, the whole path is fitted, and
       the C-index of every penalty on the held-out part is recorded;
    3. the (L1 ratio, alpha) with the highest mean C-index wins (ties: the first L1 ratio
       of the grid, then the larger alpha, i.e. the sparser model);
    4. the model is refitted on all training patients with that penalty, with the Breslow
       baseline so that survival functions are available.

    Radiomics features are extracted once for all training patients (step 2 reuses them).

    Parameters
    ----------{_EXTRACTOR_DOC}
    include_clinical : bool, default=True
        Append the 11 clinical variables.
    l1_ratio : float or sequence of float in (0, 1], default=(0.1, 0.5, 0.9)
        ElasticNet mixing values searched (1 = lasso).
    n_alphas : int, default=50
        Number of penalties on each path.
    alpha_min_ratio : float or "auto", default="auto"
        Smallest over largest penalty of the path (see
        :class:`~sksurv.linear_model.CoxnetSurvivalAnalysis`).
    cv : int or cross-validation splitter, default=5
        Inner folds. An int means :class:`~sklearn.model_selection.StratifiedKFold`
        (shuffled with ``random_state``) stratified on the event indicator; a splitter
        is called as ``cv.split(X, event)``.
    max_iter : int, default=100000
        Maximum coordinate-descent iterations.
    tol : float, default=1e-7
        Convergence tolerance.
    min_frequency : int, default=5
        Categories seen fewer times in training are grouped (clinical encoder).
    n_jobs : int, default=None
        Parallel jobs over (fold, L1 ratio) pairs of the inner CV.
    random_state : int, RandomState instance or None, default=None
        Shuffles the inner folds.

    Attributes
    ----------
    alpha_ : float
        Chosen penalty strength.
    l1_ratio_ : float
        Chosen L1 ratio.
    best_score_ : float
        Mean inner-CV C-index of the chosen penalty.
    cv_results_ : dict of ndarray
        One entry per candidate: ``l1_ratio``, ``alpha``, ``mean_test_score``,
        ``std_test_score`` and ``split<k>_test_score``. scikit-survival ends a path early
        once the deviance explained stops changing; a penalty a fold's path did not reach
        has NaN scores and is never chosen.
    coef_ : ndarray of shape (n_features_out,)
        Coefficients of the refitted model (standardized features).
    model_ : sksurv.linear_model.CoxnetSurvivalAnalysis
        The refitted model (its last alpha is ``alpha_``).
    feature_transformer_ : RadiomicsFeatures
        Fitted feature assembly.
    feature_names_in_ : ndarray of str
    n_features_in_ : int
    unique_times_ : ndarray
        Unique training times, where survival functions are evaluated.

    Examples
    --------
    >>> from sarcoma_survival.models import RadiomicsCoxNet
    >>> model = RadiomicsCoxNet(l1_ratio=[0.5, 0.9], cv=5, random_state=0)
    >>> model.get_params()["cv"]
    5
    """

    _parameter_constraints = {
        **_FEATURE_CONSTRAINTS,
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="right"),
                     SequenceOf(Interval(numbers.Real, 0, 1, closed="right"), min_length=1)],
        "n_alphas": [Interval(numbers.Integral, 1, None, closed="left")],
        "alpha_min_ratio": [Interval(numbers.Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "cv": [Interval(numbers.Integral, 2, None, closed="left"), HasMethods(["split"])],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="neither")],
        "min_frequency": MIN_FREQUENCY_CONSTRAINT,
        "n_jobs": [None, numbers.Integral],
        "random_state": ["random_state"],
    }

    # imputed and standardized features: the penalty treats every feature alike
    _scale_features = True

    def __init__(
        self,
        extractor=None,
        *,
        include_clinical=True,
        l1_ratio=(0.1, 0.5, 0.9),
        n_alphas=50,
        alpha_min_ratio="auto",
        cv=5,
        max_iter=100000,
        tol=1e-7,
        min_frequency=5,
        n_jobs=None,
        random_state=None,
    ):
        self.extractor = extractor
        self.include_clinical = include_clinical
        self.l1_ratio = l1_ratio
        self.n_alphas = n_alphas
        self.alpha_min_ratio = alpha_min_ratio
        self.cv = cv
        self.max_iter = max_iter
        self.tol = tol
        self.min_frequency = min_frequency
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _coxnet(self, l1_ratio, **params):
        return CoxnetSurvivalAnalysis(l1_ratio=l1_ratio, normalize=False, max_iter=self.max_iter, tol=self.tol,
                                      **params)

    def _fit_model(self, X, y):
        """Extract once; choose (L1 ratio, alpha) by inner CV; refit on all patients."""
        ratios = np.atleast_1d(np.asarray(self.l1_ratio, dtype=float))
        radiomics = self.feature_transformer_.extract(X)
        Z = self.feature_transformer_.fit(X, radiomics=radiomics).transform(X, radiomics=radiomics)
        paths = [self._alpha_path(ratio, Z, y) for ratio in ratios]
        event = np.asarray(y[y.dtype.names[0]], dtype=bool)  # event first: fit puts y in that order (check_fit_y)
        folds = list(self._inner_cv(event).split(X, event))
        scores = self._score_folds(X, radiomics, y, ratios, paths, folds)
        self.cv_results_ = _cv_results(ratios, paths, scores)
        self._select_best()
        best_path = paths[int(np.flatnonzero(ratios == self.l1_ratio_)[0])]
        model = self._refit(best_path[best_path >= self.alpha_], Z, y)
        _warn_if_more_features_than_events(model.coef_[:, -1], event, self.best_score_)
        return model, Z

    def _refit(self, alphas, Z, y):
        """Fit all training patients down the path to ``alpha_`` (coordinate-descent warm starts).

        sksurv ends a path early once the deviance explained changes by less than 0.1 % over
        5 penalties; should that happen before ``alpha_``, the refit starts 5 penalties above
        it instead, where that rule cannot apply yet (same penalized problem, same tolerance).
        """
        for path in (alphas, alphas[-_SHORT_PATH:]):
            model = self._coxnet(self.l1_ratio_, alphas=path, fit_baseline_model=True)
            with _null_model_allowed():  # the inner CV may choose the null model (no radiomics signal)
                model.fit(Z, y)
            if len(model.alphas_) and model.alphas_[-1] == self.alpha_:
                return model
        raise ValueError(
            f"RadiomicsCoxNet: the refit on all training patients did not reach the chosen penalty "
            f"alpha={self.alpha_:.4g}"
        )

    def _alpha_path(self, l1_ratio, Z, y):
        """The ``n_alphas`` penalties of one L1 ratio, computed on all training patients.

        scikit-survival derives the penalties from the data at the null model (the largest
        one makes every coefficient zero, the others follow geometrically down to
        ``alpha_min_ratio`` of it) before any coordinate-descent step. One iteration
        therefore gives exactly the penalties of a converged path fit (checked in the tests)
        without walking the path, which cost a third of the whole fit.
        """
        path = CoxnetSurvivalAnalysis(l1_ratio=l1_ratio, normalize=False, max_iter=1, tol=self.tol,
                                      n_alphas=self.n_alphas, alpha_min_ratio=self.alpha_min_ratio)
        with warnings.catch_warnings():  # one iteration: "terminated early" is the point here
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.filterwarnings("ignore", message="all coefficients are zero")
            path.fit(Z, y)
        alphas = np.asarray(path.alphas_, dtype=float)
        if len(alphas) < self.n_alphas:  # the one-iteration path stopped early: extend it as sksurv does
            factor = float(path.alpha_min_ratio_) ** (1.0 / (self.n_alphas - 1.0))
            extended = [float(alphas[0])]
            for _ in range(self.n_alphas - 1):
                extended.append(extended[-1] * factor)
            alphas = np.asarray(extended)
        return alphas

    def _inner_cv(self, event):
        if not isinstance(self.cv, numbers.Integral):
            return self.cv
        n_events = int(event.sum())
        if n_events < self.cv:
            raise ValueError(f"inner cv={self.cv} folds need at least {self.cv} events; y has {n_events}")
        return StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)

    def _score_folds(self, X, radiomics, y, ratios, paths, folds):
        """C-index of every (L1 ratio, alpha) on every fold: one (n_folds, n_alphas) array per ratio."""
        assembler = clone(self.feature_transformer_)
        jobs = [
            delayed(_fold_scores)(assembler, X, radiomics, y, train, test, self._coxnet(ratio, alphas=alphas))
            for ratio, alphas in zip(ratios, paths)
            for train, test in folds
        ]
        results = Parallel(n_jobs=self.n_jobs)(jobs)
        _reraise_fold_warnings([caught for _, caught in results], len(results), self.max_iter, self.tol)
        scores = [fold_scores for fold_scores, _ in results]
        return [np.vstack(scores[i * len(folds):(i + 1) * len(folds)]) for i in range(len(ratios))]

    def _select_best(self):
        """Highest mean C-index; ties go to the first L1 ratio, then the larger alpha."""
        mean = self.cv_results_["mean_test_score"]
        if np.isnan(mean).all():
            raise ValueError("RadiomicsCoxNet: no penalty was reached by every inner-CV path fit")
        # candidates a fold's path did not reach (NaN) are never chosen
        best = int(np.argmax(np.where(np.isnan(mean), -np.inf, mean)))
        self.l1_ratio_ = float(self.cv_results_["l1_ratio"][best])
        self.alpha_ = float(self.cv_results_["alpha"][best])
        self.best_score_ = float(self.cv_results_["mean_test_score"][best])

    @property
    def coef_(self):
        """Coefficients of the refitted model at ``alpha_`` (standardized features)."""
        return np.asarray(self.model_.coef_[:, -1])

    def _model_kwargs(self):
        return {"alpha": self.alpha_}


class FeaturesExceedEventsWarning(UserWarning):
    """A penalized Cox model kept more features than its training set has events.

    With fewer events than non-zero coefficients the fitted coefficients are unstable (a
    common rule asks for 10 events per feature) and the model's C-index on new patients is
    usually below its inner cross-validation score. Raised by
    :class:`~sarcoma_survival.models.RadiomicsCoxNet`; it changes no result.

    Examples
    --------
    >>> import warnings
    >>> from sarcoma_survival.models import FeaturesExceedEventsWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("57 features, 3 events", FeaturesExceedEventsWarning)
    >>> caught[0].category.__name__
    'FeaturesExceedEventsWarning'
    """


def _warn_if_more_features_than_events(coef, event, best_score):
    n_kept, n_events = int(np.count_nonzero(coef)), int(np.sum(event))
    if n_kept > n_events:
        warnings.warn(
            f"RadiomicsCoxNet kept {n_kept} features from {len(event)} training patients with "
            f"{n_events} events: with more features than events the coefficients are unstable, and "
            f"the C-index on new patients is likely below the inner CV's {best_score:.3f}; prefer a "
            "stronger penalty (l1_ratio closer to 1, fewer n_alphas below the chosen one) or more "
            "patients, or report the model with this caveat",
            FeaturesExceedEventsWarning,
            stacklevel=4,
        )


def _cv_results(ratios, paths, scores):
    """``cv_results_`` of the candidates, ratio by ratio, each ratio's alphas in path order."""
    n_folds = len(scores[0])
    rows = {"l1_ratio": [], "alpha": [], "mean_test_score": [], "std_test_score": []}
    split_scores = [[] for _ in range(n_folds)]
    for ratio, alphas, per_fold in zip(ratios, paths, scores):
        rows["l1_ratio"].extend([ratio] * len(alphas))
        rows["alpha"].extend(alphas)
        rows["mean_test_score"].extend(per_fold.mean(axis=0))
        rows["std_test_score"].extend(per_fold.std(axis=0))
        for k in range(n_folds):
            split_scores[k].extend(per_fold[k])
    results = {key: np.asarray(value, dtype=float) for key, value in rows.items()}
    for k in range(n_folds):
        results[f"split{k}_test_score"] = np.asarray(split_scores[k], dtype=float)
    return results
