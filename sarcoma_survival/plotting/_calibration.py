"""Calibration at a horizon: predicted survival vs Kaplan-Meier observed, by risk group."""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from ..metrics import calibration_curve, net_benefit
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
    smooth=False,
    histogram=False,
    n_bootstrap=0,
    random_state=None,
    ax=None,
):
    """Plot a calibration curve at a horizon: predicted vs Kaplan-Meier observed survival.

    Groups and numbers come from :func:`calibration_table`: one point per group at
    (mean predicted, Kaplan-Meier observed) survival, with vertical error bars for the
    confidence interval of the observed value, and the diagonal of perfect calibration.
    ``smooth=True`` adds the smoothed curve of Austin et al. (2020)
    (:func:`sarcoma_survival.metrics.calibration_curve`, drawn on the survival scale) with
    its ICI in the legend, and with ``n_bootstrap`` its percentile bootstrap band;
    ``histogram=True`` the distribution of predicted survival along the bottom.

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
    smooth : bool, default=False
        Add the smoothed calibration curve (needs predicted survival strictly between 0
        and 1 and at least 6 distinct values).
    histogram : bool, default=False
        Add a histogram of the predicted survival along the bottom (tallest bar 10 % of
        the axis).
    n_bootstrap : int, default=0
        With ``smooth=True``, resamples for the band of the smoothed curve (at
        ``conf_level``); 0 draws no band.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstrap.
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
    if smooth:
        curve = calibration_curve(y, survival, time, n_bootstrap=n_bootstrap,
                                  conf_level=conf_level, random_state=random_state)
        observed_risk, predicted_risk = curve[:2]
        ici = float(np.mean(np.abs(observed_risk - predicted_risk)))
        (line,) = ax.plot(1.0 - predicted_risk, 1.0 - observed_risk, linewidth=1.5,
                          label=f"{label + ': ' if label else ''}smoothed (ICI {ici:.3f})")
        if n_bootstrap:
            ax.fill_between(1.0 - predicted_risk, 1.0 - curve[3], 1.0 - curve[2],
                            color=line.get_color(), alpha=0.2, linewidth=0,
                            label=f"{conf_level:.0%} bootstrap band")
    if histogram:
        counts, edges = np.histogram(survival_at(survival, time), bins=50, range=(0, 1))
        ax.bar(edges[:-1], 0.1 * counts / max(counts.max(), 1), width=np.diff(edges),
               align="edge", color="gray", alpha=0.4, label="predicted (histogram)")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="predicted survival", ylabel="observed survival (Kaplan-Meier)",
           title=f"Calibration at {time:g} {time_unit}")
    ax.legend(loc="upper left")
    return ax


def plot_decision_curve(y, risk, time, thresholds=None, *, cause=None, label="model",
                        time_unit="days", ax=None):
    """Decision curve at a horizon: net benefit of the model, treat-all and treat-none.

    The net benefit of treating the patients whose predicted risk reaches each threshold
    (:func:`sarcoma_survival.metrics.net_benefit`, Vickers et al. 2008), against treating
    everyone and treating no one (0). The model is useful where its curve lies above both.

    Parameters
    ----------
    y : structured ndarray
        Observed outcomes of the evaluated patients (competing-risks with ``cause``).
    risk : array-like of shape (n_samples,)
        Predicted probability of the event by ``time`` (for example ``1 -`` predicted
        survival at ``time``).
    time : float
        Horizon, within the follow-up of ``y``.
    thresholds : array-like, default=None
        Threshold probabilities in [0, 1); default 0 to 0.5 by 0.01.
    cause : int, default=None
        Cause of interest of a competing-risks outcome.
    label : str, default="model"
        Legend label of the model's curve (call again with ``ax`` to overlay models; the
        reference curves are drawn once).
    time_unit : str, default="days"
        Unit shown in the title.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.plotting import plot_decision_curve
    >>> y = Surv.from_arrays([True, False, True, False, True, False],
    ...                      [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> ax = plot_decision_curve(y, [0.9, 0.2, 0.6, 0.1, 0.5, 0.3], 3.5, np.arange(0, 0.5, 0.1))
    >>> [line.get_label() for line in ax.get_lines()]
    ['treat none', 'treat all', 'model']
    """
    if thresholds is None:
        thresholds = np.round(np.arange(0.0, 0.5, 0.01), 2)
    thresholds = np.asarray(thresholds, dtype=float)
    model = net_benefit(y, risk, time, thresholds, cause=cause)
    ax = get_axes(ax)
    labels = [line.get_label() for line in ax.get_lines()]
    if "treat all" not in labels:
        treat_all = net_benefit(y, "all", time, thresholds, cause=cause)
        ax.axhline(0.0, color="black", linewidth=1, label="treat none")
        ax.plot(thresholds, treat_all, color="gray", linestyle="--", linewidth=1, label="treat all")
        top = max(np.nanmax(treat_all), np.nanmax(model))
    else:
        top = max(ax.get_ylim()[1], np.nanmax(model))
    ax.plot(thresholds, model, linewidth=1.5, label=label)
    ax.set(xlim=(thresholds.min(), thresholds.max()), ylim=(-0.05, top + 0.02),
           xlabel="threshold probability", ylabel="net benefit",
           title=f"Decision curve at {time:g} {time_unit}")
    ax.legend(loc="upper right")
    return ax
