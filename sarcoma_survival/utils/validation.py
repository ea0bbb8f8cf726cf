"""Validation of survival targets, with errors that name the offending patient."""
from __future__ import annotations

import numpy as np
from sksurv.util import check_y_survival


def _patient_labels(X, n):
    index = getattr(X, "index", None)
    if index is not None and len(index) == n:
        return [str(v) for v in index]
    return [f"sample {i}" for i in range(n)]


def _two_fields(y, what):
    """The dtype of a structured ``y`` with two fields (event, time); else a ValueError."""
    dtype = getattr(y, "dtype", None)
    if dtype is None or dtype.names is None or len(dtype.names) != 2:
        raise ValueError(f"y must be {what}; got {type(y).__name__} with dtype {dtype}")
    return dtype


def check_survival_y(y, X=None, *, allow_all_censored=False):
    """Validate a scikit-survival structured array and return ``(event, time)``.

    Parameters
    ----------
    y : structured ndarray
        Survival outcome with a boolean event field and a float time field, as made by
        :func:`sksurv.util.Surv.from_arrays`.
    X : DataFrame or array-like, optional
        The matching features. Its length must equal ``len(y)``; when it is a
        DataFrame, error messages name patients by its index.
    allow_all_censored : bool, default=False
        Accept a ``y`` without any event (only sensible for scoring, not fitting).

    Returns
    -------
    event : ndarray of bool, shape (n_samples,)
    time : ndarray of float64, shape (n_samples,)

    Raises
    ------
    ValueError
        If ``y`` is not a structured survival array, if its length differs from
        ``X``, if a time is NaN, infinite, zero or negative (the message names the
        patients), or if no event is observed.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.utils.validation import check_survival_y
    >>> event, time = check_survival_y(Surv.from_arrays([True, False], [10.0, 20.0]))
    >>> event.tolist(), time.tolist()
    ([True, False], [10.0, 20.0])
    """
    dtype = _two_fields(y, "a structured array with an event (bool) and a time (float) field, "
                           "for example sksurv.util.Surv.from_arrays(event, time)")
    if X is not None and len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} entries")
    event_field, time_field = dtype.names
    time_raw = np.asarray(y[time_field], dtype=float)
    labels = None
    bad = ~np.isfinite(time_raw)
    if bad.any():
        labels = _patient_labels(X, len(y))
        names = ", ".join(labels[i] for i in np.flatnonzero(bad)[:10])
        raise ValueError(f"survival time is NaN or infinite for: {names}")
    bad = time_raw <= 0
    if bad.any():
        labels = _patient_labels(X, len(y))
        names = ", ".join(
            f"{labels[i]} ({time_raw[i]:g})" for i in np.flatnonzero(bad)[:10]
        )
        raise ValueError(f"survival times must be > 0; zero or negative for: {names}")
    if not np.issubdtype(y[event_field].dtype, np.bool_):
        raise ValueError(
            f"the event field {event_field!r} of y must be boolean, "
            f"got dtype {y[event_field].dtype}"
        )
    event = np.asarray(y[event_field], dtype=bool)
    if not event.any() and not allow_all_censored:
        raise ValueError("y has no observed event: all samples are censored")
    if event.any():
        # scikit-survival's own structural checks, once ours have passed.
        check_y_survival(y)
    return event, time_raw
