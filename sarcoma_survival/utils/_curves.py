"""Evaluating a predicted survival (or incidence) function at given times."""
from __future__ import annotations

import numpy as np


def curve_values(fn, times, *, clip=False):
    """Values of the step function ``fn`` at ``times``, always as a 1-D float array.

    scikit-survival's :class:`~sksurv.functions.StepFunction` returns a scalar, not an
    array of one, when it is called with a single time (even ``[365]``); this helper gives
    every caller one value per time, however many times there are.

    Parameters
    ----------
    fn : callable
        A function of time, such as an item of ``predict_survival_function(X)``.
    times : float or array-like of float
    clip : bool, default=False
        Evaluate at times clipped to ``fn.domain`` (the last value holds beyond it).
        Callers that clip must have refused times beyond the training follow-up first.

    Returns
    -------
    ndarray of shape (n_times,)

    Examples
    --------
    >>> from sksurv.functions import StepFunction
    >>> fn = StepFunction(np.array([1.0, 2.0]), np.array([0.9, 0.5]))
    >>> curve_values(fn, [2.0]).tolist(), curve_values(fn, 1.0).tolist()
    ([0.5], [0.9])
    """
    times = np.atleast_1d(np.asarray(times, dtype=float)).ravel()
    if clip and getattr(fn, "domain", None) is not None:
        times = np.clip(times, fn.domain[0], fn.domain[1])
    return np.asarray(fn(times), dtype=float).reshape(times.shape)


def check_follow_up_times(fn, times, *, what="the model"):
    """Refuse ``times`` beyond the end of the predicted function ``fn`` (its training follow-up).

    A survival function is known up to the last training time; a value later than that is
    not a prediction but the last one repeated. The web service and ``sarcoma-survival
    predict --times`` both refuse such times with this message.

    Parameters
    ----------
    fn : callable
        An item of ``predict_survival_function(X)`` (a StepFunction with ``domain``).
    times : array-like of float
    what : str, default="the model"
        Named in the message (for example ``"the os model"``).

    Raises
    ------
    ValueError
        ``"times: 9999 days is beyond the model's training follow-up (3000 days)"``.

    Examples
    --------
    >>> from sksurv.functions import StepFunction
    >>> fn = StepFunction(np.array([1.0, 30.0]), np.array([0.9, 0.5]))
    >>> check_follow_up_times(fn, [10, 40])
    Traceback (most recent call last):
    ...
    ValueError: times: 40 days is beyond the model's training follow-up (30 days)
    """
    domain = getattr(fn, "domain", None)
    end = float(domain[1] if domain is not None and domain[1] is not None else fn.x[-1])
    late = [float(t) for t in np.atleast_1d(times) if t > end]
    if late:
        raise ValueError(f"times: {late[0]:g} days is beyond {what}'s training follow-up ({end:g} days)")
