"""Survival metrics with the ``metric(y_true, prediction)`` convention and the shared scorer.

Every function takes the observed outcome first, as a scikit-survival structured array
(``sksurv.util.Surv.from_arrays(event, time)``), then the prediction. Risk scores follow
scikit-survival's convention: **a higher risk means an earlier event**, which is what
``estimator.predict(X)`` returns for every estimator of this toolkit.

Harrell's and Uno's concordance indices are scikit-survival's
(:func:`sksurv.metrics.concordance_index_censored` and
:func:`sksurv.metrics.concordance_index_ipcw`), called after the checks below; only the
bootstrap has a path of its own (every resample scored at once, about 100 times faster
than one library call per resample in ``benchmarks/bench_bootstrap.py``, and pinned to
those two functions by the tests). The time-dependent AUC and the Brier scores also delegate to
scikit-survival after checking the inputs.

A metric that is undefined on the data it is given (no event, no comparable pair) returns
``nan`` and emits :class:`UndefinedConcordanceWarning` instead of raising, so that one
unlucky cross-validation fold does not abort a whole ``cross_validate`` run.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from scipy.stats import chi2 as _chi2
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils import Bunch, check_random_state
from sksurv.metrics import brier_score as _sksurv_brier_score
from sksurv.metrics import concordance_index_censored as _sksurv_concordance_index_censored
from sksurv.metrics import concordance_index_ipcw as _sksurv_concordance_index_ipcw
from sksurv.metrics import cumulative_dynamic_auc as _sksurv_cumulative_dynamic_auc
from sksurv.nonparametric import CensoringDistributionEstimator

from .utils import (
    censor_at,
    check_cause,
    check_competing_y,
    cox_efron_fit,
    curve_values,
    efron_survival_at,
    fill_doc,
    incidence_at,
    is_competing_y,
    lazy_exports,
    rcs_basis,
    rcs_knots,
)
from .utils.validation import as_survival_array, check_survival_y, check_time_values

__all__ = [
    "UndefinedConcordanceWarning",
    "UndefinedSurvivalMetricWarning",
    "concordance_index",
    "concordance_index_uno",
    "cumulative_dynamic_auc",
    "brier_score",
    "integrated_brier_score",
    "calibration_in_the_large",
    "calibration_slope",
    "calibration_curve",
    "integrated_calibration_index",
    "d_calibration",
    "net_benefit",
    "bootstrap_concordance",
    "make_concordance_scorer",
    "concordance_scorer",
]

# Event rows compared with all samples at once by the bootstrap (memory ~ chunk * n).
_CHUNK = 512


class UndefinedSurvivalMetricWarning(UndefinedMetricWarning):
    """A survival metric is undefined on the given data and ``nan`` was returned.

    Subclass of :class:`sklearn.exceptions.UndefinedMetricWarning`, so filters set for
    scikit-learn's warning also apply.

    Examples
    --------
    >>> import warnings
    >>> from sarcoma_survival.metrics import UndefinedSurvivalMetricWarning
    >>> warnings.simplefilter("ignore", UndefinedSurvivalMetricWarning)
    """


class UndefinedConcordanceWarning(UndefinedSurvivalMetricWarning):
    """A concordance index or AUC is undefined (no event or no comparable pair).

    Emitted, together with a ``nan`` result, for example when a cross-validation fold
    holds only censored patients.

    Examples
    --------
    >>> import warnings
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.metrics import UndefinedConcordanceWarning, concordance_index
    >>> y = Surv.from_arrays([False, False], [5.0, 9.0])
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", UndefinedConcordanceWarning)
    ...     concordance_index(y, [0.3, 0.1])
    nan
    """


def _check_risk(risk, n, name="risk"):
    risk = np.asarray(risk, dtype=float)
    if risk.ndim == 2 and risk.shape[1] == 1:
        risk = risk[:, 0]
    if risk.ndim != 1:
        raise ValueError(f"{name} must be 1-D with one value per sample, got shape {risk.shape}")
    if risk.shape[0] != n:
        raise ValueError(f"y_true has {n} samples but {name} has {risk.shape[0]}")
    bad = ~np.isfinite(risk)
    if bad.any():
        where = ", ".join(f"sample {i}" for i in np.flatnonzero(bad)[:10])
        raise ValueError(f"{name} is NaN or infinite for: {where}")
    return risk


def _undefined(message, category=UndefinedConcordanceWarning):
    warnings.warn(message, category, stacklevel=3)
    return float("nan")


def _has_comparable_pair(event, time, weights):
    """True when some event with a positive weight has a sample still at risk after it.

    A pair (i, j) is comparable when i has an event and j was still at risk after t_i
    (t_j > t_i, or t_j == t_i with j censored), as in scikit-survival.
    """
    use = event & (weights > 0)
    if not use.any():
        return False
    first = time[use].min()
    return bool(np.any(time > first) or np.any((time == first) & ~event))


def concordance_index(y_true, risk, *, tied_tol=1e-8):
    """Harrell's concordance index of a risk score.

    The fraction of comparable pairs whose order of risk agrees with their order of
    events; pairs with tied risk count one half. Equal to the first value returned by
    :func:`sksurv.metrics.concordance_index_censored`.

    Parameters
    ----------
    y_true : structured ndarray of shape (n_samples,)
        Observed outcome (boolean event field, float time field).
    risk : array-like of shape (n_samples,)
        Predicted risk, higher = earlier event (``estimator.predict(X)``).
    tied_tol : float, default=1e-8
        Risks closer than this are tied.

    Returns
    -------
    float
        The C-index in [0, 1], or ``nan`` with :class:`UndefinedConcordanceWarning` when
        ``y_true`` has no event or no comparable pair.

    See Also
    --------
    concordance_index_uno : Censoring-weighted, truncated alternative.
    bootstrap_concordance : Its bootstrap SD and confidence interval.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.metrics import concordance_index
    >>> y = Surv.from_arrays([True, True, False, True], [100.0, 200.0, 300.0, 400.0])
    >>> concordance_index(y, [4.0, 1.0, 3.0, 2.0])  # 3 of 5 comparable pairs concordant
    0.6
    """
    event, time = check_survival_y(y_true, allow_all_censored=True)
    risk = _check_risk(risk, len(time))
    if not event.any():
        return _undefined(
            "Harrell's C is undefined: y_true has no event (all censored); returning nan"
        )
    if not _has_comparable_pair(event, time, np.ones_like(time)):
        return _undefined("Harrell's C is undefined: no comparable pair in y_true; returning nan")
    return float(_sksurv_concordance_index_censored(event, time, risk, tied_tol=tied_tol)[0])


def _censoring_weights(y_reference, event, time, tau):
    """Uno's pair weights ``1 / G(t_i)^2`` for the events before ``tau`` (0 elsewhere).

    ``G`` is the Kaplan-Meier estimate of the censoring distribution of ``y_reference``,
    as in :func:`sksurv.metrics.concordance_index_ipcw`; the checks give the errors a
    hint (``tau``) that scikit-survival's messages lack.
    """
    ref_event, ref_time = check_survival_y(y_reference, allow_all_censored=True)
    use = event & (time < tau) if tau is not None else event.copy()
    weights = np.zeros_like(time)
    if not use.any():
        return weights
    too_late = use & (time > ref_time.max())
    if too_late.any():
        raise ValueError(
            f"{int(too_late.sum())} event time(s) of y_true (up to {time[too_late].max():g}) "
            f"exceed the largest time of y_train ({ref_time.max():g}), where the censoring "
            f"distribution is unknown; pass tau <= {ref_time.max():g}"
        )
    if not ref_event.any():
        raise ValueError("y_train has no event: its censoring distribution cannot be used")
    censoring = CensoringDistributionEstimator().fit(as_survival_array(y_reference))
    g = censoring.predict_proba(time[use])
    if np.any(g <= 0):
        raise ValueError(
            "the censoring survival function of y_train is zero at an event time of y_true; "
            "pass a smaller tau"
        )
    weights[use] = 1.0 / np.square(g)
    return weights


def concordance_index_uno(y_true, risk, *, y_train=None, tau=None, tied_tol=1e-8):
    """Uno's inverse-probability-of-censoring weighted concordance index.

    Harrell's pairs are weighted by ``1 / G(t_i)^2``, where ``G`` is the Kaplan-Meier
    estimate of the censoring distribution fitted on ``y_train``; only events before
    ``tau`` count. Equal to the first value returned by
    :func:`sksurv.metrics.concordance_index_ipcw` called as
    ``concordance_index_ipcw(y_train, y_true, risk, tau)`` (note our outcome-first order).

    Parameters
    ----------
    y_true : structured ndarray of shape (n_samples,)
        Observed outcome of the evaluated patients.
    risk : array-like of shape (n_samples,)
        Predicted risk, higher = earlier event.
    y_train : structured ndarray, default=None
        Outcome used to estimate the censoring distribution, normally the training set's.
        ``None`` uses ``y_true`` itself (what :func:`make_concordance_scorer` does, since a
        scorer only sees the evaluated fold).
    tau : float, default=None
        Truncation time: only events strictly before ``tau`` are counted. Choose it so that
        patients are still under follow-up at ``tau``; required when ``y_true`` has event
        times beyond the largest time of ``y_train``.
    tied_tol : float, default=1e-8
        Risks closer than this are tied.

    Returns
    -------
    float
        Uno's C in [0, 1], or ``nan`` with :class:`UndefinedConcordanceWarning` when no
        event before ``tau`` or no comparable pair exists.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.metrics import concordance_index_uno
    >>> y = Surv.from_arrays([True, False, True, True, False], [1.0, 2.0, 3.0, 4.0, 5.0])
    >>> round(concordance_index_uno(y, [5.0, 1.0, 3.0, 2.0, 0.0]), 4)
    1.0
    """
    event, time = check_survival_y(y_true, allow_all_censored=True)
    risk = _check_risk(risk, len(time))
    if tau is not None and not (isinstance(tau, numbers.Real) and np.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be a positive finite number or None, got {tau!r}")
    if not event.any():
        return _undefined("Uno's C is undefined: y_true has no event (all censored); returning nan")
    reference = y_true if y_train is None else y_train
    weights = _censoring_weights(reference, event, time, tau)
    if not weights.any():
        return _undefined(f"Uno's C is undefined: no event before tau={tau}; returning nan")
    if not _has_comparable_pair(event, time, weights):
        return _undefined("Uno's C is undefined: no comparable pair in y_true; returning nan")
    return float(
        _sksurv_concordance_index_ipcw(reference, y_true, risk, tau=tau, tied_tol=tied_tol)[0]
    )


def _check_follow_up(reference, values, what, fix):
    """Refuse ``values`` (times) where the censoring distribution of ``reference`` is unknown.

    scikit-survival's IPCW weights need the censoring survival function ``G`` of the
    training outcome to be positive at these times; beyond its follow-up it fails with
    "censoring survival function is zero" or "time must be smaller than largest observed
    time point". The same condition as Uno's C, with a message that says what to do.
    """
    ref_event, ref_time = check_survival_y(reference, allow_all_censored=True)
    limit = ref_time.max()
    values = np.asarray(values, dtype=float)
    known = values <= limit
    if known.any() and ref_event.any():
        g = np.zeros(values.shape)
        g[known] = CensoringDistributionEstimator().fit(as_survival_array(reference)).predict_proba(values[known])
        known &= g > 0
    elif not ref_event.any():
        known[:] = True  # no event: Kaplan-Meier of censoring is not used below its last time
    bad = ~known
    if bad.any():
        zero = "" if (values[bad] > limit).all() else ", and its censoring survival is zero at its last censoring"
        raise ValueError(
            f"{what}: {int(bad.sum())} time(s) (from {values[bad].min():g}) exceed the largest time "
            f"of y_train ({limit:g}){zero}, where the censoring distribution is unknown; {fix}"
        )


def _check_times(time, times, what):
    times = np.atleast_1d(np.asarray(check_time_values(times, what="times"), dtype=float))
    if times.ndim != 1 or times.size == 0 or not np.all(np.isfinite(times)):
        raise ValueError(f"times must be a non-empty 1-D array of finite values, got {times!r}")
    if times.size > 1 and np.any(np.diff(times) <= 0):
        raise ValueError("times must be strictly increasing")
    if times.min() < time.min() or times.max() >= time.max():
        raise ValueError(
            f"{what}: all times must lie in [{time.min():g}, {time.max():g}), the follow-up "
            f"range of y_true; got [{times.min():g}, {times.max():g}]"
        )
    return times


def cumulative_dynamic_auc(y_true, risk, times, *, y_train=None, tied_tol=1e-8):
    """Cumulative/dynamic time-dependent AUC of a risk score (Uno 2007; Hung & Chiang 2010).

    At each time ``t``, cases are patients with an event by ``t`` (weighted by inverse
    censoring probability) and controls those still event-free after ``t``. Equal to
    :func:`sksurv.metrics.cumulative_dynamic_auc` called as
    ``cumulative_dynamic_auc(y_train, y_true, risk, times)``.

    Parameters
    ----------
    y_true : structured ndarray of shape (n_samples,)
        Observed outcome of the evaluated patients.
    risk : array-like of shape (n_samples,) or (n_samples, n_times)
        Risk, higher = earlier event; 2-D for time-dependent risks (for example a
        cumulative hazard evaluated at ``times``).
    times : array-like of shape (n_times,)
        Strictly increasing times within the follow-up of ``y_true``.
    y_train : structured ndarray, default=None
        Outcome used for the censoring distribution; ``None`` uses ``y_true``.
    tied_tol : float, default=1e-8
        Risks closer than this are tied.

    Returns
    -------
    auc : ndarray of shape (n_times,)
        AUC at each time.
    mean_auc : float
        AUC averaged over ``times``, weighted by the Kaplan-Meier estimate of ``y_true``.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.metrics import cumulative_dynamic_auc
    >>> y = Surv.from_arrays([True, False, True, True, False], [1.0, 2.0, 3.0, 4.0, 5.0])
    >>> auc, mean_auc = cumulative_dynamic_auc(y, [5.0, 1.0, 3.0, 2.0, 0.0], [1.5, 3.5])
    >>> auc.round(3).tolist()
    [1.0, 1.0]
    """
    event, time = check_survival_y(y_true, allow_all_censored=True)
    risk = np.asarray(risk, dtype=float)
    if risk.ndim == 1:
        _check_risk(risk, len(time))
    elif risk.ndim != 2 or risk.shape[0] != len(time) or not np.all(np.isfinite(risk)):
        raise ValueError(
            f"risk must be finite, of shape ({len(time)},) or ({len(time)}, n_times), "
            f"got shape {risk.shape}"
        )
    times = _check_times(time, times, "cumulative_dynamic_auc")
    if risk.ndim == 2 and risk.shape[1] != times.size:
        raise ValueError(f"risk has {risk.shape[1]} columns but {times.size} times were given")
    if not event.any():
        _undefined("time-dependent AUC is undefined: y_true has no event; returning nan")
        return np.full(times.size, np.nan), float("nan")
    no_case = np.array([not np.any(event & (time <= t)) for t in times])
    if no_case.any():
        raise ValueError(
            f"no event at or before time(s) {times[no_case].tolist()}: the AUC has no case there; "
            "choose later times"
        )
    reference = y_true if y_train is None else y_train
    _check_follow_up(
        reference, time[event], "cumulative_dynamic_auc: event times of y_true",
        "censor y_true where y_train's follow-up ends (event=False, time=that limit) or "
        "estimate the censoring distribution on a y_train with longer follow-up",
    )
    auc, mean_auc = _sksurv_cumulative_dynamic_auc(
        as_survival_array(reference), as_survival_array(y_true), risk, times, tied_tol=tied_tol
    )
    return auc, float(mean_auc)


def probability_matrix(values, n, times, what, *, shape_hint=""):
    """``values`` as an (n, len(times)) float array of probabilities, else a ValueError.

    A 1-D array is read as one column when there is one time. ``what`` names the quantity in
    the messages (``"survival"``, ``"incidence"``).
    """
    values = np.asarray(values, dtype=float)
    if values.ndim == 1 and times.size == 1:
        values = values[:, None]
    if values.shape != (n, times.size):
        raise ValueError(
            f"{what} must have shape ({n}, {times.size}) (samples x times){shape_hint}; "
            f"got shape {values.shape}"
        )
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
        raise ValueError(f"{what} probabilities must be finite and within [0, 1]")
    return values


def _survival_matrix(survival, times, n):
    if not (isinstance(survival, np.ndarray) and survival.dtype != object):
        survival = list(survival)
        if survival and callable(survival[0]):
            survival = [curve_values(fn, times) for fn in survival]
    return probability_matrix(
        survival, n, times, "survival", shape_hint=f" or be a sequence of {n} survival functions"
    )


def brier_score(y_true, survival, times, *, y_train=None):
    """Time-dependent Brier score of predicted survival probabilities (Graf et al. 1999).

    Equal to the scores returned by :func:`sksurv.metrics.brier_score` called as
    ``brier_score(y_train, y_true, survival, times)``.

    Parameters
    ----------
    y_true : structured ndarray of shape (n_samples,)
        Observed outcome of the evaluated patients (at least one event).
    survival : array-like of shape (n_samples, n_times) or sequence of callables
        Survival probabilities at ``times``, or the step functions returned by
        ``estimator.predict_survival_function(X)`` (evaluated at ``times`` here).
    times : array-like of shape (n_times,)
        Strictly increasing times within the follow-up of ``y_true``.
    y_train : structured ndarray, default=None
        Outcome used for the censoring distribution; ``None`` uses ``y_true``.

    Returns
    -------
    ndarray of shape (n_times,)
        The Brier score at each time (lower is better).

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.metrics import brier_score
    >>> y = Surv.from_arrays([True, False, True], [1.0, 2.0, 3.0])
    >>> brier_score(y, [[0.0], [1.0], [1.0]], [1.5]).tolist()
    [0.0]
    """
    event, time = check_survival_y(y_true, allow_all_censored=True)
    times = _check_times(time, times, "brier_score")
    values = _survival_matrix(survival, times, len(time))
    if not event.any():
        _undefined(
            "the IPCW Brier score is undefined: y_true has no event; returning nan",
            UndefinedSurvivalMetricWarning,
        )
        return np.full(times.size, np.nan)
    reference = y_true if y_train is None else y_train
    _, ref_time = check_survival_y(reference, allow_all_censored=True)
    _check_follow_up(
        reference, times, "brier_score: times",
        f"choose times at which y_train is still followed (below {ref_time.max():g})",
    )
    try:
        _, scores = _sksurv_brier_score(
            as_survival_array(reference), as_survival_array(y_true), values, times
        )
    except ValueError as exc:
        if "largest observed time" not in str(exc):
            raise
        _check_follow_up(
            reference, time, "brier_score: times of y_true",
            "censor y_true where y_train's follow-up ends (event=False, time=that limit)",
        )
        raise
    return scores


def integrated_brier_score(y_true, survival, times, *, y_train=None):
    """Integrated Brier score: the Brier score averaged over ``times`` (trapezoidal rule).

    Equal to :func:`sksurv.metrics.integrated_brier_score` called as
    ``integrated_brier_score(y_train, y_true, survival, times)``.

    Parameters
    ----------
    y_true : structured ndarray of shape (n_samples,)
        Observed outcome of the evaluated patients.
    survival : array-like of shape (n_samples, n_times) or sequence of callables
        Survival probabilities at ``times`` or ``estimator.predict_survival_function(X)``.
    times : array-like of shape (n_times,)
        At least two strictly increasing times within the follow-up of ``y_true``.
    y_train : structured ndarray, default=None
        Outcome used for the censoring distribution; ``None`` uses ``y_true``.

    Returns
    -------
    float
        The integrated Brier score (lower is better; 0.25 for a constant 0.5 prediction).

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.metrics import integrated_brier_score
    >>> y = Surv.from_arrays([True, False, True], [1.0, 2.0, 3.0])
    >>> integrated_brier_score(y, [[0.5, 0.5]] * 3, [1.0, 2.5])
    0.25
    """
    times_arr = np.atleast_1d(np.asarray(times, dtype=float))
    if times_arr.size < 2:
        raise ValueError("integrated_brier_score needs at least two times")
    scores = brier_score(y_true, survival, times_arr, y_train=y_train)
    if np.isnan(scores).any():
        return float("nan")
    return float(np.trapezoid(scores, times_arr) / (times_arr[-1] - times_arr[0]))


# --- Calibration at a horizon and decision curves (issue 27) --------------------------------


def _calibration_outcome(y_true, cause, what="this metric"):
    """``(event codes, time)`` of a survival outcome, or of a competing one when ``cause``."""
    if cause is None:
        if is_competing_y(y_true):
            raise ValueError(
                f"{what}: y_true is a competing-risks outcome (integer cause codes); pass "
                "cause= to calibration_in_the_large or net_benefit, or a survival y_true "
                "(Surv.from_arrays) here"
            )
        event, time = check_survival_y(y_true, allow_all_censored=True)
        return event.astype(int), time
    check_cause(cause)
    return check_competing_y(y_true, allow_no_event=True)


def _horizon(time, horizon, what):
    if not isinstance(horizon, numbers.Real) or isinstance(horizon, bool):
        raise ValueError(f"{what}: time must be a number (the horizon), got {horizon!r}")
    return float(_check_times(time, [horizon], what)[0])


def _survival_at(survival, horizon, n):
    """Predicted survival of each patient at ``horizon`` as an (n,) array in [0, 1]."""
    return _survival_matrix(survival, np.array([horizon]), n)[:, 0]


def _cloglog(survival, what):
    """``log(-log S)``: the complementary log-log of the predicted risk ``1 - S``."""
    bad = (survival <= 0) | (survival >= 1)
    if bad.any():
        raise ValueError(
            f"{what}: the predicted survival is 0 or 1 for {int(bad.sum())} patient(s) "
            f"(first: sample {int(np.flatnonzero(bad)[0])}); the complementary log-log of the "
            "risk needs probabilities strictly between 0 and 1: choose another horizon, or clip "
            "the survival yourself (np.clip(s, 1e-6, 1 - 1e-6)) and say so when you report it"
        )
    return np.log(-np.log(survival))


def calibration_in_the_large(y_true, survival, time, *, cause=None):
    """Calibration-in-the-large at a horizon: observed over expected risk (O/E).

    The observed risk is the Kaplan-Meier estimate ``1 - S_KM(time)`` of ``y_true`` (for a
    competing outcome, the Aalen-Johansen incidence of ``cause``); the expected risk is the
    mean predicted risk ``mean(1 - survival)``. 1 is perfect; above 1 the model
    under-predicts the risk, below 1 it over-predicts (McLernon et al. 2023, Ann Intern Med;
    Riley et al. 2024, BMJ).

    Parameters
    ----------
    y_true : structured ndarray of shape (n_samples,)
        Observed outcome; with ``cause``, a competing-risks outcome
        (:func:`sarcoma_survival.competing_risks.competing_y`).
    survival : array-like of shape (n_samples,) or sequence of callables
        Predicted survival at ``time``, or ``estimator.predict_survival_function(X)``
        (evaluated at ``time`` here). With ``cause``: one minus the predicted cumulative
        incidence of ``cause`` at ``time``.
    time : float
        The horizon, within the follow-up of ``y_true``.
    cause : int, default=None
        Competing-risks cause whose incidence is compared.

    Returns
    -------
    float
        The O/E ratio; ``nan`` with :class:`UndefinedSurvivalMetricWarning` when every
        predicted risk is 0.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.metrics import calibration_in_the_large
    >>> y = Surv.from_arrays([True, False, True, False], [1.0, 2.0, 3.0, 4.0])
    >>> calibration_in_the_large(y, [0.5, 0.5, 0.5, 0.5], 2.5)  # observed 1/4, expected 1/2
    0.5
    """
    event, time_ = _calibration_outcome(y_true, cause, "calibration_in_the_large")
    horizon = _horizon(time_, time, "calibration_in_the_large")
    surv = _survival_at(survival, horizon, time_.size)
    expected = float(np.mean(1.0 - surv))
    observed = incidence_at(event, time_, horizon, 1 if cause is None else cause)
    if expected == 0:
        return _undefined("calibration-in-the-large is undefined: every predicted risk is 0; "
                          "returning nan", UndefinedSurvivalMetricWarning)
    return observed / expected


#: The docstring entries of the arguments of the smoothed calibration metrics.
_HORIZON_PARAMETERS = """    y_true : structured ndarray of shape (n_samples,)
        Observed outcome.
    survival : array-like of shape (n_samples,) or sequence of callables
        Predicted survival at ``time`` (strictly between 0 and 1), or
        ``estimator.predict_survival_function(X)``.
    time : float
        The horizon, within the follow-up of ``y_true``.
