"""Competing risks: distant metastasis with death as a competing event.

A competing-risks outcome is a structured array with an integer ``event`` (0 =
censored, 1..K = cause) and a float ``time`` (:func:`competing_y`). The models estimate
the cumulative incidence of one cause in the presence of the others; none of them has a
``predict_survival_function`` (the one exception to the toolkit's survival contract):
``predict`` is the linear predictor of the cause (higher = earlier) and
``predict_cumulative_incidence(X, times)`` the incidence. The references are R's
``cmprsk``, ``riskRegression`` and ``pec`` (fixtures in ``tests/fixtures/competing_risks``).

This package sits just above ``metrics`` and below the estimators (``nn``, ``models``,
``datasets``, ``compare``), which import it directly. ``SarculatorFineGray`` lives in
:mod:`sarcoma_survival.models` with the other Sarculator models; the name here is the same
class, resolved on first use.
"""
# The outcome type's checks live in utils (below metrics); re-exported for the importers above.
from ..utils import check_cause, check_competing_y, competing_y, is_competing_y, lazy_exports  # noqa: E402, F401, I001

# Competing-risks machinery for the estimators, the networks, the loaders and compare
# (package internals, outside __all__).
from ._base import CompetingRisksMixin, check_identifiable_columns  # noqa: F401
from ._cause_specific import CauseSpecificCoxPH
from ._fine_gray import FineGrayCoxPH
from ._hazards import breslow_jumps, check_times, incidence_from_cause_hazards, step_values  # noqa: F401
from ._metrics import (
    bootstrap_concordance_competing,
    brier_score_competing,
    concordance_index_competing,
    cumulative_dynamic_auc_competing,
    integrated_brier_score_competing,
    make_competing_risks_scorer,
)
from ._nonparametric import aalen_johansen, censoring_survival, reference_censoring  # noqa: F401
from ._outcome import (  # noqa: F401
    CAUSE,
    CAUSE_CONSTRAINT,
    censor_competing,
    check_competing_fit_y,
    dm_competing_y,
    is_competing_model,
    n_causes,
    needs_competing_y,
    row_label,
)
from ._plot import incidence_calibration_table, plot_stacked_incidence

__getattr__, __dir__ = lazy_exports(__name__, {"SarculatorFineGray": "sarcoma_survival.models"})

__all__ = [
    "CauseSpecificCoxPH",
    "FineGrayCoxPH",
    "SarculatorFineGray",
    "aalen_johansen",
    "bootstrap_concordance_competing",
    "brier_score_competing",
    "competing_y",
    "concordance_index_competing",
    "cumulative_dynamic_auc_competing",
    "incidence_calibration_table",
    "integrated_brier_score_competing",
    "make_competing_risks_scorer",
    "plot_stacked_incidence",
]
