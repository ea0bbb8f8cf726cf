"""The paper's radiomics survival models: RSF (radiomics, radiomics + clinical) and ElasticNet Cox."""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sksurv.linear_model import CoxnetSurvivalAnalysis
from sksurv.metrics import concordance_index_censored

from ..utils.validation import check_survival_y
from ._base import RSF_CONSTRAINTS, CohortSurvivalEstimator, RSFParamsMixin, check_cohort_frame
from ._clinical import _RSF_DOC
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


class RadiomicsRSF(RSFParamsMixin, CohortSurvivalEstimator):
    __doc__ = f"""Random survival forest on radiomics features, optionally + clinical (Table 3, rows 4-5).

    ``include_clinical=False`` is the paper's "Radiomics" RSF (100 features per MRI
    sequence, 200 for T1 + T2); ``include_clinical=True`` appends the 11 clinical
    variables ("Radiomics + Clinical", 211 features). Radiomics features missing for a
    patient take the training median; clinical variables are encoded by
    :class:`~sarcoma_survival.preprocessing.ClinicalEncoder` fitted on training patients.

    Parameters
    ----------{_EXTRACTOR_DOC}
    include_clinical : bool, default=False
        Append the 11 clinical variables.{_RSF_DOC}
    min_frequency : int, default=5
        Categories seen fewer times in training are grouped (clinical encoder).

    Attributes
    ----------
    features_ : RadiomicsFeatures
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
        "extractor": [None, HasMethods(["fit", "transform"])],
        "include_clinical": ["boolean"],
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

    def _make_features(self):
        return RadiomicsFeatures(
            self.extractor, include_clinical=self.include_clinical, scale=False,
            min_frequency=self.min_frequency,
        )


def _fold_scores(features, X, radiomics, y, train, test, l1_ratio, alphas, params):
    """Harrell's C on one validation fold for every alpha of a fixed path."""
    X_train, X_test = X.iloc[train], X.iloc[test]
    features = clone(features).fit(X_train, radiomics=radiomics.iloc[train])
    Z_train = features.transform(X_train, radiomics=radiomics.iloc[train])
    Z_test = features.transform(X_test, radiomics=radiomics.iloc[test])
    model = CoxnetSurvivalAnalysis(l1_ratio=l1_ratio, alphas=alphas, **params)
    with warnings.catch_warnings():
        # the largest alpha of the path gives the null model; a warning for it is expected
        warnings.filterwarnings("ignore", message="all coefficients are zero")
        model.fit(Z_train, y[train])
    event_name, time_name = y.dtype.names
    event, time = y[test][event_name], y[test][time_name]
    risks = Z_test @ model.coef_  # (n_test, n_alphas); offsets do not change rankings
    return np.array([concordance_index_censored(event, time, r)[0] for r in risks.T])