"""


@fill_doc(horizon_parameters=_HORIZON_PARAMETERS)
def calibration_slope(y_true, survival, time):
    """Calibration slope at a horizon: Cox regression of the outcome on cll(predicted risk).

    The outcome, censored at ``time``, is regressed (Cox, Efron's ties) on the complementary
    log-log of the predicted risk, ``log(-log S(time))``; for a proportional-hazards model
    this is the slope of its linear predictor (Austin et al. 2020; McLernon et al. 2023).
    1 is perfect; below 1 the predictions are too extreme (over-fitting), above 1 too
    moderate. Equal to R's ``coef(coxph(Surv(pmin(T, t), d * (T <= t)) ~ cll))`` (tested).

    Parameters
    ----------
    <horizon_parameters>

    Returns
    -------
    float
        The slope; ``nan`` with :class:`UndefinedSurvivalMetricWarning` when no event
        occurs by ``time``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.metrics import calibration_slope
    >>> x = np.linspace(-2, 2, 2000)
    >>> t = np.random.default_rng(2).exponential(np.exp(-x))  # hazard exp(x)
    >>> y = Surv.from_arrays(t < 3, np.minimum(t, 3))
    >>> round(calibration_slope(y, np.exp(-np.exp(x)), 1.0), 1)  # the true survival at 1
    1.0
    >>> round(calibration_slope(y, np.exp(-np.exp(2 * x)), 1.0), 1)  # too extreme
    0.5
    """
    event, time_ = _calibration_outcome(y_true, None, "calibration_slope")
    horizon = _horizon(time_, time, "calibration_slope")
    cll = _cloglog(_survival_at(survival, horizon, time_.size), "calibration_slope")
    event_t, time_t = censor_at(event, time_, horizon)
    if not event_t.any():
        return _undefined(f"the calibration slope is undefined: no event by time {horizon:g}; "
                          "returning nan", UndefinedSurvivalMetricWarning)
    if np.ptp(cll) == 0:
        raise ValueError("calibration_slope: every patient has the same predicted survival at "
                         "time; the slope needs predictions that differ")
    beta, _ = cox_efron_fit(cll[:, None], event_t, time_t, what="calibration_slope")
    return float(beta[0])


@fill_doc(horizon_parameters=_HORIZON_PARAMETERS)
def calibration_curve(y_true, survival, time, *, n_knots=3, n_bootstrap=0, conf_level=0.95,
                      random_state=None):
    """Smoothed calibration curve at a horizon (Austin, Harrell & van Klaveren 2020).

    The outcome, censored at ``time``, is regressed (Cox, Efron's ties) on a restricted
    cubic spline with ``n_knots`` knots of the complementary log-log of the predicted risk;
    the smoothed observed risk of each patient is ``1 -`` the survival at ``time`` that this
    model gives. This is the restricted-cubic-spline method of Austin et al. (their
    alternative, ``polspline::hare``, is an adaptive fit). It equals R's
    ``coxph(Surv(...) ~ rcspline.eval(cll, nk = 3, inclx = TRUE))`` with ``survfit`` at
    ``time`` to 1e-6 (tested on GBSG).

    Parameters
    ----------
    <horizon_parameters>
    n_knots : int, default=3
        Knots of the spline (3 to 7), placed as by R's ``Hmisc::rcspline.eval``.
    n_bootstrap : int, default=0
        With a positive number, also return a percentile bootstrap band: patients are
        resampled, the smoothing model refitted (knots kept) and the observed risk of every
        patient predicted again; resamples without an event by ``time``, or whose fit
        does not converge, are skipped.
    conf_level : float, default=0.95
        Level of the band.
    random_state : int, RandomState instance or None, default=None
        Seeds the resampling.

    Returns
    -------
    observed : ndarray of shape (n_samples,)
        Smoothed observed risk by ``time`` of each patient, ordered by predicted risk.
    predicted : ndarray of shape (n_samples,)
        Predicted risk ``1 - survival``, ascending.
    lower, upper : ndarray of shape (n_samples,)
        Only when ``n_bootstrap > 0``: the band of ``observed``.

    See Also
    --------
    integrated_calibration_index : Summaries of ``|predicted - observed|``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.metrics import calibration_curve
    >>> rng = np.random.default_rng(0)
    >>> lp = rng.normal(size=300)
    >>> y = Surv.from_arrays(np.ones(300, bool), rng.exponential(np.exp(-lp)))
    >>> observed, predicted = calibration_curve(y, np.exp(-np.exp(lp)), 1.0)
    >>> bool(np.max(np.abs(observed - predicted)) < 0.1)
    True
    """
    if not isinstance(n_bootstrap, numbers.Integral) or isinstance(n_bootstrap, bool) \
            or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be an integer >= 0, got {n_bootstrap!r}")
    if not (isinstance(conf_level, numbers.Real) and 0 < conf_level < 1):
        raise ValueError(f"conf_level must be a number strictly between 0 and 1, got {conf_level!r}")
    observed, predicted, fit = _smoothed_calibration(y_true, survival, time, n_knots,
                                                     "calibration_curve")
    order = np.argsort(predicted, kind="stable")
    if n_bootstrap == 0:
        return observed[order], predicted[order]
    basis, event_t, time_t, horizon = fit
    rng = check_random_state(random_state)
    curves = []
    for _ in range(n_bootstrap):
        rows = rng.randint(0, time_t.size, time_t.size)
        if not event_t[rows].any():
            continue
        try:
            beta, means = cox_efron_fit(basis[rows], event_t[rows], time_t[rows])
        except ValueError:  # a resample whose events the predictions order perfectly
            continue
        curves.append(1.0 - efron_survival_at(basis[rows], beta, means, event_t[rows],
                                              time_t[rows], horizon, Z_new=basis))
    if not curves:
        raise ValueError("calibration_curve: no bootstrap resample had an event by time; "
                         "choose a later horizon")
    tail = 50 * (1 - conf_level)
    lower, upper = np.percentile(np.asarray(curves), [tail, 100 - tail], axis=0)
    return observed[order], predicted[order], lower[order], upper[order]


def _smoothed_calibration(y_true, survival, time, n_knots, what):
    if not isinstance(n_knots, numbers.Integral) or isinstance(n_knots, bool) or not 3 <= n_knots <= 7:
        raise ValueError(f"{what}: n_knots must be an integer from 3 to 7, got {n_knots!r}")
    event, time_ = _calibration_outcome(y_true, None, what)
    horizon = _horizon(time_, time, what)
    surv = _survival_at(survival, horizon, time_.size)
    cll = _cloglog(surv, what)
    if np.unique(cll).size < n_knots + 3:
        raise ValueError(
            f"{what}: the predicted survival takes {np.unique(cll).size} distinct values; a "
            f"{n_knots}-knot spline needs at least {n_knots + 3}: pass fewer n_knots or "
            "predictions that vary between patients"
        )
    event_t, time_t = censor_at(event, time_, horizon)
    if not event_t.any():
        raise ValueError(f"{what}: no event by time {horizon:g}, so the observed risk is 0 "
                         "everywhere; choose a later horizon")
    basis = rcs_basis(cll, rcs_knots(cll, n_knots))
    beta, means = cox_efron_fit(basis, event_t, time_t, what=what)
    observed = 1.0 - efron_survival_at(basis, beta, means, event_t, time_t, horizon)
    return observed, 1.0 - surv, (basis, event_t, time_t, horizon)


@fill_doc(horizon_parameters=_HORIZON_PARAMETERS)
def integrated_calibration_index(y_true, survival, time, *, n_knots=3):
    """Integrated calibration index, E50 and E90 at a horizon (Austin et al. 2020).

    The mean, median and 90th percentile over patients of ``|predicted - observed|``,
    where ``observed`` is the smoothed observed risk of :func:`calibration_curve`.
    0 is perfect; each is on the scale of the risk.

    Parameters
    ----------
    <horizon_parameters>
    n_knots : int, default=3
        Knots of the smoothing spline (3 to 7).

    Returns
    -------
    ici : float
        Mean absolute difference.
    e50 : float
        Median absolute difference.
    e90 : float
        90th percentile of the absolute difference (R's ``quantile`` type 7).

    Examples
    --------
    >>> import numpy as np
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.metrics import integrated_calibration_index
    >>> x = np.random.default_rng(1).normal(size=400)
    >>> t = np.random.default_rng(2).exponential(np.exp(-x))  # hazard exp(x)
    >>> y = Surv.from_arrays(np.ones(400, bool), t)
    >>> true_ici = integrated_calibration_index(y, np.exp(-np.exp(x)), 1.0)[0]
    >>> extreme_ici = integrated_calibration_index(y, np.exp(-np.exp(2 * x)), 1.0)[0]
    >>> bool(true_ici < 0.05 < extreme_ici)
    True
    """
    observed, predicted, _ = _smoothed_calibration(y_true, survival, time, n_knots,
                                                   "integrated_calibration_index")
    err = np.abs(predicted - observed)
    return float(err.mean()), float(np.median(err)), float(np.quantile(err, 0.9))


def _survival_at_own_time(survival_functions, time):
    """``S_i(T_i)`` of each patient from its survival function (clipped to its domain)."""
    if isinstance(survival_functions, np.ndarray) and survival_functions.dtype != object:
        raise ValueError(
            "survival_functions must be the sequence of survival functions returned by "
            "predict_survival_function(X) (return_array=False), not an array of probabilities"
        )
    functions = list(survival_functions)
    if len(functions) != time.size:
        raise ValueError(f"y_true has {time.size} samples but survival_functions has {len(functions)}")
    if not all(callable(fn) for fn in functions):
        raise ValueError("survival_functions must hold callables: pass "
                         "estimator.predict_survival_function(X)")
    values = np.empty(time.size)
    for i, (fn, t) in enumerate(zip(functions, time)):
        domain = getattr(fn, "domain", None)
        if domain is not None:
            t = min(max(t, domain[0]), domain[1])
        values[i] = float(np.ravel(fn(np.atleast_1d(t)))[0])
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
        raise ValueError("survival functions must return finite probabilities within [0, 1]")
    return values


def d_calibration(y_true, survival_functions, *, n_bins=10):
    """D-calibration: is the predicted survival at the observed time uniform? (Haider 2020).

    For a calibrated model, ``S_i(T_i)`` is uniform on [0, 1]. Each patient with an event
    adds 1 to the bin of ``[0, 1]`` (``n_bins`` equal bins) holding ``S_i(T_i)``; a censored
    patient with ``c = S_i(C_i)`` spreads 1 over the bins below ``c`` (``(c - l)/c`` to the
    bin ``[l, u)`` holding ``c``, ``1 / (n_bins c)`` to each lower one). Pearson's
    chi-squared test of equal bin counts gives the statistic and its p-value (``n_bins - 1``
    degrees of freedom); a small p-value rejects calibration. Agrees with SurvivalEVAL's
    ``d_calibration`` to 1e-8 on the same values (tested).

    Parameters
    ----------
    y_true : structured ndarray of shape (n_samples,)
        Observed outcome.
    survival_functions : sequence of callables
        ``estimator.predict_survival_function(X)``; each is evaluated at its patient's
        observed time (clipped to the function's ``domain`` when it has one: beyond the last
        time a model knows, its last value).
    n_bins : int, default=10
        Number of equal-width bins of [0, 1] (at least 2).

    Returns
    -------
    statistic : float
        Pearson's chi-squared statistic.
    p_value : float

    Examples
    --------
    >>> import numpy as np
    >>> from sksurv.functions import StepFunction
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.metrics import d_calibration
    >>> rng = np.random.default_rng(0)
    >>> t = rng.exponential(size=500)
    >>> grid = np.linspace(0, 10, 2001)
    >>> functions = [StepFunction(grid, np.exp(-grid))] * 500  # the true survival
    >>> statistic, p_value = d_calibration(Surv.from_arrays(np.ones(500, bool), t), functions)
    >>> bool(p_value > 0.05)
    True
    """
    if not isinstance(n_bins, numbers.Integral) or isinstance(n_bins, bool) or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2, got {n_bins!r}")
    event, time_ = _calibration_outcome(y_true, None, "d_calibration")
    event = event.astype(bool)
    probs = _survival_at_own_time(survival_functions, time_)
    edges = np.linspace(1.0, 0.0, n_bins + 1)
    # bin k (0-based) holds [edges[k + 1], edges[k]); a probability of exactly 1 goes to bin 0
    position = np.clip(np.digitize(probs, edges) - 1, 0, n_bins - 1)
    counts = np.bincount(position[event], minlength=n_bins).astype(float)
    c = probs[~event]
    pos_c = position[~event]
    one = c == 1
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(c > 0, (c - edges[pos_c + 1]) / c, 1.0)
        tail = np.where(c > 0, 1.0 / (n_bins * c), 0.0)
    first[one], tail[one] = 1.0 / n_bins, 1.0 / n_bins
    counts += np.bincount(pos_c, weights=first, minlength=n_bins)
    tail_start = np.bincount(pos_c, weights=np.where(pos_c < n_bins - 1, tail, 0.0),
                             minlength=n_bins)
    counts[1:] += np.cumsum(tail_start[:-1])
    expected = counts.sum() / n_bins
    statistic = float(np.sum((counts - expected) ** 2) / expected)
    return statistic, float(_chi2.sf(statistic, n_bins - 1))


def net_benefit(y_true, risk, time, thresholds, *, cause=None):
    """Net benefit of treating the patients whose predicted risk reaches each threshold.

    Decision-curve analysis for a time-to-event outcome (Vickers et al. 2008, BMC Med
    Inform Decis Mak): at threshold probability ``p``, the patients with ``risk >= p`` are
    treated, and ``NB(p) = F(time | treated) P(treated) - (1 - F(time | treated))
    P(treated) p / (1 - p)``, with ``F`` the Kaplan-Meier risk ``1 - S_KM`` of the treated
    patients (censoring handled by Kaplan-Meier), or for a competing outcome their
    Aalen-Johansen incidence of ``cause``. Treat-none has a net benefit of 0; treat-all is
    ``risk="all"``. Equal to the ``dcurves`` package's survival decision curve (Python) and,
    with ``cause``, to R's ``cmprsk::cuminc`` computation (tested to 1e-8).

    Parameters
    ----------
    y_true : structured ndarray of shape (n_samples,)
        Observed outcome; with ``cause``, a competing-risks outcome.
    risk : array-like of shape (n_samples,) or "all"
        Predicted probability of the event (of ``cause``) by ``time``, in [0, 1]; ``"all"``
        treats every patient.
    time : float
        The horizon, within the follow-up of ``y_true``.
    thresholds : array-like of shape (n_thresholds,)
        Threshold probabilities in [0, 1).
    cause : int, default=None
        Competing-risks cause of interest.

    Returns
    -------
    ndarray of shape (n_thresholds,)
        Net benefit at each threshold; ``nan`` (with :class:`UndefinedSurvivalMetricWarning`)
        where the treated patients' follow-up ends before ``time``.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.metrics import net_benefit
    >>> y = Surv.from_arrays([True, False, True, False], [1.0, 2.0, 3.0, 4.0])
    >>> net_benefit(y, [0.9, 0.2, 0.6, 0.1], 2.5, [0.3]).round(4).tolist()
    [0.1429]
    >>> net_benefit(y, "all", 2.5, [0.3]).round(4).tolist()  # treat-all
    [-0.0714]
    """
    event, time_ = _calibration_outcome(y_true, cause, "net_benefit")
    horizon = _horizon(time_, time, "net_benefit")
    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=float))
    if thresholds.ndim != 1 or thresholds.size == 0 or not np.all(np.isfinite(thresholds)) \
            or thresholds.min() < 0 or thresholds.max() >= 1:
        raise ValueError("thresholds must be a non-empty 1-D array of probabilities in [0, 1)")
    if isinstance(risk, str):
        if risk != "all":
            raise ValueError(f"risk must be an array of probabilities or 'all', got {risk!r}")
        risk = np.ones(time_.size)
    else:
        risk = _check_risk(risk, time_.size)
        if risk.min() < 0 or risk.max() > 1:
            raise ValueError("risk must hold probabilities of the event by time, within [0, 1]; "
                             "pass 1 - survival at time, not a risk score from predict()")
    k = 1 if cause is None else cause
    result = np.zeros(thresholds.size)
    for j, p in enumerate(thresholds):
        treated = risk >= p
        if not treated.any():
            continue
        f = incidence_at(event[treated], time_[treated], horizon, k)
        if np.isnan(f):
            result[j] = _undefined(
                f"net benefit is undefined at threshold {p:g}: the follow-up of the treated "
                f"patients ends before time {horizon:g}; returning nan",
                UndefinedSurvivalMetricWarning)
            continue
        share = treated.mean()
        result[j] = f * share - (1.0 - f) * share * p / (1.0 - p)
    return result


_KINDS = ("harrell", "uno")


def _check_kind(kind, tau):
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    if kind == "harrell" and tau is not None:
        raise ValueError("tau only applies to kind='uno'")


def _resampled_concordance(event, time, risk, weights, counts, tied_tol=1e-8):
    """The weighted concordance of every bootstrap resample at once.

    A resample is given by ``counts[b, j]``, the number of times patient j was drawn. Its
    concordance is ``sum_ij c_i c_j w_i s_ij / sum_ij c_i c_j w_i a_ij``, with ``a_ij`` = 1
    for a comparable pair (i an event, j still at risk after t_i), ``s_ij`` = ``a_ij`` when
    risk_i > risk_j and 1/2 when the risks are tied: what scikit-survival computes on the
    resample (two copies of one event are not comparable, as two events at the same
    time). One pass over the pair matrix for all resamples, instead of one library call
    per resample; ``nan`` where a resample has no comparable pair.
    """
    rows = np.flatnonzero(event & (weights > 0))
    numerator = np.zeros(counts.shape[0])
    denominator = np.zeros(counts.shape[0])
    for start in range(0, rows.size, _CHUNK):
        i = rows[start:start + _CHUNK]
        t_i = time[i, None]
        at_risk = (time[None, :] > t_i) | ((time[None, :] == t_i) & ~event[None, :])
        diff = risk[None, :] - risk[i, None]
        tied = np.abs(diff) <= tied_tol
        score = at_risk * np.where(tied, 0.5, (diff < 0).astype(float))
        weighted = counts[:, i] * weights[i]
        numerator += np.einsum("bk,bk->b", weighted, counts @ score.T)
        denominator += np.einsum("bk,bk->b", weighted, counts @ at_risk.T.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def bootstrap_concordance(
    y_true,
    risk,
    *,
    n_bootstraps=1000,
    kind="harrell",
    tau=None,
    y_train=None,
    confidence_level=0.95,
    random_state=None,
):
    """Bootstrap the C-index of fixed predictions: point estimate, SD and percentile CI.

    Patients (outcome and prediction together) are resampled with replacement; the model
    is not refitted. This is how the paper reports the SD of its test-set C-indices.

    Parameters
    ----------
    y_true : structured ndarray of shape (n_samples,)
        Observed outcome.
    risk : array-like of shape (n_samples,)
        Predicted risk, higher = earlier event.
    n_bootstraps : int, default=1000
        Number of resamples.
    kind : {"harrell", "uno"}, default="harrell"
        Which concordance index.
    tau : float, default=None
        Truncation time for ``kind="uno"``.
    y_train : structured ndarray, default=None
        Censoring distribution for ``kind="uno"``; ``None`` uses the full ``y_true`` (not
        the resample).
    confidence_level : float, default=0.95
        Coverage of the percentile interval.
    random_state : int, RandomState instance or None, default=None
        Seed of the resampling.

    Returns
    -------
    Bunch
        ``cindex`` (on the original sample), ``sd`` (standard deviation of the bootstrap
        values, ddof=1), ``ci_low``, ``ci_high`` (percentile interval), ``bootstrap_values`` (the
        defined bootstrap values) and ``n_undefined`` (resamples without an event or a
        comparable pair, left out; a single :class:`UndefinedConcordanceWarning` says how
        many).

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.metrics import bootstrap_concordance
    >>> days = [float(d) for d in range(10, 610, 10)]  # 60 patients, two in three with an event
    >>> y = Surv.from_arrays([d % 30 != 0 for d in days], days)
    >>> res = bootstrap_concordance(y, [-d for d in days], n_bootstraps=200, random_state=0)
    >>> res.cindex, res.ci_low <= res.cindex <= res.ci_high
    (1.0, True)
    """
    event, time = check_survival_y(y_true, allow_all_censored=True)
    risk = _check_risk(risk, len(time))
    check_bootstrap_params(n_bootstraps, confidence_level)
    _check_kind(kind, tau)
    if kind == "harrell":
        estimate = concordance_index(y_true, risk)
        weights = np.ones_like(time)
    else:
        reference = y_true if y_train is None else y_train
        estimate = concordance_index_uno(y_true, risk, y_train=reference, tau=tau)
        weights = _censoring_weights(reference, event, time, tau)
    counts = bootstrap_counts(len(time), n_bootstraps, random_state)
    values = _resampled_concordance(event, time, risk, weights, counts)
    return summarize_bootstrap(estimate, values, confidence_level=confidence_level)


def check_bootstrap_params(n_bootstraps, confidence_level):
    """Validate the ``n_bootstraps`` and ``confidence_level`` of a bootstrap of concordance."""
    if not isinstance(n_bootstraps, numbers.Integral) or n_bootstraps < 2:
        raise ValueError(f"n_bootstraps must be an integer >= 2, got {n_bootstraps!r}")
    if not 0 < confidence_level < 1:
        raise ValueError(f"confidence_level must be in (0, 1), got {confidence_level!r}")


def bootstrap_counts(n, n_bootstraps, random_state):
    """``counts[b, j]``: how many times resample ``b`` drew patient ``j`` (shape ``(n_bootstraps, n)``).

    The same draws, in the same order, as resampling one index vector at a time with
    ``check_random_state(random_state).randint(0, n, n)``.
    """
    rng = check_random_state(random_state)
    draws = rng.randint(0, n, (n_bootstraps, n))
    counts = np.zeros((n_bootstraps, n))
    np.add.at(counts, (np.arange(n_bootstraps)[:, None], draws), 1.0)
    return counts


def summarize_bootstrap(estimate, values, *, confidence_level=0.95):
    """The Bunch of :func:`bootstrap_concordance` from the point estimate and every resample's value.

    Resamples whose value is ``nan`` (no comparable pair) are left out, with one
    :class:`UndefinedConcordanceWarning` that says how many.
    """
    n_bootstraps = values.size
    defined = values[~np.isnan(values)]
    n_undefined = n_bootstraps - defined.size
    if n_undefined:
        warnings.warn(
            f"{n_undefined} of {n_bootstraps} bootstrap resamples had no event or no "
            "comparable pair and were left out",
            UndefinedConcordanceWarning,
            stacklevel=3,
        )
    if defined.size < 2:
        sd = low = high = float("nan")
    else:
        alpha = (1.0 - confidence_level) / 2.0
        sd = float(np.std(defined, ddof=1))
        low, high = (float(q) for q in np.quantile(defined, [alpha, 1.0 - alpha]))
    return Bunch(cindex=estimate, sd=sd, ci_low=low, ci_high=high, bootstrap_values=defined,
                 n_undefined=int(n_undefined))


class _ConcordanceScorer:
    """Callable ``scorer(estimator, X, y)`` returning a C-index of ``estimator.predict(X)``."""

    def __init__(self, kind="harrell", tau=None, tied_tol=1e-8):
        _check_kind(kind, tau)
        self.kind = kind
        self.tau = tau
        self.tied_tol = tied_tol

    def __call__(self, estimator, X, y):
        risk = estimator.predict(X)
        if self.kind == "harrell":
            return concordance_index(y, risk, tied_tol=self.tied_tol)
        return concordance_index_uno(y, risk, tau=self.tau, tied_tol=self.tied_tol)

    def __repr__(self):
        args = [f"kind={self.kind!r}"]
        if self.tau is not None:
            args.append(f"tau={self.tau!r}")
        return f"make_concordance_scorer({', '.join(args)})"


def make_concordance_scorer(kind="harrell", *, tau=None, tied_tol=1e-8):
    """Make a scorer for ``scoring=`` in ``cross_validate``, ``GridSearchCV``, etc.

    The scorer calls ``estimator.predict(X)`` (a risk, higher = earlier event) and returns
    the C-index on ``y``; higher is better. A fold without an event scores ``nan`` with an
    :class:`UndefinedConcordanceWarning`, it does not abort the search.

    Parameters
    ----------
    kind : {"harrell", "uno"}, default="harrell"
        Harrell's C (:func:`concordance_index`) or Uno's C
        (:func:`concordance_index_uno`). For Uno's C the scorer only sees the evaluated
        fold, so the censoring distribution is estimated on that fold.
    tau : float, default=None
        Truncation time for ``kind="uno"``.
    tied_tol : float, default=1e-8
        Risks closer than this are tied.

    Returns
    -------
    callable
        ``scorer(estimator, X, y) -> float``; picklable.

    Examples
    --------
    >>> from sarcoma_survival.metrics import make_concordance_scorer
    >>> make_concordance_scorer("uno", tau=1825.0)
    make_concordance_scorer(kind='uno', tau=1825.0)
    """
    return _ConcordanceScorer(kind=kind, tau=tau, tied_tol=tied_tol)


def concordance_scorer(estimator, X, y):
    """Harrell's C-index of a fitted estimator: the toolkit's shared ``scoring=`` callable.

    Pass it as ``scoring=concordance_scorer`` to ``cross_validate``, ``GridSearchCV``, etc.
    It works for every estimator of the toolkit (and any scikit-survival estimator): it
    calls ``estimator.predict(X)``, a risk where higher means an earlier event, and returns
    :func:`concordance_index` on ``y``. A fold without an event scores ``nan`` with an
    :class:`UndefinedConcordanceWarning`. For Uno's C use :func:`make_concordance_scorer`.

    Parameters
    ----------
    estimator : fitted estimator
        Has ``predict(X)`` returning one risk per patient.
    X : DataFrame or array-like
        The patients to score (the evaluated fold).
    y : structured ndarray
        Their observed outcome.

    Returns
    -------
    float
        Harrell's C in [0, 1] (higher is better).

    Examples
    --------
    >>> import numpy as np
    >>> from sksurv.linear_model import CoxPHSurvivalAnalysis
    >>> from sksurv.util import Surv
    >>> from sklearn.model_selection import cross_val_score
    >>> from sarcoma_survival.metrics import concordance_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2))
    >>> y = Surv.from_arrays(rng.random(60) < 0.7, np.exp(-X[:, 0] + rng.normal(0, 0.5, 60)))
    >>> scores = cross_val_score(CoxPHSurvivalAnalysis(), X, y, cv=3, scoring=concordance_scorer)
    >>> bool(np.all(scores > 0.6))
    True
    """
    return concordance_index(y, estimator.predict(X))


# ``concordance_index_competing`` lives with the other competing-risks metrics in
# ``sarcoma_survival.competing_risks`` (a layer above this module); this name stays an alias
# of it, resolved on first use, for code that imported it from here.
__getattr__, _ = lazy_exports(__name__, {"concordance_index_competing": "sarcoma_survival.competing_risks"})
