"""One patient's predicted survival curve."""
from __future__ import annotations

import numpy as np

from ..utils import fill_doc
from ._common import TIME_AXES_DOC, get_axes, step_value, time_axis_label


def _as_arrays(survival, times):
    if times is None:
        if not (hasattr(survival, "x") and hasattr(survival, "y")):
            raise TypeError(
                "survival must be a StepFunction (from predict_survival_function) or an "
                "array of probabilities given together with times="
            )
        x = np.asarray(survival.x, dtype=float)
        y = np.asarray(survival(survival.x), dtype=float)
    else:
        x = np.asarray(times, dtype=float)
        y = np.asarray(survival, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"times and survival must be 1-D of equal length, got {x.shape} and {y.shape}"
        )
    if np.any(np.diff(x) <= 0):
        raise ValueError("times must be strictly increasing")
    return x, y


@fill_doc(time_axes=TIME_AXES_DOC)
def plot_survival_curve(
    survival,
    times=None,
    *,
    horizons=None,
    label=None,
    time_unit="days",
    time_origin=None,
    ax=None,
):
    """Plot one patient's predicted survival curve as a step function.

    Parameters
    ----------
    survival : StepFunction or array-like
        A :class:`sksurv.functions.StepFunction` (one element of
        ``estimator.predict_survival_function(X)``), or survival probabilities at
        ``times``.
    times : array-like, optional
        Time points of ``survival`` when it is an array.
    horizons : array-like of float, optional
        Times at which to mark and annotate the predicted survival, e.g. ``[365, 1825]``.
    label : str, optional
        Legend label (e.g. the patient id).
    time_unit : str, default="days"
        Unit of ``times`` and ``horizons``, shown in the x-axis label.
    <time_axes>

    Returns
    -------
    ax : matplotlib Axes
        The axes, with the survival step curve and, for each horizon, a marker and its
        ``S(t)`` annotation.

    Examples
    --------
    >>> from sarcoma_survival.plotting import plot_survival_curve
    >>> ax = plot_survival_curve([0.9, 0.7, 0.5], times=[100, 400, 900], horizons=[365])
    >>> ax.texts[0].get_text()
    'S(365) = 0.90'
    """
    x, y = _as_arrays(survival, times)
    if ((y < 0) | (y > 1)).any():
        raise ValueError("survival probabilities must lie in [0, 1]")
    ax = get_axes(ax)
    start = 0.0 if x[0] > 0 else x[0]
    xs = np.r_[start, x] if x[0] > 0 else x
    ys = np.r_[1.0, y] if x[0] > 0 else y
    ax.step(xs, ys, where="post", label=label if label is not None else "_survival")
    for h in np.atleast_1d(horizons) if horizons is not None else []:
        value = float(step_value(x, y, h))
        ax.plot([h], [value], marker="o", color="black", label="_horizon")
        ax.annotate(
            f"S({h:g}) = {value:.2f}", (h, value), textcoords="offset points", xytext=(5, 5)
        )
    ax.set(ylim=(0, 1.02), xlim=(min(0.0, start), None), xlabel=time_axis_label(time_unit, time_origin),
           ylabel="predicted survival probability")
    if label is not None:
        ax.legend(loc="upper right")
    return ax
