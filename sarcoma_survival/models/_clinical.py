"""The paper's clinical models: Sarculator RSF / CoxPH / Fine-Gray and the 11-variable RSF."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted
from sksurv.linear_model import CoxPHSurvivalAnalysis

from ..competing_risks import (
    CAUSE_CONSTRAINT,
    CompetingRisksMixin,
    FineGrayCoxPH,
    check_competing_fit_y,
    n_causes,
)
from ..preprocessing import ClinicalEncoder, summarize_inputs
from ..utils import coef_table, cox_covariance
from ..utils.constraints import COX_FIT_CONSTRAINTS, MIN_FREQUENCY_CONSTRAINT
from ..utils.validation import check_survival_y
from ._base import (
    COLUMNS_CONSTRAINT,
    RSF_CONSTRAINTS,
    RSF_DOC,
    CohortSurvivalEstimator,
    EncodedFeatureNamesMixin,
    RSFParamsMixin,
    check_cohort_frame,
)


class _ClinicalRSFBase(RSFParamsMixin, CohortSurvivalEstimator):
    _parameter_constraints = dict(RSF_CONSTRAINTS)

    def _columns(self):
        raise NotImplementedError  # pragma: no cover

    def _make_features(self):
        # Trees are invariant to scaling: encode without it.
        return ClinicalEncoder(self._columns(), scale=False, min_frequency=self.min_frequency)


class SarculatorRSF(_ClinicalRSFBase):
    __doc__ = f"""Random survival forest on the 4 Sarculator variables (Table 3, row 1).

    Age, tumor size, grade and histology, one-hot encoded (histology subtypes seen in
    fewer than ``min_frequency`` training patients grouped) with missing values imputed
    from the training patients only (:class:`~sarcoma_survival.preprocessing.ClinicalEncoder`),
    then a :class:`sksurv.ensemble.RandomSurvivalForest`.

    Parameters
    ----------{RSF_DOC}
    min_frequency : int, default=5
        Categories seen fewer times in training are grouped into one column.

    Attributes
    ----------
    feature_transformer_ : ClinicalEncoder
        The fitted encoder.
    model_ : sksurv.ensemble.RandomSurvivalForest
        The fitted forest.
    feature_names_in_ : ndarray of str
        Cohort columns the model reads (a column with no training value is left out).
    n_features_in_ : int
    unique_times_ : ndarray
        Unique training times (events and censorings), where survival functions are evaluated.

    Examples
    --------
    >>> import pandas as pd
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.models import SarculatorRSF
    >>> X = pd.DataFrame({{"age": [40., 50., 60., 70., 55., 65.] * 2,
    ...                   "tumor_size_cm": [4., 8., 12., 15., 6., 10.] * 2,
    ...                   "grade": ["low", "high", "high", "high", "low", "high"] * 2,
    ...                   "histology": ["liposarcoma", "leiomyosarcoma"] * 6}})
    >>> y = Surv.from_arrays([False, True, True, True, False, True] * 2,
    ...                      [900., 500., 300., 200., 800., 400.] * 2)
    >>> model = SarculatorRSF(n_estimators=10, min_samples_leaf=1, random_state=0).fit(X, y)
    >>> model.predict(X).shape
    (12,)
    """

    def __init__(
        self,
        n_estimators=100,
        *,
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

    def _columns(self):
        return "sarculator"


class ClinicalRSF(_ClinicalRSFBase):
    __doc__ = f"""Random survival forest on the 11 clinical variables (Table 3, row 3).

    Age, sex, tumor size, depth, grade, histology, location, volume, neoadjuvant
    chemotherapy, metastases at presentation and RT timing (or the columns you name),
    encoded on the training patients only by
    :class:`~sarcoma_survival.preprocessing.ClinicalEncoder` (one-hot categoricals, rare
    subtypes grouped, training-median / most-frequent imputation; a column with no
    training value is left out), then a :class:`sksurv.ensemble.RandomSurvivalForest`.

    Parameters
    ----------
    columns : {{"clinical", "sarculator"}} or list of str, default="clinical"
        Cohort columns to use.{RSF_DOC}
    min_frequency : int, default=5
        Categories seen fewer times in training are grouped into one column.

    Attributes
    ----------
    feature_transformer_ : ClinicalEncoder
        The fitted encoder.
    model_ : sksurv.ensemble.RandomSurvivalForest
        The fitted forest.
    feature_names_in_ : ndarray of str
        Cohort columns the model reads.
    n_features_in_ : int
    unique_times_ : ndarray
        Unique training times (events and censorings), where survival functions are evaluated.

    Examples
    --------
    >>> import pandas as pd
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.models import ClinicalRSF
    >>> X = pd.DataFrame({{"age": [40., 50., 60., 70., 55., 65.] * 2,
    ...                   "sex": ["F", "M", "F", "M", "F", "M"] * 2,
    ...                   "grade": ["low", "high", "high", "high", "low", "high"] * 2}})
    >>> y = Surv.from_arrays([False, True, True, True, False, True] * 2,
    ...                      [900., 500., 300., 200., 800., 400.] * 2)
    >>> model = ClinicalRSF(columns=["age", "sex", "grade"], n_estimators=10,
    ...                     min_samples_leaf=1, random_state=0).fit(X, y)
    >>> model.predict_survival_function(X, return_array=True).shape
    (12, 6)
    """

    _parameter_constraints = {**RSF_CONSTRAINTS, "columns": COLUMNS_CONSTRAINT}

    def __init__(
        self,
        columns="clinical",
        *,
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
        self.columns = columns
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

    def _columns(self):
        return self.columns


class SarculatorCoxPH(CohortSurvivalEstimator):
    """Cox proportional-hazards model on the 4 Sarculator variables (Table 3, row 2).

    Age and tumor size are imputed (training median) and standardized, grade and
    histology one-hot encoded (rare subtypes grouped) by
    :class:`~sarcoma_survival.preprocessing.ClinicalEncoder` fitted on the training
    patients only, then :class:`sksurv.linear_model.CoxPHSurvivalAnalysis`.

    A small ridge penalty (``alpha=1.0``, i.e. ``0.5 * alpha * ||beta||^2`` added to the
    negative log partial likelihood summed over patients) is the default: one-hot
    columns of a small subtype, or a subtype with no event, otherwise drive a
    coefficient to infinity and the Newton iterations fail to converge. With standardized
    numerics and 0/1 dummies, ``alpha=1`` shrinks coefficients very little on cohorts of
    a few hundred patients; set ``alpha=0`` for the unpenalized fit.

    Parameters
    ----------
    alpha : float, default=1.0
        Ridge penalty strength (see above).
    ties : {"breslow", "efron"}, default="breslow"
        Handling of tied event times.
    n_iter : int, default=100
        Maximum Newton-Raphson iterations.
    tol : float, default=1e-9
        Convergence tolerance on the relative change of the loss.
    min_frequency : int, default=5
        Categories seen fewer times in training are grouped into one column.

    Attributes
    ----------
    feature_transformer_ : ClinicalEncoder
        The fitted encoder.
    model_ : sksurv.linear_model.CoxPHSurvivalAnalysis
        The fitted Cox model.
    coef_ : ndarray
        Log hazard ratios, per encoded feature (see :meth:`get_feature_names_out`).
    coef_covariance_ : ndarray of shape (n_features, n_features)
        Covariance of ``coef_``: the inverse information of the (penalized) partial
        likelihood, from which ``coef_table_``'s standard errors come (the web page's delta-method
        interval of a patient's survival uses it).
    coef_table_ : DataFrame
        One row per identifiable effect: ``coef, se, z, p, hr, hr_lower, hr_upper`` (Wald
        test and 95 % confidence interval of the hazard ratio), the standard errors from the
        inverse information of the (penalized) partial likelihood, as R's ``coxph`` prints
        them (with ``alpha > 0``, as ``coxph`` with ``ridge(theta = alpha, scale = FALSE)``).
        Numeric features are standardized: a ratio is per training standard deviation. A
        categorical column is one-hot encoded with every level, so its coefficients are
        identified only up to a common shift; its rows are the contrasts of each level
        against the first (reference) level, named ``"grade_low vs grade_high"``, as R's
        treatment contrasts, with standard errors from the covariance of the contrast
        (:meth:`~sarcoma_survival.preprocessing.ClinicalEncoder.reference_contrasts`).
    feature_names_in_ : ndarray of str
        Cohort columns the model reads.
    n_features_in_ : int
    unique_times_ : ndarray
        Unique training times (events and censorings), where survival functions are evaluated.

    Examples
    --------
    >>> import pandas as pd
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.models import SarculatorCoxPH
    >>> X = pd.DataFrame({"age": [40., 50., 60., 70., 55., 65.] * 2,
    ...                   "tumor_size_cm": [4., 8., 12., 15., 6., 10.] * 2,
    ...                   "grade": ["low", "high", "high", "high", "low", "high"] * 2,
    ...                   "histology": ["liposarcoma", "leiomyosarcoma"] * 6})
    >>> y = Surv.from_arrays([False, True, True, True, False, True] * 2,
    ...                      [900., 500., 300., 200., 800., 400.] * 2)
    >>> model = SarculatorCoxPH(min_frequency=1).fit(X, y)
    >>> list(model.get_feature_names_out())[:3]
    ['age', 'tumor_size_cm', 'grade_high']
    >>> model.coef_.shape
    (6,)
    >>> list(model.coef_table_.columns)
    ['coef', 'se', 'z', 'p', 'hr', 'hr_lower', 'hr_upper']
    >>> list(model.coef_table_.index)[2]
    'grade_low vs grade_high'
    """

    _parameter_constraints = {
        **COX_FIT_CONSTRAINTS,
        "ties": [StrOptions({"breslow", "efron"})],
        "min_frequency": MIN_FREQUENCY_CONSTRAINT,
    }

    def __init__(self, alpha=1.0, *, ties="breslow", n_iter=100, tol=1e-9, min_frequency=5):
        self.alpha = alpha
        self.ties = ties
        self.n_iter = n_iter
        self.tol = tol
        self.min_frequency = min_frequency

    def _make_features(self):
        return ClinicalEncoder("sarculator", scale=True, min_frequency=self.min_frequency)

    def _make_model(self):
        return CoxPHSurvivalAnalysis(alpha=self.alpha, ties=self.ties, n_iter=self.n_iter, tol=self.tol)

    def _fit_model(self, X, y):
        model, Z = super()._fit_model(X, y)
        event, time = check_survival_y(y)
        # a plain array, which the safe model file stores; coef_table_ builds the frame
        self._coef_covariance = cox_covariance(Z, model.coef_, event, time, ties=self.ties,
                                               alpha=self.alpha)
        return model, Z

    @property
    def coef_table_(self):
        """Coefficient table of the identifiable effects (see the class docstring)."""
        names, matrix, _ = self.feature_transformer_.reference_contrasts()
        return coef_table(names, matrix @ self.coef_, matrix @ self._coef_covariance @ matrix.T)

    @property
    def coef_(self):
        """Log hazard ratios of the encoded features."""
        return self.model_.coef_

    @property
    def coef_covariance_(self):
        """Covariance of ``coef_`` (the inverse information of the fit; see ``coef_table_``)."""
        return self._coef_covariance


class SarculatorFineGray(EncodedFeatureNamesMixin, CompetingRisksMixin, BaseEstimator):
    """Fine-Gray model of distant metastasis on the 4 Sarculator variables.

    Sarculator's DM nomogram is a Fine-Gray competing-risks model (death without
    metastasis competes). Its home is :mod:`sarcoma_survival.models`, with the other
    Sarculator models; ``sarcoma_survival.competing_risks.SarculatorFineGray`` is the same
    class. Age and tumor size are imputed (training median) and
    standardized, grade and histology one-hot encoded (rare subtypes grouped) by
    :class:`~sarcoma_survival.preprocessing.ClinicalEncoder` fitted on the training
    patients only, exactly as for
    :class:`~sarcoma_survival.models.SarculatorCoxPH`; then :class:`~sarcoma_survival.competing_risks.FineGrayCoxPH`.

    Parameters
    ----------
    cause : int, default=1
        Cause of interest (1 = DM in ``y_dm_competing``).
    alpha : float, default=1.0
        Ridge penalty of the Fine-Gray fit (small; it keeps a rare subtype's
        coefficient finite, as for ``SarculatorCoxPH``).
    n_iter : int, default=100
    tol : float, default=1e-9
    min_frequency : int, default=5
        Categories seen fewer times in training are grouped into one column.

    Attributes
    ----------
    feature_transformer_ : ClinicalEncoder
    model_ : ~sarcoma_survival.competing_risks.FineGrayCoxPH
    coef_ : ndarray
        Log subdistribution hazard ratios per encoded feature
        (:meth:`get_feature_names_out`).
    coef_table_ : DataFrame
        The identifiable effects, as :class:`SarculatorCoxPH`'s table: each grade and
        histology level against the reference level (``"grade_low vs grade_high"``), with
        crr's robust standard errors of the contrasts (every level is one-hot encoded, so
        one column's coefficients are identified only up to a common shift).
    n_causes_ : int
    feature_names_in_ : ndarray of str
    n_features_in_ : int

    Examples
    --------
    >>> import pandas as pd
    >>> from sarcoma_survival.competing_risks import competing_y
    >>> from sarcoma_survival.models import SarculatorFineGray
    >>> X = pd.DataFrame({"age": [40., 50., 60., 70., 55., 65., 45., 75., 58., 62.],
    ...                   "tumor_size_cm": [4., 8., 12., 15., 6., 10., 5., 9., 7., 11.],
    ...                   "grade": ["low", "high", "high", "high", "low", "high", "low", "high", "low", "high"],
    ...                   "histology": ["liposarcoma"] * 5 + ["leiomyosarcoma"] * 5})
    >>> y = competing_y([0, 1, 1, 2, 0, 1, 2, 1, 0, 2],
    ...                 [900., 500., 300., 200., 800., 400., 700., 250., 950., 600.])
    >>> model = SarculatorFineGray(min_frequency=1).fit(X, y)
    >>> model.predict_cumulative_incidence(X, [365.0, 730.0]).shape
    (10, 2)
    """

    _parameter_constraints = {
        "cause": CAUSE_CONSTRAINT,
        **COX_FIT_CONSTRAINTS,
        "min_frequency": MIN_FREQUENCY_CONSTRAINT,
    }

    def __init__(self, cause=1, *, alpha=1.0, n_iter=100, tol=1e-9, min_frequency=5):
        self.cause = cause
        self.alpha = alpha
        self.n_iter = n_iter
        self.tol = tol
        self.min_frequency = min_frequency

    def fit(self, X, y):
        """Fit the encoding on the training patients, then the Fine-Gray model.

        Parameters
        ----------
        X : DataFrame
            The cohort table.
        y : structured ndarray
            Competing-risks outcome (for example ``cohort.y_dm_competing``).

        Returns
        -------
        self
        """
        check_competing_fit_y(y, X, self)
        self._validate_params()
        check_cohort_frame(X, self)
        self.feature_transformer_ = ClinicalEncoder(
            "sarculator", scale=True, min_frequency=self.min_frequency
        )
        Z = np.asarray(self.feature_transformer_.fit_transform(X), dtype=np.float64)
        self.model_ = FineGrayCoxPH(
            self.cause, alpha=self.alpha, n_iter=self.n_iter, tol=self.tol
        ).fit(Z, y)
        self.n_causes_ = n_causes(y[y.dtype.names[0]], self.cause)
        self.feature_names_in_ = np.asarray(self.feature_transformer_.feature_names_in_, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.training_summary_ = summarize_inputs(X, y, columns=self.feature_names_in_)
        return self

    def _encode(self, X):
        check_is_fitted(self, "model_")
        check_cohort_frame(X, self)
        return np.asarray(self.feature_transformer_.transform(X), dtype=np.float64)

    @property
    def coef_(self):
        """Log subdistribution hazard ratios of the encoded features."""
        return self.model_.coef_

    @property
    def coef_table_(self):
        """Coefficient table of the identifiable effects (see the class docstring)."""
        names, matrix, _ = self.feature_transformer_.reference_contrasts()
        return coef_table(names, matrix @ self.coef_, matrix @ self.model_.coef_covariance_ @ matrix.T)

    def predict(self, X):
        """Log subdistribution hazard ratio of DM (higher = earlier).

        Parameters
        ----------
        X : DataFrame

        Returns
        -------
        ndarray of shape (n_patients,)
        """
        return self.model_.predict(self._encode(X))

    def _cumulative_incidence(self, X, times):
        return self.model_.predict_cumulative_incidence(self._encode(X), times)
