"""Time-dependent (cumulative/dynamic) ROC curves, the paper's Fig. 2."""
from __future__ import annotations

import numpy as np
from sksurv.metrics import cumulative_dynamic_auc
from sksurv.nonparametric import CensoringDistributionEstimator

from ..utils.validation import check_survival_y
from ._common import get_axes


def time_dependent_roc_curve(survival_train, survival_test, estimate, time):
    """Cumulative/dynamic ROC curve at one horizon, with IPCW weights.

    At horizon ``t`` a *case* is a test patient with an event at or before ``t`` and a
    *control* one still event-free after ``t``. For every threshold ``c`` (the distinct
    predicted risks, highest first) the true-positive rate is the share of cases with
    risk ``>= c``, each case weighted by the inverse probability of remaining uncensored
    at its event time (Kaplan-Meier of the censoring times of ``survival_train``), and
    the false-positive rate is the unweighted share of controls with risk ``>= c``.
    These are the weights of :func:`sksurv.metrics.cumulative_dynamic_auc`, so the
    trapezoidal area under the returned curve equals its AUC.

    Parameters
    ----------
    survival_train : structured ndarray
        Outcomes used to estimate the censoring distribution (the training set).
    survival_test : structured ndarray
        Outcomes of the patients whose risks are in ``estimate``.
    estimate : array-like of shape (n_samples,)
        Predicted risk scores (higher = earlier event), as from ``predict``.
    time : float
        Horizon, inside the follow-up of ``survival_test``.

    Returns
    -------
    fpr : ndarray
        False-positive rates, starting at 0 and ending at 1.
    tpr : ndarray
        True-positive rates, starting at 0 and ending at 1.
    thresholds : ndarray
        Risk thresholds; the first one is ``+inf`` (nobody called positive).

    Examples
    --------
    >>> import numpy as np
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.plotting import time_dependent_roc_curve
    >>> y = Surv.from_arrays([True, True, False, True, False], [5.0, 8.0, 9.0, 12.0, 20.0])
    >>> fpr, tpr, thr = time_dependent_roc_curve(y, y, [0.9, 0.7, 0.1, 0.3, 0.2], 10.0)
    >>> float(np.trapezoid(tpr, fpr))
    1.0
    """
    test_event, test_time = check_survival_y(survival_test, allow_all_censored=True)
    risk = np.asarray(estimate, dtype=float)
    if risk.shape != test_time.shape:
        raise ValueError(
            f"estimate must be 1-D with one risk per test sample ({len(test_time)}), "
            f"got shape {risk.shape}"
        )
    if not test_time.min() <= time < test_time.max():
        raise ValueError(
            f"horizon {time:g} is outside the follow-up of the test data "
            f"[{test_time.min():g}; {test_time.max():g}["
        )
    train_event, train_time = check_survival_y(survival_train)
    late = test_event & (test_time > train_time.max())
    if late.any():
        raise ValueError(
            f"{late.sum()} test event time(s) exceed the last training time "
            f"{train_time.max():g}: the censoring distribution estimated from survival_train "
            "is undefined there; use outcomes covering the whole follow-up as survival_train"
        )
    cens = CensoringDistributionEstimator().fit(survival_train)
    weight = cens.predict_ipcw(survival_test)
    is_case = test_event & (test_time <= time)
    is_control = test_time > time
    if not is_case.any():
        raise ValueError(f"no test patient has an event at or before the horizon {time:g}")
    if not is_control.any():
        raise ValueError(f"no test patient is event-free after the horizon {time:g}")
    thresholds = np.unique(risk)[::-1]
    # For each threshold (descending), who is called positive: risk >= threshold.
    order = np.argsort(-risk, kind="stable")
    sorted_risk = risk[order]
    case_w = np.cumsum(np.where(is_case, weight, 0.0)[order])
    control_n = np.cumsum(is_control[order])
    last = np.searchsorted(-sorted_risk, -thresholds, side="right") - 1
    tpr = np.r_[0.0, case_w[last] / case_w[-1]]
    fpr = np.r_[0.0, control_n[last] / control_n[-1]]
    return fpr, tpr, np.r_[np.inf, thresholds]


def plot_time_dependent_roc(
    survival_train,
    survival_test,
    estimate,
    times,
    *,
    time_unit="days",
    labels=None,
    ax=None,
):
    """Plot cumulative/dynamic ROC curves at one or more horizons (paper Fig. 2).

    Each curve comes from :func:`time_dependent_roc_curve`; the AUC in the legend is
    computed by :func:`sksurv.metrics.cumulative_dynamic_auc` with the same data.

    Parameters
    ----------
    survival_train : structured ndarray
        Training outcomes (estimate the censoring distribution for the IPC weights).
    survival_test : structured ndarray
        Outcomes of the evaluated patients.
    estimate : array-like of shape (n_samples,)
        Predicted risk scores of the evaluated patients (higher = earlier event).
    times : float or array-like of float
        Horizons, each inside the test follow-up, for example ``[365, 730, 1825]``.
    time_unit : str, default="days"
        Unit of ``times`` shown in the legend.
    labels : list of str, optional
        Legend labels, one per horizon; ``"{t} {time_unit} (AUC = ...)"`` by default.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.

    Returns
    -------
    ax : matplotlib Axes
        The axes, with one line per horizon (labeled) and the chance diagonal.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.plotting import plot_time_dependent_roc
    >>> y = Surv.from_arrays([True, True, False, True, False, True], [5., 8., 9., 12., 20., 15.])
    >>> ax = plot_time_dependent_roc(y, y, [0.9, 0.7, 0.1, 0.3, 0.2, 0.4], [10.0, 14.0])
    >>> [line.get_label() for line in ax.get_lines()][0]
    '10 days (AUC = 1.000)'
    """
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if labels is not None and len(labels) != len(times):
        raise ValueError(f"got {len(labels)} labels for {len(times)} horizons")
    risk = np.asarray(estimate, dtype=float)
    curves = [time_dependent_roc_curve(survival_train, survival_test, risk, t) for t in times]
    aucs = np.array(
        [cumulative_dynamic_auc(survival_train, survival_test, risk, [t])[0][0] for t in times]
    )
    ax = get_axes(ax)
    for k, t in enumerate(times):
        fpr, tpr, _ = curves[k]
        label = labels[k] if labels is not None else f"{t:g} {time_unit} (AUC = {aucs[k]:.3f})"
        ax.plot(fpr, tpr, drawstyle="default", label=label)
    ax.plot([0, 1], [0, 1], linestyle="--", color="gray", linewidth=1, label="_chance")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="1 - specificity (false-positive rate)",
           ylabel="sensitivity (true-positive rate)", title="Time-dependent ROC")
    ax.legend(loc="lower right")
    return ax
