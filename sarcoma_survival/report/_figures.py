"""The report's figures, drawn with :mod:`sarcoma_survival.plotting` and embedded as PNG."""
from __future__ import annotations

import base64
import io

import numpy as np

from ..competing_risks import aalen_johansen, competing_y
from ..plotting import plot_calibration, plot_decision_curve, plot_kaplan_meier_by_risk

#: Resolution of the embedded PNGs.
DPI = 110


def data_uri(fig):
    """A matplotlib figure as a ``data:image/png;base64,...`` URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width=5.2, height=4.2, ncols=1):
    """A figure outside pyplot (no window, no backend state), with ``ncols`` Axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height))
    return fig, fig.subplots(1, ncols)


def calibration_figure(y, survival, horizon, *, n_bootstrap, random_state, label):
    """Calibration plot at one horizon (survival outcome): groups, smoothed curve, histogram."""
    fig, ax = _figure()
    plot_calibration(y, survival, horizon, n_groups=5, label=label, smooth=True, histogram=True,
                     n_bootstrap=n_bootstrap, random_state=random_state, ax=ax)
    return data_uri(fig)


def grouped_calibration_figure(table, horizon, label):
    """Predicted against observed incidence by group (competing outcome)."""
    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], linestyle="--", color="gray", linewidth=1, label="ideal")
    ax.plot(table["predicted"], table["observed"], marker="o", label=label)
    top = float(max(table["predicted"].max(), table["observed"].max(), 0.05)) * 1.1
    ax.set(xlim=(0, min(1, top)), ylim=(0, min(1, top)), xlabel="predicted incidence",
           ylabel="observed incidence (Aalen-Johansen)", title=f"Calibration at {horizon:g} days")
    ax.legend(loc="upper left")
    return data_uri(fig)


def decision_figure(y, risk, horizon, *, cause, label):
    """Decision curve at one horizon."""
    fig, ax = _figure()
    plot_decision_curve(y, risk, horizon, cause=cause, label=label, ax=ax)
    return data_uri(fig)


def km_figure(y, risk, cutoffs, labels):
    """Kaplan-Meier curves by predicted-risk group."""
    fig, ax = _figure(6.5, 4.2)
    plot_kaplan_meier_by_risk(y, risk, cutoffs=cutoffs, labels=labels, ax=ax)
    return data_uri(fig)


def incidence_figure(y, groups, labels, cause):
    """Aalen-Johansen incidence of ``cause`` by predicted-risk group, and of every cause overall."""
    fig, (left, right) = _figure(5.2, 4.2, ncols=2)
    event, time = y[y.dtype.names[0]], y[y.dtype.names[1]]
    for g, name in enumerate(labels):
        member = groups == g
        if not member.any():
            continue
        t, cif = aalen_johansen(competing_y(event[member], time[member]), cause=cause)
        left.step(np.r_[0.0, t], np.r_[0.0, cif], where="post", label=f"{name} (n={int(member.sum())})")
    left.set(xlabel="time (days)", ylabel=f"incidence of cause {cause}", ylim=(0, 1),
             title="By predicted-risk group (Aalen-Johansen)")
    left.legend(loc="upper left")
    for k in sorted(set(int(e) for e in event if e > 0)):
        t, cif = aalen_johansen(y, cause=k)
        right.step(np.r_[0.0, t], np.r_[0.0, cif], where="post", label=f"cause {k}")
    right.set(xlabel="time (days)", ylabel="cumulative incidence", ylim=(0, 1), title="Whole cohort, every cause")
    right.legend(loc="upper left")
    return data_uri(fig)


def gradcam_figure(volume, cam, title):
    """Grad-CAM overlay of one patient."""
    from matplotlib.figure import Figure

    from ..explain import plot_gradcam

    channels = ("T1", "T2")[: np.asarray(volume).shape[0]]
    fig = plot_gradcam(volume, cam, channel_names=channels, title=title,
                       fig=Figure(figsize=(9, 3 * len(channels))))
    return data_uri(fig)
