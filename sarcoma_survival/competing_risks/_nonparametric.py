"""Nonparametric estimators: Aalen-Johansen incidence and the censoring Kaplan-Meier."""
from __future__ import annotations

from ..utils import aalen_johansen_curve, censoring_survival, check_competing_y  # noqa: F401 (re-export)
from ..utils import check_cause as _check_cause


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
    cause = _check_cause(cause)
    event, time = check_competing_y(y, allow_no_event=True)
    return aalen_johansen_curve(event, time, cause)
