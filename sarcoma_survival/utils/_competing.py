"""The competing-risks outcome: a structured array with an integer cause and a time.

Only the outcome type and its checks live here, below ``metrics`` (whose calibration
metrics take a competing outcome with ``cause=``); everything that models competing risks
(censoring Kaplan-Meier, Breslow jumps, Aalen-Johansen, concordance, estimators) lives in
``sarcoma_survival.competing_risks``, which re-exports :func:`competing_y`.
"""
from __future__ import annotations

import numbers

import numpy as np

from .validation import _patient_labels, _two_fields, check_time_values

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


def check_cause(cause):
    """Validate a 1-based cause code (an int >= 1, not a bool) and return it as int."""
    if not isinstance(cause, numbers.Integral) or isinstance(cause, bool) or cause < 1:
        raise ValueError(f"cause must be an integer >= 1, got {cause!r}")
    return int(cause)
