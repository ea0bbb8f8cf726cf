"""Nonparametric estimators: Aalen-Johansen incidence and the censoring Kaplan-Meier."""
from __future__ import annotations

import numpy as np

from ..utils import aalen_johansen_curve, check_cause, check_competing_y


def aalen_johansen(y, cause=1):
    """Aalen-Johansen estimate of the cumulative incidence of one cause.

    ``F_k(t) = sum_{t_j <= t} S(t_j-) d_kj / n_j`` with ``S`` the all-cause Kaplan-Meier,
    ``d_kj`` the events of cause ``k`` at ``t_j`` and ``n_j`` the patients at risk. It
    equals the first rows of :func:`sksurv.nonparametric.cumulative_incidence_competing_risks`
    and R's ``cmprsk::cuminc`` (both tested).

    Parameters
    ----------
    y : structured ndarray
        Competing-risks outcome (:func:`competing_y`).
    cause : int, default=1
        The cause whose incidence is estimated; a cause without any event has an
        incidence of 0.

    Returns
    -------
    times : ndarray of shape (n_times,)
        Unique observed times (events of any cause and censorings), ascending.
    cif : ndarray of shape (n_times,)
        Cumulative incidence of ``cause`` at each of ``times`` (right-continuous).

    Examples
    --------
    >>> from sarcoma_survival.competing_risks import aalen_johansen, competing_y
    >>> y = competing_y([1, 2, 0, 1], [1.0, 2.0, 3.0, 4.0])
    >>> times, cif = aalen_johansen(y, cause=1)
    >>> cif.round(3).tolist()
    [0.25, 0.25, 0.25, 0.75]
    """
    cause = check_cause(cause)
    event, time = check_competing_y(y, allow_no_event=True)
    return aalen_johansen_curve(event, time, cause)


def censoring_survival(event, time, *, events_first=True):
    """Kaplan-Meier estimate of the censoring survival ``G`` (censoring is the event).

    Any event, whatever its cause, censors the censoring time. Returns a callable pair
    ``(before, at)``: ``before(t) = G(t-)`` and ``at(t) = G(t)``.

    ``events_first`` settles an event and a censoring on the same day. True: the event
    comes first, so the patient with the event is no longer at risk of being censored
    that day (the reverse Kaplan-Meier of R's ``prodlim``, used by ``riskRegression``
    and ``pec``). False: both are at risk (``survival::survfit`` on the censoring
    indicator, used by ``cmprsk::crr``).
    """
    uniq, inverse = np.unique(time, return_inverse=True)
    n_cens = np.bincount(inverse, weights=(event == 0).astype(float), minlength=uniq.size)
    n_total = np.bincount(inverse, minlength=uniq.size).astype(float)
    at_risk = n_total[::-1].cumsum()[::-1]
    if events_first:
        at_risk = at_risk - (n_total - n_cens)
    factors = 1.0 - np.divide(n_cens, at_risk, out=np.zeros_like(n_cens), where=at_risk > 0)
    surv = np.cumprod(factors)

    def at(t):
        idx = np.searchsorted(uniq, np.asarray(t, dtype=float), side="right") - 1
        return np.where(idx >= 0, surv[np.maximum(idx, 0)], 1.0)

    def before(t):
        idx = np.searchsorted(uniq, np.asarray(t, dtype=float), side="left") - 1
        return np.where(idx >= 0, surv[np.maximum(idx, 0)], 1.0)

    return before, at


def reference_censoring(y_true, y_train, event, time):
    """The censoring ``(G(t-), G(t))`` pair of ``y_train`` (``y_true`` when None)."""
    if y_train is None:
        return censoring_survival(event, time)
    ref_event, ref_time = check_competing_y(y_train, allow_no_event=True)
    return censoring_survival(ref_event, ref_time)
