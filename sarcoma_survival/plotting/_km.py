"""Kaplan-Meier curves by predicted risk group, with a log-rank test."""
from __future__ import annotations

import numpy as np
from sksurv.compare import compare_survival

from ..utils import fill_doc
from ..utils.validation import check_survival_y
from ._common import (
    TIME_AXES_DOC,
    get_axes,
    group_names,
    kaplan_meier,
    risk_groups,
    time_axis_label,
)


@fill_doc(time_axes=TIME_AXES_DOC)
def plot_kaplan_meier_by_risk(
    y,
    risk,
    *,
    n_groups=2,
    cutoffs=None,
    labels=None,
    conf_level=0.95,
    show_ci=True,
    show_censors=True,
    time_unit="days",
    time_origin=None,
    ax=None,
):
    """Kaplan-Meier curves of patients grouped by predicted risk, with a log-rank p-value.

    Patients are split at quantiles of ``risk`` (median by default) or at ``cutoffs``
    (use quantiles of the *training* risks to avoid choosing the groups on the test
    set). The p-value of the log-rank test of equal survival across groups
    (:func:`sksurv.compare.compare_survival`) is written on the plot.

    Parameters
    ----------
    y : structured ndarray
        Observed outcomes.
    risk : array-like of shape (n_samples,)
        Predicted risk scores (higher = earlier event).
    n_groups : int, default=2
        Number of equally sized groups; ignored when ``cutoffs`` is given.
    cutoffs : array-like, optional
        Increasing risk thresholds; ``len(cutoffs) + 1`` groups.
    labels : list of str, optional
        Group names, lowest risk first ("low risk", "high risk", ... by default).
    conf_level : float, default=0.95
        Level of the log-log confidence bands.
    show_ci : bool, default=True
        Shade the confidence bands.
    show_censors : bool, default=True
        Mark censoring times with "+".
    time_unit : str, default="days"
        Unit of the times of ``y``, shown in the x-axis label.
    <time_axes>

    Returns
    -------
    ax : matplotlib Axes
        One labeled step line per group; the log-rank result is the Axes text
        ``"log-rank p = ..."``.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.plotting import plot_kaplan_meier_by_risk
    >>> y = Surv.from_arrays([True, True, False, True, False, False], [2., 3., 4., 9., 10., 12.])
    >>> ax = plot_kaplan_meier_by_risk(y, [0.9, 0.8, 0.7, 0.2, 0.1, 0.3])
    >>> [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    ['low risk (n=3)', 'high risk (n=3)']
    """
    event, time = check_survival_y(y, allow_all_censored=True)
    risk = np.asarray(risk, dtype=float)
    if risk.shape != time.shape:
        raise ValueError(
            f"risk must be 1-D with one value per patient ({len(time)}), got shape {risk.shape}"
        )
    groups, _ = risk_groups(risk, n_groups=n_groups, cutoffs=cutoffs)
    k = int(groups.max()) + 1
    names = group_names(k) if labels is None else list(labels)
    if len(names) != k:
        raise ValueError(f"got {len(names)} labels for {k} risk groups")
    ax = get_axes(ax)
    for g in range(k):
        member = groups == g
        t, p, lower, upper = kaplan_meier(event[member], time[member], conf_level)
        t0 = np.r_[0.0, t]
        (line,) = ax.step(t0, np.r_[1.0, p], where="post", label=f"{names[g]} (n={member.sum()})")
        color = line.get_color()
        if show_ci:
            ax.fill_between(
                t0, np.r_[1.0, lower], np.r_[1.0, upper], step="post", alpha=0.2, color=color
            )
        if show_censors:
            cens_t = time[member & ~event]
            cens_p = p[np.searchsorted(t, cens_t, side="right") - 1] if len(cens_t) else []
            ax.plot(cens_t, cens_p, linestyle="none", marker="+", color=color, label="_censored")
    if event.any():
        _, pvalue = compare_survival(y, groups)
        text = f"log-rank p = {pvalue:.3g}"
    else:
        text = "log-rank p = n/a (no event)"
    ax.text(0.03, 0.05, text, transform=ax.transAxes, ha="left", va="bottom")
    ax.set(ylim=(0, 1.02), xlim=(0, None), xlabel=time_axis_label(time_unit, time_origin),
           ylabel="survival probability")
    ax.legend(loc="upper right")
    return ax