class RadiomicsCoxNet(CohortSurvivalEstimator):
    __doc__ = f"""ElasticNet-penalised Cox model on radiomics + clinical features (Table 3, row 6).

    Features (radiomics, plus the 11 clinical variables when ``include_clinical``) are
    imputed (training median) and standardised, then a
    :class:`sksurv.linear_model.CoxnetSurvivalAnalysis` is fitted. As in the paper, the
    penalty strength ``alpha`` -- and here also the L1 ratio, from the small grid
    ``l1_ratio`` -- is chosen by an inner ``cv``-fold cross-validation on the training
    patients that maximises Harrell's C-index:

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
        ``std_test_score`` and ``split<k>_test_score``.
    coef_ : ndarray of shape (n_features_out,)
        Coefficients of the refitted model (standardised features).
    model_ : sksurv.linear_model.CoxnetSurvivalAnalysis
        The refitted model (its last alpha is ``alpha_``).
    features_ : RadiomicsFeatures
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
        "extractor": [None, HasMethods(["fit", "transform"])],
        "include_clinical": ["boolean"],
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="right"), list, tuple, np.ndarray],
        "n_alphas": [Interval(numbers.Integral, 1, None, closed="left")],
        "alpha_min_ratio": [Interval(numbers.Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "cv": [Interval(numbers.Integral, 2, None, closed="left"), HasMethods(["split"])],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="neither")],
        "min_frequency": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [None, numbers.Integral],
        "random_state": ["random_state"],
    }

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

    def _make_features(self):
        return RadiomicsFeatures(
            self.extractor, include_clinical=self.include_clinical, scale=True,
            min_frequency=self.min_frequency,
        )

    def _l1_ratios(self):
        ratios = np.atleast_1d(np.asarray(self.l1_ratio, dtype=float))
        if ratios.size == 0 or np.any((ratios <= 0) | (ratios > 1)) or ratios.ndim != 1:
            raise ValueError(f"l1_ratio values must lie in (0, 1]; got {self.l1_ratio!r}")
        return ratios

    def _coxnet_params(self):
        return {"normalize": False, "max_iter": self.max_iter, "tol": self.tol}

    def fit(self, X, y):
        """Extract features, choose the penalty by inner CV, and refit on all patients.

        Parameters
        ----------
        X : DataFrame
            The cohort table.
        y : structured ndarray
            Survival outcome.

        Returns
        -------
        self
        """
        event, _ = check_survival_y(y, X)
        self._validate_params()
        check_cohort_frame(X, self)
        ratios = self._l1_ratios()
        features = self._make_features()
        radiomics = features.extract(X)
        Z = features.fit(X, radiomics=radiomics).transform(X, radiomics=radiomics)

        paths = []
        for ratio in ratios:
            path = CoxnetSurvivalAnalysis(
                l1_ratio=ratio, n_alphas=self.n_alphas, alpha_min_ratio=self.alpha_min_ratio,
                **self._coxnet_params(),
            )
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="all coefficients are zero")
                path.fit(Z, y)
            paths.append(np.asarray(path.alphas_))

        if isinstance(self.cv, numbers.Integral):
            n_events = int(event.sum())
            if n_events < self.cv:
                raise ValueError(
                    f"inner cv={self.cv} folds need at least {self.cv} events; y has {n_events}"
                )
            splitter = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
        else:
            splitter = self.cv
        folds = list(splitter.split(X, event))
        assembler = clone(features)
        jobs = [
            delayed(_fold_scores)(assembler, X, radiomics, y, train, test, ratio, alphas,
                                  self._coxnet_params())
            for ratio, alphas in zip(ratios, paths)
            for train, test in folds
        ]
        scores = Parallel(n_jobs=self.n_jobs)(jobs)
        n_folds = len(folds)

        rows = {"l1_ratio": [], "alpha": [], "mean_test_score": [], "std_test_score": []}
        split_scores = [[] for _ in range(n_folds)]
        for i, (ratio, alphas) in enumerate(zip(ratios, paths)):
            per_fold = np.vstack(scores[i * n_folds:(i + 1) * n_folds])  # (n_folds, n_alphas)
            rows["l1_ratio"].extend([ratio] * len(alphas))
            rows["alpha"].extend(alphas)
            rows["mean_test_score"].extend(per_fold.mean(axis=0))
            rows["std_test_score"].extend(per_fold.std(axis=0))
            for k in range(n_folds):
                split_scores[k].extend(per_fold[k])
        self.cv_results_ = {key: np.asarray(value, dtype=float) for key, value in rows.items()}
        for k in range(n_folds):
            self.cv_results_[f"split{k}_test_score"] = np.asarray(split_scores[k], dtype=float)
        best = int(np.argmax(self.cv_results_["mean_test_score"]))
        self.l1_ratio_ = float(self.cv_results_["l1_ratio"][best])
        self.alpha_ = float(self.cv_results_["alpha"][best])
        self.best_score_ = float(self.cv_results_["mean_test_score"][best])

        best_path = paths[int(np.flatnonzero(ratios == self.l1_ratio_)[0])]
        path_to_best = best_path[best_path >= self.alpha_]
        self.model_ = CoxnetSurvivalAnalysis(
            l1_ratio=self.l1_ratio_, alphas=path_to_best, fit_baseline_model=True,
            **self._coxnet_params(),
        )
        with warnings.catch_warnings():
            # the inner CV may choose the null model (no radiomics signal): not an error
            warnings.filterwarnings("ignore", message="all coefficients are zero")
            self.model_.fit(Z, y)
        self.features_ = features
        self.coef_ = np.asarray(self.model_.coef_[:, -1])
        self.feature_names_in_ = np.asarray(features.feature_names_in_, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.unique_times_ = np.asarray(self.model_.unique_times_)
        return self

    def _model_kwargs(self):
        return {"alpha": self.alpha_}
