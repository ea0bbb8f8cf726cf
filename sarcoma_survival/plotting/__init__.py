"""Figures of the paper: time-dependent ROC, calibration, Kaplan-Meier by risk group,
gradient-blending weights and a patient's survival curve (matplotlib).

Every function takes ``ax=None`` (a new figure is made when None), returns the Axes and
never calls ``plt.show()``.
"""
from ._blending import blending_weights_frame, plot_blending_weights
from ._calibration import calibration_table, plot_calibration, plot_decision_curve
from ._common import risk_groups
from ._curve import plot_survival_curve
from ._km import plot_kaplan_meier_by_risk
from ._roc import plot_time_dependent_roc, time_dependent_roc_curve

__all__ = [
    "blending_weights_frame",
    "calibration_table",
    "plot_blending_weights",
    "plot_calibration",
    "plot_decision_curve",
    "plot_kaplan_meier_by_risk",
    "plot_survival_curve",
    "plot_time_dependent_roc",
    "risk_groups",
    "time_dependent_roc_curve",
]
