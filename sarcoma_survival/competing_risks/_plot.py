"""One patient's stacked incidences, and calibration of a predicted incidence by risk group."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..utils import check_cause as _check_cause
from ..utils import check_competing_y
from ._nonparametric import aalen_johansen


def plot_stacked_incidence(times, incidences, *, labels=("distant metastasis", "death without DM"),
                           ax=None, colors=None):
    """Stacked cumulative incidences of one patient (matplotlib).

    The bands are stacked from the bottom: the first cause, then the next one above it;
    what is left above them is the probability of being alive without any event. Because
    the incidences of competing causes add up, the top of the stack never exceeds 1.

    Parameters
    ----------
    times : array-like of shape (n_times,)
        Increasing times (for example days).
    incidences : array-like of shape (n_causes, n_times)
        Cumulative incidence of each cause at ``times`` for the patient, e.g. the rows
        ``CauseSpecificCoxPH(cause=k).predict_cumulative_incidence(x, times)[0]``.
    labels : sequence of str, default=("distant metastasis", "death without DM")
        One per cause.
    ax : matplotlib Axes, optional
        Drawn into; a new figure when None.
    colors : sequence of colors, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sarcoma_survival.competing_risks import plot_stacked_incidence
    >>> ax = plot_stacked_incidence([0, 365, 730], [[0.0, 0.2, 0.3], [0.0, 0.05, 0.1]])
    >>> [float(v) for v in ax.get_ylim()]
    [0.0, 1.0]
    """
    times = np.asarray(times, dtype=float)
    values = np.atleast_2d(np.asarray(incidences, dtype=float))
    if values.shape[1] != times.size or len(labels) != values.shape[0]:
        raise ValueError(
            f"incidences must have shape (len(labels), len(times)) = ({len(labels)}, {times.size}); "
            f"got {values.shape}"
        )
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.sum(axis=0).max() > 1 + 1e-9:
        raise ValueError("incidences must be probabilities whose sum over causes is at most 1")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    ax.stackplot(times, values, labels=list(labels), colors=colors, step="post", alpha=0.8)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlim(times.min(), times.max())
    ax.set_xlabel("time")
    ax.set_ylabel("cumulative incidence (stacked)")
    ax.legend(loc="upper left")
    return ax


def incidence_calibration_table(y_true, incidence, horizon, *, cause=1, n_groups=10):
    """Mean predicted against observed incidence at one horizon, by predicted-risk group.

    Patients are split into ``n_groups`` groups of (nearly) equal size by their
    predicted incidence at ``horizon`` (deciles by default); the observed incidence of a
    group is its Aalen-Johansen estimate at ``horizon``, which accounts for censoring
    and for the competing causes.

    Parameters
    ----------
    y_true : structured ndarray
        Competing-risks outcome (:func:`competing_y`).
    incidence : array-like of shape (n_samples,)
        Predicted incidence of ``cause`` at ``horizon``.
    horizon : float
        Time of the predictions.
    cause : int, default=1
    n_groups : int, default=10

    Returns
    -------
    DataFrame
        One row per group (0 = lowest predicted incidence): ``n``, ``predicted`` (the
        group's mean prediction) and ``observed`` (Aalen-Johansen at ``horizon``).

    Examples
    --------
    >>> from sarcoma_survival.competing_risks import competing_y, incidence_calibration_table
    >>> y = competing_y([1, 0, 2, 1, 0, 1], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> table = incidence_calibration_table(y, [0.9, 0.1, 0.2, 0.8, 0.3, 0.7], 4.5, n_groups=2)
    >>> table["n"].tolist(), table["observed"].round(3).tolist()
    ([3, 3], [0.0, 0.667])
    """
    cause = _check_cause(cause)
    _, time = check_competing_y(y_true, allow_no_event=True)
    values = np.asarray(incidence, dtype=float)
    if values.shape != time.shape or not np.all(np.isfinite(values)):
        raise ValueError(f"incidence must be finite, of shape ({time.size},); got {values.shape}")
    if not isinstance(n_groups, (int, np.integer)) or not 1 <= n_groups <= time.size:
        raise ValueError(f"n_groups must be an integer in [1, {time.size}], got {n_groups!r}")
    order = np.argsort(values, kind="stable")
    rows = []
    for members in np.array_split(order, n_groups):
        grid, cif = aalen_johansen(y_true[members], cause=cause)
        position = np.searchsorted(grid, horizon, side="right") - 1
        rows.append({"n": members.size, "predicted": float(values[members].mean()),
                     "observed": float(cif[position]) if position >= 0 else 0.0})
    return pd.DataFrame(rows, index=pd.RangeIndex(n_groups, name="group"))
