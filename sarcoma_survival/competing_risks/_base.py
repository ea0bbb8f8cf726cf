"""What every competing-risks estimator shares: the cause parameter, scoring, incidence."""
from __future__ import annotations

from ..utils import (  # noqa: F401 (re-exported to the estimators)
    CAUSE_CONSTRAINT,
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
