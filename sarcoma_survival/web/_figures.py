"""PNG figures of one answer (data URIs): survival curves and the Grad-CAM overlay.

Drawn on :class:`matplotlib.figure.Figure` objects with the Agg canvas, never through
pyplot's global state, so concurrent requests cannot draw into each other's figures.
"""
from __future__ import annotations

import base64
import io

import numpy as np

_LABELS = {"os": "overall survival", "dm": "DM-free survival", "clinical_only": "clinical-only model (OS)"}


def _data_uri(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    # No bbox_inches="tight": it draws the figure twice (a third of the answer time).
    fig.savefig(buffer, format="png", dpi=80)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _time_axis_label(time_origin):
    """``time_since_label`` of the models' time origin; several (models fitted on cohorts with
    different day 0s) are named together."""
    from ..utils.validation import time_since_label

    origins = str(time_origin or "not stated").split(" / ")
    if len(origins) == 1:
        return time_since_label(origins[0])
    return "days since " + " / ".join(time_since_label(o).removeprefix("days since ") for o in origins)


def curves_png(curves, times, *, time_origin="not stated"):
    """Survival curves: the model's (OS, DM-free) on the left, the clinical-only one on the right.

    ``curves`` maps a role to ``(fn, low, high)``: the survival function and, where the model
    gives one, its interval at ``times`` (drawn as a bar at each time). The values are in the
    page's table, so the curves carry a legend and markers, not text labels that would overlap.
    The time axis says what day 0 is (the models' ``time_origin_``, from their cards), or that
    their training cohort did not state one.
    """
    from matplotlib.figure import Figure

    from ..utils import curve_values

    side = "clinical_only" in curves
    fig = Figure(figsize=(10 if side else 5.5, 4))
    axes = fig.subplots(1, 2 if side else 1, squeeze=False)[0]
    times = np.asarray(times, dtype=float)
    for role, (fn, low, high) in curves.items():
        ax = axes[1] if role == "clinical_only" else axes[0]
        x = np.asarray(fn.x, dtype=float)
        y = np.asarray(fn(x), dtype=float)
        xs, ys = (np.r_[0.0, x], np.r_[1.0, y]) if x[0] > 0 else (x, y)
        line, = ax.step(xs, ys, where="post", label=_LABELS[role])
        values = curve_values(fn, times)
        ax.plot(times, values, "o", color=line.get_color(), markersize=5)
        if low is not None:
            ax.errorbar(times, values, yerr=[values - np.asarray(low), np.asarray(high) - values], fmt="none",
                        ecolor=line.get_color(), elinewidth=1.5, capsize=4)
    axes[0].set_title("model with images" if side else "predicted survival", fontsize=10)
    if side:
        axes[1].set_title("clinical variables only", fontsize=10)
    for ax in axes:
        ax.set(ylim=(0, 1.02), xlim=(0, None), ylabel="predicted survival probability")
        ax.set_xlabel(_time_axis_label(time_origin))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(loc="lower left", fontsize=9)
    fig.subplots_adjust(left=0.1 if side else 0.13, right=0.98, bottom=0.13, top=0.91, wspace=0.22)
    return _data_uri(fig)


def gradcam_png(model, X, layer="auto"):
    """Grad-CAM of the image network on the three orthogonal slices through its peak.

    Returns the PNG data URI and the layer used (pass it back to skip the choice).
    """
    from matplotlib.figure import Figure

    from ..explain import gradcam, plot_gradcam, tumour_on_grid

    result = gradcam(model, X, layer=layer)
    volume = np.asarray(result.volumes[0])
    names = ("T1", "T2")[: volume.shape[0]]
    mask = spacing = None
    if hasattr(result.volumes, "to_image") and "mask" in X.columns:
        mask = tumour_on_grid(result.volumes, 0, X.iloc[0]["mask"], X.iloc[0]["t1"], patient="patient")
        spacing = float(min(result.volumes.geometry(0)["spacing"]))
    fig = Figure(figsize=(8.8, 2.7 * volume.shape[0] + 0.3))
    plot_gradcam(volume, result.maps[0], mask=mask, spacing_mm=spacing, channel_names=names, fig=fig,
                 title=f"Grad-CAM ({result.layer.rsplit('.', 1)[-1]})")
    return _data_uri(fig), result.layer
