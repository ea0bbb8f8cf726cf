"""Sarculator's distant-metastasis nomogram model: Fine-Gray on the 4 Sarculator variables."""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..models import EncodedFeatureNamesMixin, check_cohort_frame
from ..preprocessing import ClinicalEncoder
from ..utils import check_competing_fit_y
from ._base import CAUSE_CONSTRAINT, CompetingRisksMixin, n_causes
from ._fine_gray import FineGrayCoxPH


class SarculatorFineGray(EncodedFeatureNamesMixin, CompetingRisksMixin, BaseEstimator):
    """Fine-Gray model of distant metastasis on the 4 Sarculator variables.

    Sarculator's DM nomogram is a Fine-Gray competing-risks model (death without
    metastasis competes). Age and tumor size are imputed (training median) and
    standardized, grade and histology one-hot encoded (rare subtypes grouped) by
    :class:`~sarcoma_survival.preprocessing.ClinicalEncoder` fitted on the training
    patients only, exactly as for
    :class:`~sarcoma_survival.models.SarculatorCoxPH`; then :class:`FineGrayCoxPH`.

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
    features_ : ClinicalEncoder
    model_ : FineGrayCoxPH
    coef_ : ndarray
        Log subdistribution hazard ratios per encoded feature
        (:meth:`get_feature_names_out`).
    n_causes_ : int
    feature_names_in_ : ndarray of str
    n_features_in_ : int

    Examples
    --------
    >>> import pandas as pd
    >>> from sarcoma_survival.competing_risks import SarculatorFineGray, competing_y
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
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "n_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="neither")],
        "min_frequency": [Interval(numbers.Integral, 1, None, closed="left")],
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
        self.features_ = ClinicalEncoder(
            "sarculator", scale=True, min_frequency=self.min_frequency
        )
        Z = np.asarray(self.features_.fit_transform(X), dtype=np.float64)
        self.model_ = FineGrayCoxPH(
            self.cause, alpha=self.alpha, n_iter=self.n_iter, tol=self.tol
        ).fit(Z, y)
        self.n_causes_ = n_causes(y[y.dtype.names[0]], self.cause)
        self.feature_names_in_ = np.asarray(self.features_.feature_names_in_, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def _encode(self, X):
        check_is_fitted(self, "model_")
        check_cohort_frame(X, self)
        return np.asarray(self.features_.transform(X), dtype=np.float64)

    @property
    def coef_(self):
        """Log subdistribution hazard ratios of the encoded features."""
        return self.model_.coef_

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
