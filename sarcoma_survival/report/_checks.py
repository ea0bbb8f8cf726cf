"""The report's refusals: each a one-line error that names the column, horizon or model."""
from __future__ import annotations

import numbers

import numpy as np


def check_model(model, competing, what="the model"):
    """Refuse a model that cannot give the report's predictions for this outcome."""
    survival = callable(getattr(model, "predict_survival_function", None))
    incidence = callable(getattr(model, "predict_cumulative_incidence", None))
    name = type(model).__name__
    if not callable(getattr(model, "predict", None)) or not (survival or incidence):
        raise TypeError(f"{what} is a {name}, not a survival model of sarcoma_survival (it has no "
                        "predict_survival_function or predict_cumulative_incidence)")
    if not survival and not competing:
        raise ValueError(f"{what} is a {name}, a competing-risks model: report it on a competing "
                         "outcome (CLI: --outcome dm-competing; Python: y=cohort.y_dm_competing)")


def check_columns(model, X, source="the cohort"):
    """Refuse a cohort table that lacks columns the model reads."""
    wanted = getattr(model, "feature_names_in_", None)
    if wanted is None:
        return
    missing = [str(c) for c in wanted if c not in X.columns]
    if missing:
        raise ValueError(f"{source} lacks the model's column(s) {', '.join(missing)} "
                         f"({type(model).__name__} reads {', '.join(map(str, wanted))})")


def check_horizons(horizons, time, fn=None, *, time_unit="days"):
    """Horizons as increasing floats, each within the cohort's (and the model's) follow-up.

    ``time`` are the cohort's observed times; ``fn`` one of the model's predicted survival
    functions, whose domain ends at the model's training follow-up.
    """
    if isinstance(horizons, numbers.Real):
        horizons = [horizons]
    values = []
    for h in horizons:
        if isinstance(h, bool) or not isinstance(h, numbers.Real) or not np.isfinite(h) or h <= 0:
            raise ValueError(f"horizons must be positive numbers of {time_unit}, got {h!r}")
        values.append(float(h))
    if not values:
        raise ValueError("horizons must name at least one time")
    values = sorted(set(values))
    last = float(np.max(time))
    for h in values:
        if h >= last:
            raise ValueError(f"horizon {h:g} {time_unit} is beyond the cohort's follow-up (last observed "
                             f"time {last:g} {time_unit}); choose horizons below it")
    domain = getattr(fn, "domain", None)
    if domain is not None and domain[1] is not None and values[-1] > float(domain[1]):
        raise ValueError(f"horizon {values[-1]:g} {time_unit} is beyond the model's training follow-up "
                         f"({float(domain[1]):g} {time_unit}); its survival there is not a prediction")
    return values
