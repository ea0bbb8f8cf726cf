"""External validation report: one self-contained HTML file of a fitted model on a cohort.

:func:`validation_report` (and ``sarcoma-survival report``) gathers the model, the cohort,
discrimination with bootstrap intervals, coefficient tables, calibration and decision curves
at chosen horizons, risk groups, competing-risks incidence, Grad-CAM of image models and a
TRIPOD+AI checklist into one page that needs no network to be read.
"""
from ._report import DEFAULT_HORIZONS, validation_report  # noqa: F401 (DEFAULT_HORIZONS: for the CLI)
from ._tripod import tripod_checklist

__all__ = ["tripod_checklist", "validation_report"]
