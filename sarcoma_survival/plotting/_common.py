"""Helpers shared by the plotting functions: axes creation, step functions, risk groups."""
from __future__ import annotations

import numbers

import numpy as np
from sksurv.nonparametric import kaplan_meier_estimator

#: Docstring entries of the last two parameters of the plots against time (``fill_doc``).
TIME_AXES_DOC = """    time_origin : str, optional
        The day 0 of the times (a fitted model's ``time_origin_``, a cohort's
        ``time_origin``): the x-axis then reads "days since surgery" (or says that the
        origin was not stated) instead of "time (days)".
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
"""


def get_axes(ax):
    """Return ``ax``, or the Axes of a new figure when ``ax`` is None."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    return ax


def step_value(x, y, t, before=1.0):
    """Value at ``t`` of the right-continuous step function through ``(x, y)``.

    ``x`` is sorted increasingly; before ``x[0]`` the value is ``before``; after ``x[-1]``
    the last value is carried forward.
    """
    idx = np.searchsorted(np.asarray(x), t, side="right") - 1
    y = np.asarray(y)
    if np.ndim(idx) == 0:
        return before if idx < 0 else y[idx]
    out = np.where(idx < 0, before, y[np.clip(idx, 0, None)])
    return out


def survival_at(survival, time, name="survival"):
    """Predicted survival probabilities at ``time`` as a 1-D float array.

    ``survival`` is a 1-D array of probabilities (already evaluated at ``time``) or a
    sequence of callables such as the :class:`sksurv.functions.StepFunction` objects
    returned by ``predict_survival_function(X)``.
    """
    items = list(survival) if not isinstance(survival, np.ndarray) else survival
    if len(items) and callable(items[0]):
        values = np.array([float(fn(time)) for fn in items])
    else:
        values = np.asarray(items, dtype=float)
        if values.ndim != 1:
            raise ValueError(
                f"{name} must be a 1-D array of survival probabilities at the horizon "
                f"or a sequence of survival functions; got shape {values.shape}"
            )
    if np.isnan(values).any():
        bad = np.flatnonzero(np.isnan(values))[:10].tolist()
        raise ValueError(f"{name} contains NaN for samples {bad}")
    if (values < 0).any() or (values > 1).any():
        raise ValueError(f"{name} must hold probabilities in [0, 1]")
    return values


def risk_groups(risk, n_groups=2, cutoffs=None):
    """Assign each sample to a risk group, 0 = lowest predicted risk.

    Parameters
    ----------
    risk : array-like of shape (n_samples,)
        Predicted risk scores (higher = earlier event).
    n_groups : int, default=2
        Number of equally sized groups (quantiles of ``risk``); ignored when
        ``cutoffs`` is given.
    cutoffs : array-like, optional
        Increasing thresholds, for example quantiles of the *training* risks. A sample
        with ``risk > cutoffs[k-1]`` and ``risk <= cutoffs[k]`` is in group ``k``.

    Returns
    -------
    groups : ndarray of int, shape (n_samples,)
        Group of each sample.
    cutoffs : ndarray of float
        The thresholds used (the quantiles when ``cutoffs`` was None).

    Examples
    --------
    >>> from sarcoma_survival.plotting import risk_groups
    >>> groups, cutoffs = risk_groups([0.1, 0.5, 0.9, 1.3], n_groups=2)
    >>> groups.tolist(), cutoffs.tolist()
    ([0, 0, 1, 1], [0.7])
    """
    risk = np.asarray(risk, dtype=float)
    if risk.ndim != 1:
        raise ValueError(f"risk must be 1-D, got shape {risk.shape}")
    if np.isnan(risk).any():
        bad = np.flatnonzero(np.isnan(risk))[:10].tolist()
        raise ValueError(f"risk contains NaN for samples {bad}")
    if cutoffs is None:
        if not isinstance(n_groups, numbers.Integral) or n_groups < 2:
            raise ValueError(f"n_groups must be an integer >= 2, got {n_groups!r}")
        cutoffs = np.quantile(risk, np.linspace(0.0, 1.0, n_groups + 1)[1:-1])
        if np.any(np.diff(cutoffs) <= 0):
            raise ValueError(
                f"cannot form {n_groups} risk groups: quantile cutoffs "
                f"{np.round(cutoffs, 4).tolist()} coincide (too many tied risks)"
            )
    cutoffs = np.atleast_1d(np.asarray(cutoffs, dtype=float))
    if np.any(np.diff(cutoffs) <= 0):
        raise ValueError(f"cutoffs must be strictly increasing, got {cutoffs.tolist()}")
    groups = np.searchsorted(cutoffs, risk, side="left")
    counts = np.bincount(groups, minlength=len(cutoffs) + 1)
    if (counts == 0).any():
        raise ValueError(
            f"risk group(s) {np.flatnonzero(counts == 0).tolist()} are empty with cutoffs "
            f"{np.round(cutoffs, 4).tolist()} (too many tied risks or too many groups)"
        )
    return groups, cutoffs


def group_names(n_groups):
    """Default legend names for ``n_groups`` risk groups, lowest risk first."""
    if n_groups == 2:
        return ["low risk", "high risk"]
    if n_groups == 3:
        return ["low risk", "intermediate risk", "high risk"]
    return [f"risk group {k + 1}" for k in range(n_groups)]


def kaplan_meier(event, time, conf_level=0.95):
    """Kaplan-Meier curve with log-log confidence band: ``(time, prob, lower, upper)``."""
    t, prob, ci = kaplan_meier_estimator(
        event, time, conf_level=conf_level, conf_type="log-log"
    )
    return t, prob, ci[0], ci[1]


def time_axis_label(time_unit, time_origin=None):
    """``"time (days)"``, or with a time origin ``"days since surgery"`` (``"days (time origin not stated)"``)."""
    if time_origin is None:
        return f"time ({time_unit})"
    from ..utils.validation import time_since_label

    return time_since_label(time_origin, time_unit)
