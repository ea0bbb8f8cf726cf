"""Scoring one fit on a competing-risks outcome (used by ``compare_models``)."""
from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state
from sksurv.util import Surv

from ..utils import check_competing_y, curve_values
from ._metrics import concordance_index_competing, integrated_brier_score_competing

#: Cause whose incidence ``compare_models`` scores on a competing outcome (1 = DM).
CAUSE = 1


def is_competing_model(estimator):
    """True for an estimator that predicts a cumulative incidence (takes a competing y)."""
    steps = getattr(estimator, "steps", None)
    final = steps[-1][1] if steps else estimator
    return callable(getattr(final, "predict_cumulative_incidence", None))


def needs_competing_y(estimator):
    """True for a competing-risks-only estimator: one that cannot be fitted on a survival y.

    The neural estimators take either outcome (``cause=``) and keep a survival function,
    so they are competing models (:func:`is_competing_model`) that do not need one.
    """
    steps = getattr(estimator, "steps", None)
    final = steps[-1][1] if steps else estimator
    return is_competing_model(estimator) and not callable(getattr(final, "predict_survival_function", None))


def row_label(name, outcome, estimator):
    """``"<model> (<outcome>, competing death)"`` or ``"<model> (<outcome>, death censored)"``."""
    where = f"{outcome}, " if outcome is not None else ""
    how = "competing death" if is_competing_model(estimator) else "death censored"
    return f"{name} ({where}{how})"


def censor_competing(y):
    """The survival outcome of cause 1 with every other cause censored."""
    event, time = check_competing_y(y, allow_no_event=True)
    return Surv.from_arrays(event == CAUSE, time)


def _incidence(estimator, X, grid):
    if is_competing_model(estimator):
        return estimator.predict_cumulative_incidence(X, grid)
    if hasattr(estimator, "predict_survival_function"):
        fns = estimator.predict_survival_function(X)
        return 1.0 - np.asarray([curve_values(fn, grid, clip=True) for fn in fns])
    return None


def score_competing_fit(estimator, X_test, y_train, y_test, *, bootstrap, n_bootstraps,
                        random_state, times, n_times):
    """C, bootstrap SD and integrated Brier score of cause 1 on a competing ``y_test``.

    A survival model (trained with death censored) is scored on the same competing
    outcome as a competing-risks model: its ``predict`` by Wolbers' concordance, its
    ``1 - S(t)`` as the predicted incidence in the Brier score.
    """
    risk = np.asarray(estimator.predict(X_test), dtype=float)
    result = {"c_index": concordance_index_competing(y_test, risk, cause=CAUSE)}
    if bootstrap:
        rng = check_random_state(random_state)
        values = []
        for _ in range(n_bootstraps):
            idx = rng.randint(0, risk.size, risk.size)
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                values.append(concordance_index_competing(y_test[idx], risk[idx], cause=CAUSE))
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        result["c_index_sd"] = float(np.std(values, ddof=1)) if values.size > 1 else float("nan")
    pooled = np.concatenate([y_train, y_test])
    if times is None:
        low, high = np.percentile(y_test["time"], [10, 90])
        grid = np.linspace(low, high, n_times)
    else:
        grid = np.asarray(times, dtype=float)
    incidence = _incidence(estimator, X_test, grid)
    result["ibs"] = float("nan")
    if incidence is not None:
        result["ibs"] = integrated_brier_score_competing(
            y_test, np.clip(incidence, 0.0, 1.0), grid, cause=CAUSE, y_train=pooled)
        result["ibs_time_min"], result["ibs_time_max"] = float(grid[0]), float(grid[-1])
    return result
