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


def curves_png(curves, times, time_origin=None):
    """Survival curves: the model's (OS, DM-free) on the left, the clinical-only one on the right.

    The time axis says what day 0 is: the OS model's ``time_origin_`` (``"days since
    surgery"``), or that its training cohort did not state one.
    """
    from matplotlib.figure import Figure

    from ..plotting import plot_survival_curve
    from ..utils.validation import time_since_label

    side = "clinical_only" in curves
    fig = Figure(figsize=(10 if side else 5.5, 4))
    axes = fig.subplots(1, 2 if side else 1, squeeze=False)[0]
    for role, fn in curves.items():
        ax = axes[1] if role == "clinical_only" else axes[0]
        plot_survival_curve(fn, horizons=times, label=_LABELS[role], ax=ax)
    axes[0].set_title("model with images" if side else "predicted curves", fontsize=10)
    if side:
        axes[1].set_title("clinical variables only", fontsize=10)
    for ax in axes:
        ax.set_xlabel(time_since_label(time_origin))
        ax.grid(alpha=0.3)
    fig.subplots_adjust(left=0.1 if side else 0.13, right=0.98, bottom=0.13, top=0.91, wspace=0.22)
    return _data_uri(fig)


def gradcam_png(model, X, layer="auto"):
    """Grad-CAM of the image network on the three orthogonal slices through its peak.

    Returns the PNG data URI and the layer used (pass it back to skip the choice).
    """
    from matplotlib.figure import Figure

    from ..explain import gradcam, plot_gradcam

    result = gradcam(model, X, layer=layer)
    volume = np.asarray(result.volumes[0])
    names = ("T1", "T2")[: volume.shape[0]]
    fig = Figure(figsize=(8, 2.7 * volume.shape[0]))
    plot_gradcam(volume, result.maps[0], channel_names=names, fig=fig,
                 title=f"Grad-CAM ({result.layer.rsplit('.', 1)[-1]})")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.86 if volume.shape[0] > 1 else 0.8,
                        wspace=0.03, hspace=0.15)
    return _data_uri(fig), result.layer
