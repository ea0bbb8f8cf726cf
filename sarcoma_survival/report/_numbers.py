"""The report's numbers: cohort summary, discrimination, calibration at each horizon."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ..metrics import (
    bootstrap_concordance,
    brier_score,
    calibration_in_the_large,
    calibration_slope,
    concordance_index_competing,
    cumulative_dynamic_auc,
    d_calibration,
    integrated_calibration_index,
)
from ..utils import check_competing_y
from ..utils.validation import check_survival_y


def outcome_arrays(y, competing):
    """``(event, time)``: event as bool (survival) or integer cause codes (competing)."""
    if competing:
        return check_competing_y(y, allow_no_event=True)
    return check_survival_y(y, allow_all_censored=True)


def guarded(func, *args, **kwargs):
    """``(value, note)``: the value of ``func``, or ``nan`` and the one-line reason it has none.

    A metric that is undefined on this cohort (a warning, or a refusal such as no event by a
    horizon) does not stop the report: its cell says why.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = func(*args, **kwargs)
        except (ValueError, np.linalg.LinAlgError) as exc:
            return np.nan, str(exc).splitlines()[0]
    notes = list(dict.fromkeys(str(w.message).splitlines()[0] for w in caught
                               if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))))
    if len(notes) > 2:  # one per threshold of a decision curve, say: the first and how many more
        notes = [notes[0], f"and {len(notes) - 1} similar warning(s)"]
    return value, "; ".join(notes)


def _median_follow_up(event, time):
    """Median follow-up by reverse Kaplan-Meier (censoring as the event), ``nan`` if not reached."""
    from sksurv.nonparametric import kaplan_meier_estimator

    censored = ~np.asarray(event, dtype=bool)
    if not censored.any():
        return np.nan
    t, s = kaplan_meier_estimator(censored, time)
    below = np.flatnonzero(s <= 0.5)
    return float(t[below[0]]) if below.size else np.nan


def cohort_summary(X, y, competing):
    """Patients, events (per cause), follow-up and the missing values of each column.

    Returns
    -------
    summary : dict
        ``n_patients``, ``events`` (dict cause -> count; ``1`` for a survival outcome),
        ``median_follow_up`` (reverse Kaplan-Meier), ``max_follow_up``, ``median_time``.
    missing : DataFrame
        One row per column: ``missing`` (count) and ``percent``.
    """
    event, time = outcome_arrays(y, competing)
    codes = event.astype(int)
    events = {int(k): int((codes == k).sum()) for k in sorted(set(codes[codes > 0].tolist()))}
    summary = {
        "n_patients": int(time.size),
        "events": events or {1: 0},
        "median_follow_up": _median_follow_up(codes > 0, time),
        "max_follow_up": float(time.max()),
        "median_time": float(np.median(time)),
    }
    counts = X.isna().sum()
    missing = pd.DataFrame({"missing": counts.astype(int), "percent": 100.0 * counts / max(len(X), 1)})
    missing.index.name = "column"
    return summary, missing


