"""What every competing-risks estimator shares: the cause parameter, scoring, incidence."""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval

from ._nonparametric import _check_cause

#: Constraint of the ``cause`` parameter.
CAUSE_CONSTRAINT = [Interval(numbers.Integral, 1, None, closed="left")]


def n_causes(event, cause):
    """Number of causes K a model keeps: the largest code in ``y``, at least ``cause``.

    A training set (a cross-validation fold) lacking some cause still gets a head for
    it; that head has a zero hazard, so the incidence of that cause is 0 at all times.
    """
    return int(max(int(event.max(initial=0)), _check_cause(cause)))


def check_times(times):
    """Validate prediction times: a non-empty 1-D array of finite values >= 0."""
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if times.ndim != 1 or times.size == 0 or not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ValueError(f"times must be a non-empty 1-D array of finite values >= 0, got {times!r}")
    return times


def step_values(jump_times, cumulative, times):
    """Right-continuous step function (0 before the first jump) evaluated at ``times``."""
    idx = np.searchsorted(jump_times, times, side="right") - 1
    values = np.zeros((*cumulative.shape[:-1], times.size))
    ok = idx >= 0
    values[..., ok] = cumulative[..., idx[ok]]
    return values


def incidence_from_cause_hazards(jump_times, baseline_jumps, log_risk, cause, times):
    """Aalen-Johansen incidence of ``cause`` from proportional cause-specific hazards.

    Parameters
    ----------
    jump_times : ndarray of shape (m,)
        Ascending times where some baseline hazard jumps.
    baseline_jumps : ndarray of shape (K, m)
        Jumps of the Breslow cumulative baseline hazard of each cause at ``jump_times``.
    log_risk : ndarray of shape (n, K)
        Log relative hazard of each patient for each cause.
    cause : int
        1-based cause whose incidence is returned.
    times : ndarray of shape (n_times,)

    Returns
    -------
    ndarray of shape (n, n_times)
        ``F_c(t) = sum_{t_j <= t} S(t_j-) dLambda_c(t_j)``, with the all-cause survival
        taken as the product limit ``S(t_j-) = prod_{l<j} (1 - sum_k dLambda_k(t_l))``.
        Where the jumps of one step sum above 1 (a very high predicted hazard), that
        step's factor is 0 and ``S(t_j-)`` is shared among the causes in proportion to
        their jumps, so the incidences of all causes always sum to ``1 - S <= 1``.
    """
    # (n, K, m) hazard jumps of each patient
    jumps = np.exp(log_risk)[:, :, None] * baseline_jumps[None, :, :]
    total = jumps.sum(axis=1)
    # a step whose jumps sum above 1 ends all-cause survival: share S(t_j-) among the
    # causes in proportion to their jumps, so that the incidences still sum to 1 - S
    scale = np.where(total > 1.0, 1.0 / np.where(total > 0, total, 1.0), 1.0)
    surv = np.cumprod(1.0 - total * scale, axis=1)
    surv_before = np.concatenate([np.ones((surv.shape[0], 1)), surv[:, :-1]], axis=1)
    cif = np.cumsum(surv_before * jumps[:, cause - 1, :] * scale, axis=1)
    return np.clip(step_values(jump_times, cif, times), 0.0, 1.0)


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
