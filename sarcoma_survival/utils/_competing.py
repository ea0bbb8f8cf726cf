"""The competing-risks outcome: a structured array with an integer cause and a time."""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval
from sksurv.util import Surv

from .validation import _patient_labels, _two_fields, check_fit_y, check_time_values

#: dtype of a competing-risks outcome: ``event`` 0 = censored, 1..K = cause; ``time`` > 0.
COMPETING_DTYPE = np.dtype([("event", np.int64), ("time", np.float64)])


def _names(X, n, mask, *, values=None):
    labels = _patient_labels(X, n)
    rows = np.flatnonzero(mask)[:10]
    if values is None:
        return ", ".join(labels[i] for i in rows)
    return ", ".join(f"{labels[i]} ({values[i].item()!r})" for i in rows)


def _event_codes(event, X=None):
    raw = np.asarray(event)
    if raw.ndim != 1:
        raise ValueError(f"event must be 1-D, got shape {raw.shape}")
    if raw.dtype == np.bool_:
        raise ValueError(
            "event is boolean: a competing-risks outcome needs integer codes "
            "(0 = censored, 1..K = cause of the event)"
        )
    if raw.dtype.kind not in "iuf":
        raise ValueError(f"event must hold integer cause codes, got dtype {raw.dtype}")
    as_float = raw.astype(float)
    bad = ~np.isfinite(as_float) | (as_float != np.round(as_float)) | (as_float < 0)
    if bad.any():
        raise ValueError(
            "event codes must be integers >= 0 (0 = censored, 1..K = cause); invalid for: "
            + _names(X, raw.size, bad, values=raw)
        )
    return as_float.astype(np.int64)


def _times(time, X=None):
    raw = np.asarray(check_time_values(time), dtype=float)
    if raw.ndim != 1:
        raise ValueError(f"time must be 1-D, got shape {raw.shape}")
    bad = ~np.isfinite(raw)
    if bad.any():
        raise ValueError("time is NaN or infinite for: " + _names(X, raw.size, bad))
    bad = raw <= 0
    if bad.any():
        raise ValueError(
            "times must be > 0; zero or negative for: " + _names(X, raw.size, bad, values=raw)
        )
    return raw


def competing_y(event, time):
    """Build a competing-risks outcome from cause codes and times.

    Parameters
    ----------
    event : array-like of int, shape (n_samples,)
        0 for a censored patient, ``k`` in 1..K for an event of cause ``k``.
    time : array-like of float, shape (n_samples,)
        Time of the event or of censoring (> 0; days in this toolkit).

    Returns
    -------
    structured ndarray of shape (n_samples,)
        Fields ``event`` (int64) and ``time`` (float64).

    Raises
    ------
    ValueError
        If the codes are not integers >= 0 (booleans are refused: they cannot say which
        cause), a time is NaN, infinite, zero or negative, or the lengths differ.

    Examples
    --------
    >>> from sarcoma_survival.competing_risks import competing_y
    >>> y = competing_y([1, 0, 2], [100.0, 250.0, 80.0])
    >>> y["event"].tolist(), y["time"].tolist()
    ([1, 0, 2], [100.0, 250.0, 80.0])
    """
    codes = _event_codes(event)
    times = _times(time)
    if codes.size != times.size:
        raise ValueError(f"event has {codes.size} entries but time has {times.size}")
    y = np.empty(codes.size, dtype=COMPETING_DTYPE)
    y["event"] = codes
    y["time"] = times
    return y


def is_competing_y(y):
    """True when ``y`` is a structured array whose first field is an integer cause code."""
    dtype = getattr(y, "dtype", None)
    if dtype is None or dtype.names is None or len(dtype.names) != 2:
        return False
    return dtype[dtype.names[0]].kind in "iu"


def check_competing_y(y, X=None, *, allow_no_event=False):
    """Validate a competing-risks outcome and return ``(event, time)``.

    Parameters
    ----------
    y : structured ndarray
        As made by :func:`competing_y`: an integer event field (0 = censored, 1..K) and
        a float time field.
    X : DataFrame or array-like, optional
        Matching features: same length; a DataFrame index names patients in errors.
    allow_no_event : bool, default=False
        Accept a ``y`` in which every patient is censored (for scoring).

    Returns
    -------
    event : ndarray of int64
    time : ndarray of float64

    Examples
    --------
    >>> from sarcoma_survival.competing_risks import competing_y
    >>> from sarcoma_survival.utils import check_competing_y
    >>> event, time = check_competing_y(competing_y([2, 0], [5.0, 9.0]))
    >>> event.tolist()
    [2, 0]
    """
    dtype = _two_fields(y, "a competing-risks structured array with an integer event field "
                           "(0 = censored, 1..K = cause) and a float time field, as made by "
                           "sarcoma_survival.competing_risks.competing_y")
    event_field, time_field = dtype.names
    if dtype[event_field].kind == "b":
        raise ValueError(
            f"the event field {event_field!r} of y is boolean (a survival outcome): a "
            "competing-risks model needs integer cause codes, 0 = censored, 1..K = cause; "
            "build y with sarcoma_survival.competing_risks.competing_y"
        )
    if X is not None and len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} entries")
    time = _times(y[time_field], X)
    event = _event_codes(y[event_field], X)
    if not allow_no_event and not (event > 0).any():
        raise ValueError("y has no observed event: all samples are censored")
    return event, time


