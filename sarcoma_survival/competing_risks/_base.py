"""What every competing-risks estimator shares: the cause parameter, scoring, incidence."""
from __future__ import annotations

import numpy as np
from sklearn.utils.validation import validate_data

from ..utils import (  # noqa: F401 (re-exported to the estimators)
    CAUSE_CONSTRAINT,
    check_competing_fit_y,
    check_competing_y,
    check_times,
    incidence_from_cause_hazards,
    n_causes,
    step_values,
)


class CompetingRisksMixin:
    """``score`` (cause-specific concordance) and tags shared by the estimators."""

    def score(self, X, y):
        """Cause-specific concordance of :meth:`predict` on ``y`` (Wolbers et al. 2014).

        Parameters
        ----------
        X : array-like or DataFrame
        y : structured ndarray
            Competing-risks outcome (:func:`competing_y`).

        Returns
        -------
        float
            IPCW concordance for ``self.cause``, no truncation (see
            :func:`concordance_index_competing`).
        """
        from ._metrics import concordance_index_competing

        return concordance_index_competing(y, self.predict(X), cause=self.cause)

    def _validated_numeric_fit(self, X, y):
        """Check ``y`` (first, with the minimum fit size), the parameters and a numeric ``X``; set ``n_causes_``."""
        event, time = check_competing_fit_y(y, X, self)
        self._validate_params()
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        self.n_causes_ = n_causes(event, self.cause)
        return X, event, time

    def predict_cumulative_incidence(self, X, times):
        """Cumulative incidence of ``cause`` at ``times``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or the cohort DataFrame
        times : array-like of shape (n_times,)
            Days, finite, > 0 and increasing.

        Returns
        -------
        ndarray of shape (n_samples, n_times)
        """
        return self._cumulative_incidence(X, check_times(times))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
