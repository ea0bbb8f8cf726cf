"""Calibration at a horizon: predicted survival vs Kaplan-Meier observed, by risk group."""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from ..utils.validation import check_survival_y
from ._common import get_axes, kaplan_meier, risk_groups, step_value, survival_at


def calibration_table(y, survival, time, *, n_groups=5, conf_level=0.95):
    """Predicted vs observed survival at a horizon, per group of predicted survival.

    Patients are split into ``n_groups`` groups of (nearly) equal size by quantiles of
    their predicted survival probability at ``time``. For each group the table gives the
    mean predicted probability and the Kaplan-Meier estimate at ``time`` of the patients
    of that group, with its log-log confidence interval (Greenwood variance). When
    ``time`` is beyond the last follow-up of a group, its last Kaplan-Meier value is
    carried forward.

    Parameters
    ----------
    y : structured ndarray
        Observed outcomes of the evaluated patients.
    survival : array-like of shape (n_samples,) or sequence of callables
        Predicted survival probability at ``time`` per patient, or the survival
        functions returned by ``estimator.predict_survival_function(X)``.
    time : float
        Horizon (same unit as ``y``).
    n_groups : int, default=5
        Number of groups.
    conf_level : float, default=0.95
        Level of the Kaplan-Meier confidence intervals.

    Returns
    -------
    table : DataFrame
        One row per group (lowest predicted survival first) with columns ``n``,
        ``n_events``, ``predicted``, ``observed``, ``observed_lower``, ``observed_upper``.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.plotting import calibration_table
    >>> y = Surv.from_arrays([True, False, True, False], [3.0, 12.0, 4.0, 15.0])
    >>> table = calibration_table(y, [0.3, 0.9, 0.4, 0.8], 10.0, n_groups=2)
    >>> table[["n", "predicted", "observed"]].round(2).values.tolist()
    [[2.0, 0.35, 0.0], [2.0, 0.85, 1.0]]
    """
    event, obs_time = check_survival_y(y, allow_all_censored=True)
    if not isinstance(n_groups, numbers.Integral) or n_groups < 1:
        raise ValueError(f"n_groups must be a positive integer, got {n_groups!r}")
    pred = survival_at(survival, time)
    if len(pred) != len(event):
        raise ValueError(f"got {len(pred)} predictions for {len(event)} outcomes")
    if n_groups == 1:
        groups = np.zeros(len(pred), dtype=int)
    else:
        groups, _ = risk_groups(pred, n_groups=n_groups)
    rows = []
    for k in range(groups.max() + 1):
        member = groups == k
        km_t, km_p, lower, upper = kaplan_meier(event[member], obs_time[member], conf_level)
        rows.append(
            {
                "n": int(member.sum()),
                "n_events": int(event[member].sum()),
                "predicted": float(pred[member].mean()),
                "observed": float(step_value(km_t, km_p, time)),
                "observed_lower": float(step_value(km_t, lower, time)),
                "observed_upper": float(step_value(km_t, upper, time)),
            }
        )
    table = pd.DataFrame(rows)
    table.index.name = "group"
    return table


def plot_calibration(
    y,
    survival,
    time,
    *,
    n_groups=5,
    conf_level=0.95,
    time_unit="days",
    label=None,
    ax=None,
):
    """Plot a calibration curve at a horizon: predicted vs Kaplan-Meier observed survival.

    Groups and numbers come from :func:`calibration_table`: one point per group at
    (mean predicted, Kaplan-Meier observed) survival, with vertical error bars for the
    confidence interval of the observed value, and the diagonal of perfect calibration.

    Parameters
    ----------
    y : structured ndarray
        Observed outcomes of the evaluated (test) patients.
    survival : array-like of shape (n_samples,) or sequence of callables
        Predicted survival at ``time``, or survival functions from
        ``predict_survival_function``.
    time : float
        Horizon.
    n_groups : int, default=5
        Number of groups (quantiles of predicted survival).
    conf_level : float, default=0.95
        Level of the error bars.
    time_unit : str, default="days"
        Unit shown in the title.
    label : str, optional
        Legend label of the calibration curve (to overlay several models on one Axes).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.

    Returns
    -------
    ax : matplotlib Axes
        The axes, with one point per group (error bar: the Kaplan-Meier interval) and the
        ideal diagonal.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.plotting import plot_calibration
    >>> y = Surv.from_arrays([True, False, True, False], [3.0, 12.0, 4.0, 15.0])
    >>> ax = plot_calibration(y, [0.3, 0.9, 0.4, 0.8], 10.0, n_groups=2, label="model A")
    >>> ax = plot_calibration(y, [0.5, 0.6, 0.5, 0.6], 10.0, n_groups=2, label="model B", ax=ax)
    >>> ax.get_xlabel(), len(ax.containers)
    ('predicted survival', 2)
    """
    table = calibration_table(y, survival, time, n_groups=n_groups, conf_level=conf_level)
    ax = get_axes(ax)
    observed = table["observed"].to_numpy()
    yerr = np.vstack(
        [
            observed - table["observed_lower"].to_numpy(),
            table["observed_upper"].to_numpy() - observed,
        ]
    )
    ax.plot([0, 1], [0, 1], linestyle="--", color="gray", linewidth=1, label="ideal")
    ax.errorbar(
        table["predicted"].to_numpy(),
        table["observed"].to_numpy(),
        yerr=np.clip(yerr, 0, None),
        marker="o",
        capsize=3,
        label=label if label is not None else f"{len(table)} groups",
    )
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="predicted survival", ylabel="observed survival (Kaplan-Meier)",
           title=f"Calibration at {time:g} {time_unit}")
    ax.legend(loc="upper left")
    return ax
