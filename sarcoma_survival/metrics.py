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
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils import Bunch, check_random_state
from sksurv.metrics import brier_score as _sksurv_brier_score
from sksurv.metrics import concordance_index_censored as _sksurv_concordance_index_censored
from sksurv.metrics import concordance_index_ipcw as _sksurv_concordance_index_ipcw
from sksurv.metrics import cumulative_dynamic_auc as _sksurv_cumulative_dynamic_auc
from sksurv.nonparametric import CensoringDistributionEstimator

from .utils import check_cause, check_competing_y, check_risk_vector, curve_values, reference_censoring
from .utils.validation import as_survival_array, check_survival_y, check_time_values

__all__ = [
    "UndefinedConcordanceWarning",
    "UndefinedSurvivalMetricWarning",
    "concordance_index",
    "concordance_index_uno",
    "cumulative_dynamic_auc",
    "brier_score",
    "integrated_brier_score",
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
    if not isinstance(n_bootstraps, numbers.Integral) or n_bootstraps < 2:
        raise ValueError(f"n_bootstraps must be an integer >= 2, got {n_bootstraps!r}")
    if not 0 < confidence_level < 1:
        raise ValueError(f"confidence_level must be in (0, 1), got {confidence_level!r}")
    _check_kind(kind, tau)
    if kind == "harrell":
        estimate = concordance_index(y_true, risk)
        weights = np.ones_like(time)
    else:
        reference = y_true if y_train is None else y_train
        estimate = concordance_index_uno(y_true, risk, y_train=reference, tau=tau)
        weights = _censoring_weights(reference, event, time, tau)
    rng = check_random_state(random_state)
    n = len(time)
    # the same draws, in the same order, as resampling one index vector at a time
    draws = rng.randint(0, n, (n_bootstraps, n))
    counts = np.zeros((n_bootstraps, n))
    np.add.at(counts, (np.arange(n_bootstraps)[:, None], draws), 1.0)
    values = _resampled_concordance(event, time, risk, weights, counts)
    defined = values[~np.isnan(values)]
    n_undefined = n_bootstraps - defined.size
    if n_undefined:
        warnings.warn(
            f"{n_undefined} of {n_bootstraps} bootstrap resamples had no event or no "
            "comparable pair and were left out",
            UndefinedConcordanceWarning,
            stacklevel=2,
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


_CHUNK = 512


def concordance_index_competing(y_true, risk, *, cause=1, tau=None, y_train=None, tied_tol=1e-8):
    """Cause-specific time-dependent concordance index (Wolbers et al. 2014), IPCW.

    A pair ``(i, j)`` is comparable when ``i`` had an event of ``cause`` at
    ``T_i <= tau`` and either ``T_j > T_i`` (type A, weight ``1 / (G(T_i-) G(T_i))``)
    or ``j`` had an event of another cause at ``T_j <= T_i`` (type B, weight
    ``1 / (G(T_i-) G(T_j-))``): a patient who died of something else is known to be
    free of ``cause`` for ever. The pair is concordant when ``risk_i > risk_j`` and
    counts 1/2 when the risks are tied. Agrees with R's ``pec::cindex`` for competing
    risks (tested to 1e-3).

    Parameters
    ----------
    y_true : structured ndarray
        Competing-risks outcome of the evaluated patients.
    risk : array-like of shape (n_samples,)
        Higher = earlier event of ``cause`` (``predict`` of a competing-risks model).
    cause : int, default=1
    tau : float, default=None
        Only events of ``cause`` at or before ``tau`` count; ``None``: all.
    y_train : structured ndarray, default=None
        Outcome whose censoring distribution weights the pairs; ``None``: ``y_true``.
    tied_tol : float, default=1e-8

    Returns
    -------
    float
        In [0, 1]; ``nan`` (with a warning) when no pair is comparable.

    Examples
    --------
    >>> from sarcoma_survival.competing_risks import competing_y, concordance_index_competing
    >>> y = competing_y([1, 2, 1, 0], [1.0, 2.0, 3.0, 4.0])
    >>> concordance_index_competing(y, [3.0, 0.0, 2.0, 1.0])
    1.0
    """
    cause = check_cause(cause)
    event, time = check_competing_y(y_true, allow_no_event=True)
    risk = check_risk_vector(risk, time.size)
    if tau is not None and (not isinstance(tau, numbers.Real) or not tau > 0):
        raise ValueError(f"tau must be a positive number or None, got {tau!r}")
    g_before, g_at = reference_censoring(y_true, y_train, event, time)
    rows = np.flatnonzero((event == cause) & (time <= (np.inf if tau is None else tau)))
    competing = (event > 0) & (event != cause)
    g_j_before = g_before(time)
    numerator = denominator = 0.0
    for start in range(0, rows.size, _CHUNK):
        i = rows[start:start + _CHUNK]
        t_i = time[i, None]
        gi_before = g_before(time[i])[:, None]
        gi_at = g_at(time[i])[:, None]
        type_a = time[None, :] > t_i
        type_b = competing[None, :] & (time[None, :] <= t_i)
        with np.errstate(divide="ignore"):
            w = np.where(type_a, 1.0 / (gi_before * gi_at), 0.0)
            w = np.where(type_b, 1.0 / (gi_before * g_j_before[None, :]), w)
        w[~np.isfinite(w)] = 0.0
        diff = risk[i, None] - risk[None, :]
        tied = np.abs(diff) <= tied_tol
        score = np.where(tied, 0.5, (diff > 0).astype(float))
        numerator += float(np.sum(w * score))
        denominator += float(np.sum(w))
    if denominator == 0:
        warnings.warn(
            f"cause-specific concordance is undefined: no comparable pair for cause {cause}; "
            "returning nan",
            UndefinedConcordanceWarning,
            stacklevel=2,
        )
        return float("nan")
    return numerator / denominator
