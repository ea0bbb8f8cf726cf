"""Cause-specific Cox models combined into the incidence by Aalen-Johansen."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.util import Surv

from ..utils import coef_table, cox_covariance, fill_doc
from ..utils.constraints import COX_FIT_CONSTRAINTS
from ._base import COHORT_CONSTRAINTS, COHORT_DEFAULTS, FIT_DOC, PREDICT_DOC, CompetingRisksMixin, with_cohort_docs
from ._hazards import breslow_jumps, incidence_from_cause_hazards
from ._outcome import CAUSE_CONSTRAINT


@with_cohort_docs
class CauseSpecificCoxPH(CompetingRisksMixin, BaseEstimator):
    """Cause-specific Cox models, one per cause, combined into a cumulative incidence.

    For each cause ``k`` a :class:`sksurv.linear_model.CoxPHSurvivalAnalysis` is fitted
    with the other causes treated as censoring. The incidence of ``cause`` is the
    Aalen-Johansen combination of the cause-specific Breslow hazards,
    ``F(t | x) = sum_{t_j <= t} S(t_j- | x) dL_cause(t_j | x)``, where the all-cause
    survival ``S`` is the product limit of ``1 - sum_k dL_k``.

    Parameters
    ----------
    cause : int, default=1
        Cause of interest for :meth:`predict`, :meth:`score` and
        :meth:`predict_cumulative_incidence`.
    alpha : float, default=0
        Ridge penalty of every cause's Cox model (see
        :class:`~sksurv.linear_model.CoxPHSurvivalAnalysis`).
    ties : {"breslow", "efron"}, default="breslow"
    n_iter : int, default=100
    tol : float, default=1e-9
    <cohort parameters>

    Attributes
    ----------
    coef_ : ndarray of shape (n_causes, n_features)
        Log cause-specific hazard ratios, one row per cause, columns in X's order (the
        encoded features, :meth:`get_feature_names_out`, for the cohort table).
    coef_table_ : DataFrame
        Indexed by ``(cause, feature)``: ``coef, se, z, p, hr, hr_lower, hr_upper`` of every
        cause's Cox model (Wald test, 95 % interval of the cause-specific hazard ratio), the
        standard errors from the inverse information as R's ``coxph`` prints them
        (``nan`` for a cause without any event). ``coef_table_.loc[1]`` is cause 1's table.
    n_causes_ : int
        Causes kept (the largest code in ``y``, at least ``cause``). A cause without any
        event in the training data (a cross-validation fold) keeps its row: zero
        coefficients and a zero hazard, so its incidence is 0 at all times and the
        other causes' incidences are those of a model without it.
    jump_times_ : ndarray
        Distinct event times (any cause) of the training data.
    baseline_hazard_jumps_ : ndarray of shape (n_causes, n_jump_times)
    <cohort attributes>

    Examples
    --------
    >>> import numpy as np
    >>> from sarcoma_survival.competing_risks import CauseSpecificCoxPH, competing_y
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2))
    >>> y = competing_y(rng.integers(0, 3, 100), rng.exponential(1.0, 100) + 0.01)
    >>> model = CauseSpecificCoxPH(cause=2).fit(X, y)
    >>> model.coef_.shape
    (2, 2)
    >>> model.coef_table_.loc[2].index.tolist()
    ['x0', 'x1']
    """

    _parameter_constraints = {
        "cause": CAUSE_CONSTRAINT,
        **COX_FIT_CONSTRAINTS,
        "ties": [StrOptions({"breslow", "efron"})],
        **COHORT_CONSTRAINTS,
    }
    _params_added_later = COHORT_DEFAULTS

    def __init__(self, cause=1, *, alpha=0.0, ties="breslow", n_iter=100, tol=1e-9, columns=None,
                 min_frequency=5):
        self.cause = cause
        self.alpha = alpha
        self.ties = ties
        self.n_iter = n_iter
        self.tol = tol
        self.columns = columns
        self.min_frequency = min_frequency

    @fill_doc(fit_parameters=FIT_DOC)
    def fit(self, X, y):
        """Fit one Cox model per cause.

        <fit_parameters>
        """
        X, event, time = self._validated_numeric_fit(X, y)
        coef = np.zeros((self.n_causes_, X.shape[1]))
        for k in range(1, self.n_causes_ + 1):
            if np.any(event == k):
                model = CoxPHSurvivalAnalysis(
                    alpha=self.alpha, ties=self.ties, n_iter=self.n_iter, tol=self.tol
                ).fit(X, Surv.from_arrays(event == k, time))
                coef[k - 1] = model.coef_
        self.coef_ = coef
        self.jump_times_, self.baseline_hazard_jumps_ = breslow_jumps(
            X @ coef.T, event, time, self.n_causes_
        )
        # plain arrays, which the safe model file stores; coef_table_ builds the frame
        self._coef_covariance = np.stack([
            cox_covariance(X, coef[k], event == k + 1, time, ties=self.ties, alpha=self.alpha)
            for k in range(self.n_causes_)
        ])
        return self

    @property
    def coef_table_(self):
        """Coefficient tables of every cause (see the class docstring)."""
        check_is_fitted(self, "coef_")
        names = list(self.get_feature_names_out())
        tables = {k + 1: coef_table(names, self.coef_[k], self._coef_covariance[k])
                  for k in range(self.n_causes_)}
        return pd.concat(tables, names=["cause"])

    def _log_risk(self, X):
        return self._matrix(X) @ self.coef_.T

    @fill_doc(predict_parameters=PREDICT_DOC)
    def predict(self, X):
        """Log cause-specific hazard ratio of ``cause`` (higher = earlier).

        <predict_parameters>
        """
        return self._log_risk(X)[:, self.cause - 1]

    def _cumulative_incidence(self, X, times):
        # Aalen-Johansen from the cause-specific Breslow hazards of every cause
        return incidence_from_cause_hazards(
            self.jump_times_, self.baseline_hazard_jumps_, self._log_risk(X), self.cause, times
        )
