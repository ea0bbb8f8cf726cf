"""Competing risks: distant metastasis with death as a competing event.

A competing-risks outcome is a structured array with an integer ``event`` (0 =
censored, 1..K = cause) and a float ``time`` (:func:`competing_y`). The models estimate
the cumulative incidence of one cause in the presence of the others; none of them has a
``predict_survival_function`` (the one exception to the toolkit's survival contract):
``predict`` is the linear predictor of the cause (higher = earlier) and
``predict_cumulative_incidence(X, times)`` the incidence. The references are R's
``cmprsk``, ``riskRegression`` and ``pec`` (fixtures in ``tests/fixtures/competing_risks``).
"""
from ..utils import competing_y
from ._cause_specific import CauseSpecificCoxPH

# For compare's evaluation routine and the demo (package internals, outside __all__).
from ._evaluate import (  # noqa: E402, F401
    censor_competing,
    is_competing_model,
    needs_competing_y,
    row_label,
    score_competing_fit,
)
from ._fine_gray import FineGrayCoxPH
from ._metrics import (
    brier_score_competing,
    concordance_index_competing,
    cumulative_dynamic_auc_competing,
    integrated_brier_score_competing,
    make_competing_risks_scorer,
)
from ._nonparametric import aalen_johansen
from ._plot import incidence_calibration_table, plot_stacked_incidence
from ._sarculator import SarculatorFineGray

__all__ = [
    "CauseSpecificCoxPH",
    "FineGrayCoxPH",
    "SarculatorFineGray",
    "aalen_johansen",
    "brier_score_competing",
    "competing_y",
    "concordance_index_competing",
    "cumulative_dynamic_auc_competing",
    "incidence_calibration_table",
    "integrated_brier_score_competing",
    "make_competing_risks_scorer",
    "plot_stacked_incidence",
]