def _competing_bootstrap(y, risk, *, cause, tau, n_bootstraps, random_state):
    """Wolbers' C on resampled patients (fixed predictions): percentile interval and how many undefined."""
    rng = check_random_state(random_state)
    values = []
    n = len(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(n_bootstraps):
            rows = rng.randint(0, n, n)
            try:
                values.append(concordance_index_competing(y[rows], risk[rows], cause=cause, tau=tau))
            except ValueError:
                values.append(np.nan)
    values = np.asarray(values, dtype=float)
    defined = values[np.isfinite(values)]
    if defined.size < 2:
        return np.nan, np.nan, n_bootstraps - defined.size
    low, high = np.quantile(defined, [0.025, 0.975])
    return float(low), float(high), n_bootstraps - defined.size


def discrimination(y, risk, horizons, survival_at, incidence_at, *, competing, cause, n_bootstraps,
                   random_state):
    """One row per measure: ``measure``, ``estimate``, ``ci_low``, ``ci_high``, ``note``.

    ``survival_at`` (survival outcome) or ``incidence_at`` (competing) is the
    (n_patients, n_horizons) matrix of predictions at ``horizons``.
    """
    rows = []
    tau = horizons[-1]
    if competing:
        c, note = guarded(concordance_index_competing, y, risk, cause=cause, tau=tau)
        low, high, bad = _competing_bootstrap(y, risk, cause=cause, tau=tau, n_bootstraps=n_bootstraps,
                                              random_state=random_state)
        if bad:
            note = "; ".join(filter(None, [note, f"{bad} of {n_bootstraps} resamples undefined, left out"]))
        rows.append((f"Wolbers' C (cause {cause}, up to {tau:g} days)", c, low, high, note))
        from ..competing_risks import brier_score_competing

        for j, h in enumerate(horizons):
            value, note = guarded(brier_score_competing, y, incidence_at[:, [j]], [h], cause=cause)
            rows.append((f"Brier score at {h:g} days (cause {cause})", float(np.ravel(value)[0]), np.nan,
                         np.nan, note or "no interval computed"))
        return pd.DataFrame(rows, columns=["measure", "estimate", "ci_low", "ci_high", "note"])
    for kind, label, extra in (("harrell", "Harrell's C", {}),
                               ("uno", f"Uno's C (up to {tau:g} days)", {"tau": tau})):
        res, note = guarded(bootstrap_concordance, y, risk, n_bootstraps=n_bootstraps, kind=kind,
                            random_state=random_state, **extra)
        if isinstance(res, float):
            rows.append((label, np.nan, np.nan, np.nan, note))
        else:
            rows.append((label, res.cindex, res.ci_low, res.ci_high, note))
    auc, note = guarded(cumulative_dynamic_auc, y, risk, horizons)
    values = np.full(len(horizons), np.nan) if isinstance(auc, float) else np.ravel(auc[0])
    for h, v in zip(horizons, values):
        rows.append((f"time-dependent AUC at {h:g} days", float(v), np.nan, np.nan, note or "no interval computed"))
    brier, note = guarded(brier_score, y, survival_at, horizons)
    values = np.full(len(horizons), np.nan) if isinstance(brier, float) else np.ravel(brier)
    for h, v in zip(horizons, values):
        rows.append((f"Brier score at {h:g} days", float(v), np.nan, np.nan, note or "no interval computed"))
    return pd.DataFrame(rows, columns=["measure", "estimate", "ci_low", "ci_high", "note"])


def calibration(y, survival_at, incidence_at, horizons, *, competing, cause, functions=None):
    """One row per horizon: ``horizon``, ``observed_expected``, ``slope``, ``ici``, ``e50``, ``e90``,
    ``note``; and the D-calibration ``(statistic, p_value, note)`` of the whole curve
    (survival outcome with survival functions only, else ``None``)."""
    rows = []
    for j, h in enumerate(horizons):
        notes = []
        if competing:
            oe, note = guarded(calibration_in_the_large, y, 1.0 - incidence_at[:, j], h, cause=cause)
            notes.append(note)
            slope = ici = e50 = e90 = np.nan
            notes.append("slope and ICI are computed for survival outcomes only")
        else:
            s = survival_at[:, j]
            oe, note = guarded(calibration_in_the_large, y, s, h)
            notes.append(note)
            slope, note = guarded(calibration_slope, y, s, h)
            notes.append(note)
            res, note = guarded(integrated_calibration_index, y, s, h)
            notes.append(note)
            ici, e50, e90 = (np.nan,) * 3 if isinstance(res, float) else res
        rows.append({"horizon": h, "observed_expected": oe, "slope": slope, "ici": ici, "e50": e50,
                     "e90": e90, "note": "; ".join(dict.fromkeys(n for n in notes if n))})
    table = pd.DataFrame(rows)
    dcal = None
    if not competing and functions is not None:
        value, note = guarded(d_calibration, y, functions)
        dcal = (np.nan, np.nan, note) if isinstance(value, float) else (*value, note)
    return table, dcal