def check_competing_fit_y(y, X, estimator):
    """Validate the competing-risks outcome of a fit: :func:`check_competing_y`, then the minimum size.

    The minimum training size of the survival models (``MIN_FIT_PATIENTS`` patients,
    ``MIN_FIT_EVENTS`` events, :func:`~sarcoma_survival.utils.validation.check_fit_y`),
    counting an event of any cause: every estimator of the package refuses the same tiny
    training sets, whatever its outcome.

    Returns
    -------
    event : ndarray of int64
    time : ndarray of float64
    """
    event, time = check_competing_y(y, X)
    check_fit_y(Surv.from_arrays(event > 0, time), X, estimator)
    return event, time


def dm_competing_y(y_os, y_dm):
    """Distant metastasis with death as a competing risk, from the OS and DM outcomes.

    Cause 1 is a metastasis (``dm_event``, at ``dm_time``); cause 2 is a death without a
    metastasis before it (``os_event & ~dm_event & os_time <= dm_time``, at ``os_time``);
    any other patient is censored at ``dm_time``. A metastasis and a death on the same
    day count as a metastasis; a death after the end of DM follow-up is censoring.

    Parameters
    ----------
    y_os, y_dm : structured ndarray or None
        Survival outcomes (boolean event, float time) of the same patients.

    Returns
    -------
    structured ndarray or None
        As made by :func:`competing_y`; ``None`` when either outcome is ``None``.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.utils import dm_competing_y
    >>> y_os = Surv.from_arrays([True, True, True, False], [300.0, 200.0, 900.0, 500.0])
    >>> y_dm = Surv.from_arrays([True, False, False, False], [300.0, 200.0, 400.0, 500.0])
    >>> dm_competing_y(y_os, y_dm)["event"].tolist()
    [1, 2, 0, 0]
    """
    if y_os is None or y_dm is None:
        return None
    os_event, os_time = (np.asarray(y_os[f]) for f in y_os.dtype.names)
    dm_event, dm_time = (np.asarray(y_dm[f]) for f in y_dm.dtype.names)
    if os_event.size != dm_event.size:
        raise ValueError(f"y_os has {os_event.size} entries but y_dm has {dm_event.size}")
    dm_event = dm_event.astype(bool)
    death = os_event.astype(bool) & ~dm_event & (os_time <= dm_time)
    event = np.where(dm_event, 1, np.where(death, 2, 0))
    time = np.where(death, os_time, dm_time).astype(float)
    return competing_y(event, time)


def check_cause(cause):
    """Validate a 1-based cause code (an int >= 1, not a bool) and return it as int."""
    if not isinstance(cause, numbers.Integral) or isinstance(cause, bool) or cause < 1:
        raise ValueError(f"cause must be an integer >= 1, got {cause!r}")
    return int(cause)


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


def check_risk_vector(risk, n):
    """A finite (n,) float risk vector (an (n, 1) column is accepted)."""
    risk = np.asarray(risk, dtype=float)
    if risk.ndim == 2 and risk.shape[1] == 1:
        risk = risk[:, 0]
    if risk.shape != (n,) or not np.all(np.isfinite(risk)):
        raise ValueError(f"risk must be finite, of shape ({n},); got shape {risk.shape}")
    return risk


#: Constraint of the ``cause`` parameter.
CAUSE_CONSTRAINT = [Interval(numbers.Integral, 1, None, closed="left")]


def n_causes(event, cause):
    """Number of causes K a model keeps: the largest code in ``y``, at least ``cause``.

    A training set (a cross-validation fold) lacking some cause still gets a head for
    it; that head has a zero hazard, so the incidence of that cause is 0 at all times.
    """
    return int(max(int(event.max(initial=0)), check_cause(cause)))


def check_times(times):
    """Validate prediction times: a non-empty 1-D array of finite values >= 0."""
    times = np.atleast_1d(np.asarray(check_time_values(times, what="times"), dtype=float))
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


def breslow_jumps(log_risk, event, time, n_causes_):
    """Breslow jumps of each cause's baseline cumulative hazard.

    Parameters
    ----------
    log_risk : ndarray of shape (n, K)
        Log relative hazard of each training patient for each cause.
    event, time : ndarray of shape (n,)
        Cause codes (0 = censored) and times.
    n_causes_ : int

    Returns
    -------
    jump_times : ndarray of shape (m,)
        Distinct times of an event of any cause.
    jumps : ndarray of shape (K, m)
        ``d_k(t) / sum_{time_i >= t} exp(log_risk_ik)``.
    """
    jump_times = np.unique(time[event > 0])
    order = np.argsort(time, kind="stable")
    sorted_time = time[order]
    risk = np.exp(log_risk[order] - log_risk.max(axis=0, initial=0.0))
    # suffix sums: patients with time >= t
    tail = np.cumsum(risk[::-1], axis=0)[::-1]
    first = np.searchsorted(sorted_time, jump_times, side="left")
    at_risk = tail[first].T  # (K, m)
    jumps = np.zeros((n_causes_, jump_times.size))
    index = np.searchsorted(jump_times, time)
    for k in range(1, n_causes_ + 1):
        hit = event == k
        counts = np.bincount(index[hit], minlength=jump_times.size)
        jumps[k - 1] = counts / at_risk[k - 1] * np.exp(-log_risk[:, k - 1].max(initial=0.0))
    return jump_times, jumps
