"""Competing-risks metrics: cause-specific concordance, IPCW Brier score and AUC, scorer.

All take the observed competing-risks outcome first (:func:`competing_y`), then the
prediction. The censoring distribution ``G`` is the Kaplan-Meier estimate of the
censoring times of ``y_train`` (default: ``y_true``), every event of any cause censoring
the censoring time, as R's ``riskRegression::Score(..., cens.model = "km")`` and
``pec::cindex(..., cens.model = "marginal")`` do; agreement with both is tested.
A metric that is undefined on its data returns ``nan`` with
:class:`~sarcoma_survival.metrics.UndefinedConcordanceWarning`.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from ..metrics import (
    UndefinedConcordanceWarning,
    bootstrap_counts,
    check_bootstrap_params,
    probability_matrix,
    summarize_bootstrap,
)
from ..utils import check_cause as _check_cause
from ..utils import check_competing_y
from ._nonparametric import reference_censoring as _censoring

# Event rows of the cause compared with all patients at once (memory ~ chunk * n).
_CHUNK = 512


def _risk_vector(risk, n):
    """A finite (n,) float risk vector (an (n, 1) column is accepted)."""
    risk = np.asarray(risk, dtype=float)
    if risk.ndim == 2 and risk.shape[1] == 1:
        risk = risk[:, 0]
    if risk.shape != (n,) or not np.all(np.isfinite(risk)):
        raise ValueError(f"risk must be finite, of shape ({n},); got shape {risk.shape}")
    return risk


def _incidence_matrix(incidence, n, times):
    return probability_matrix(incidence, n, times, "incidence")


def _check_eval_times(times):
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if times.ndim != 1 or times.size == 0 or not np.all(np.isfinite(times)) or np.any(times <= 0):
        raise ValueError(f"times must be a non-empty 1-D array of finite values > 0, got {times!r}")
    if times.size > 1 and np.any(np.diff(times) <= 0):
        raise ValueError("times must be strictly increasing")
    return times


def _ipcw_weights(event, time, times, g_before, g_at):
    """(n, n_times) weights: 1/G(T_i-) if an event by t, 1/G(t) if still at risk after t."""
    event_by = (time[:, None] <= times[None, :]) & (event[:, None] > 0)
    after = time[:, None] > times[None, :]
    with np.errstate(divide="ignore"):
        w = np.where(event_by, 1.0 / g_before(time)[:, None], 0.0)
        w = np.where(after, 1.0 / g_at(times)[None, :], w)
    w[~np.isfinite(w)] = 0.0
    return w


def brier_score_competing(y_true, incidence, times, *, cause=1, y_train=None):
    """IPCW Brier score of a predicted cumulative incidence (Graf; Gerds & Schumacher).

    ``BS(t) = mean_i W_i(t) (1{T_i <= t, cause_i = cause} - F_i(t))^2`` with
    ``W_i(t) = 1 / G(T_i-)`` for an event of any cause by ``t``, ``1 / G(t)`` for a
    patient still event-free after ``t`` and 0 for one censored before ``t``. Equal to R's
    ``riskRegression::Score(..., metrics = "brier", cause, cens.model = "km")`` (tested
    to 1e-6).

    Parameters
    ----------
    y_true : structured ndarray
        Competing-risks outcome.
    incidence : array-like of shape (n_samples, n_times)
        Predicted incidence of ``cause`` at ``times`` (``predict_cumulative_incidence``).
    times : array-like of shape (n_times,)
        Strictly increasing evaluation times.
    cause : int, default=1
    y_train : structured ndarray, default=None
        Outcome for the censoring distribution; ``None``: ``y_true``.

    Returns
    -------
    ndarray of shape (n_times,)

    Examples
    --------
    >>> from sarcoma_survival.competing_risks import brier_score_competing, competing_y
    >>> y = competing_y([1, 2, 0, 1], [1.0, 2.0, 3.0, 4.0])
    >>> brier_score_competing(y, [[1.0], [0.0], [0.0], [0.0]], [1.5]).tolist()
    [0.0]
    """
    cause = _check_cause(cause)
    event, time = check_competing_y(y_true, allow_no_event=True)
    times = _check_eval_times(times)
    values = _incidence_matrix(incidence, time.size, times)
    g_before, g_at = _censoring(y_true, y_train, event, time)
    weights = _ipcw_weights(event, time, times, g_before, g_at)
    status = ((time[:, None] <= times[None, :]) & (event[:, None] == cause)).astype(float)
    return np.mean(weights * np.square(status - values), axis=0)


def integrated_brier_score_competing(y_true, incidence, times, *, cause=1, y_train=None):
    """Brier score of the incidence averaged over ``times`` (trapezoidal rule).

    ``integral of BS(t) dt / (times[-1] - times[0])``, as
    :func:`sarcoma_survival.metrics.integrated_brier_score` does for survival.

    Parameters
    ----------
    y_true : structured ndarray
    incidence : array-like of shape (n_samples, n_times)
    times : array-like of shape (n_times,)
        At least two strictly increasing times.
    cause : int, default=1
    y_train : structured ndarray, default=None

    Returns
    -------
    float

    Examples
    --------
    >>> from sarcoma_survival.competing_risks import competing_y
    >>> from sarcoma_survival.competing_risks import integrated_brier_score_competing
    >>> y = competing_y([1, 2, 0, 1], [1.0, 2.0, 3.0, 4.0])
    >>> integrated_brier_score_competing(y, [[0.5, 0.5]] * 4, [1.5, 2.5])
    0.25
    """
    times = _check_eval_times(times)
    if times.size < 2:
        raise ValueError("integrated_brier_score_competing needs at least two times")
    scores = brier_score_competing(y_true, incidence, times, cause=cause, y_train=y_train)
    return float(np.trapezoid(scores, times) / (times[-1] - times[0]))


def cumulative_dynamic_auc_competing(y_true, incidence, times, *, cause=1, y_train=None,
                                     tied_tol=1e-8):
    """Time-dependent AUC of the incidence of one cause (Blanche et al. 2013, definition 2).

    At time ``t`` the cases are patients with an event of ``cause`` by ``t`` (weight
    ``1 / G(T_i-)``); the controls are patients event-free after ``t`` (weight
    ``1 / G(t)``) and patients with an event of another cause by ``t`` (weight
    ``1 / G(T_j-)``). Tied predictions count 1/2. Equal to R's
    ``riskRegression::Score(..., metrics = "auc", cause, cens.model = "km")`` (tested to
    1e-6).

    Parameters
    ----------
    y_true : structured ndarray
    incidence : array-like of shape (n_samples, n_times) or (n_samples,)
        Predicted incidence at ``times`` (or one time-constant risk score).
    times : array-like of shape (n_times,)
    cause : int, default=1
    y_train : structured ndarray, default=None
    tied_tol : float, default=1e-8

    Returns
    -------
    ndarray of shape (n_times,)
        ``nan`` (with a warning) where there is no case or no control.

    Examples
    --------
    >>> from sarcoma_survival.competing_risks import competing_y
    >>> from sarcoma_survival.competing_risks import cumulative_dynamic_auc_competing
    >>> y = competing_y([1, 2, 0, 1], [1.0, 2.0, 3.0, 4.0])
    >>> cumulative_dynamic_auc_competing(y, [0.9, 0.1, 0.2, 0.5], [2.5]).tolist()
    [1.0]
    """
    cause = _check_cause(cause)
    event, time = check_competing_y(y_true, allow_no_event=True)
    times = _check_eval_times(times)
    values = np.asarray(incidence, dtype=float)
    if values.ndim == 1:
        values = np.repeat(_risk_vector(values, time.size)[:, None], times.size, axis=1)
    if values.shape != (time.size, times.size) or not np.all(np.isfinite(values)):
        raise ValueError(f"incidence must be finite, of shape ({time.size}, {times.size})")
    g_before, g_at = _censoring(y_true, y_train, event, time)
    weights = _ipcw_weights(event, time, times, g_before, g_at)
    by_t = time[:, None] <= times[None, :]
    cases = by_t & (event[:, None] == cause)
    controls = (~by_t) | (by_t & (event[:, None] > 0) & (event[:, None] != cause))
    auc = np.full(times.size, np.nan)
    for m in range(times.size):
        ci, cj = np.flatnonzero(cases[:, m]), np.flatnonzero(controls[:, m])
        wi, wj = weights[ci, m], weights[cj, m]
        if wi.sum() <= 0 or wj.sum() <= 0:
            warnings.warn(
                f"time-dependent AUC is undefined at t={times[m]:g}: no case or no control; nan",
                UndefinedConcordanceWarning, stacklevel=2,
            )
            continue
        diff = values[ci, m][:, None] - values[cj, m][None, :]
        score = np.where(np.abs(diff) <= tied_tol, 0.5, (diff > 0).astype(float))
        auc[m] = float(wi @ score @ wj / (wi.sum() * wj.sum()))
    return auc


def _check_tau(tau):
    if tau is not None and (not isinstance(tau, numbers.Real) or not tau > 0):
        raise ValueError(f"tau must be a positive number or None, got {tau!r}")


def _weighted_pairs(event, time, risk, cause, tau, g_before, g_at, tied_tol):
    """``(rows, w, score)`` per chunk of the events of ``cause``: pair weights and 1, 1/2 or 0.

    ``w[k, j]`` is the IPCW weight of the pair (``rows[k]``, j), 0 for a pair that is not
    comparable, and ``score[k, j]`` says whether it is concordant.
    """
    rows = np.flatnonzero((event == cause) & (time <= (np.inf if tau is None else tau)))
    competing = (event > 0) & (event != cause)
    g_j_before = g_before(time)
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
        yield i, w, score


def concordance_index_competing(y_true, risk, *, cause=1, tau=None, y_train=None, tied_tol=1e-8):
    """Cause-specific time-dependent concordance index (Wolbers et al. 2014), IPCW.

    A pair ``(i, j)`` is comparable when ``i`` had an event of ``cause`` at
    ``T_i <= tau`` and either ``T_j > T_i`` (type A, weight ``1 / (G(T_i-) G(T_i))``)
    or ``j`` had an event of another cause at ``T_j <= T_i`` (type B, weight
    ``1 / (G(T_i-) G(T_j-))``): a patient who died of something else is known to be
    free of ``cause`` for ever. The pair is concordant when ``risk_i > risk_j`` and
    counts 1/2 when the risks are tied. Agrees with R's ``pec::cindex`` for competing
    risks (tested to 1e-3).

    Also importable as ``sarcoma_survival.metrics.concordance_index_competing``.

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
    cause = _check_cause(cause)
    event, time = check_competing_y(y_true, allow_no_event=True)
    risk = _risk_vector(risk, time.size)
    _check_tau(tau)
    g_before, g_at = _censoring(y_true, y_train, event, time)
    numerator = denominator = 0.0
    for _, w, score in _weighted_pairs(event, time, risk, cause, tau, g_before, g_at, tied_tol):
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


def bootstrap_concordance_competing(y_true, risk, *, cause=1, n_bootstraps=1000, tau=None,
                                    y_train=None, confidence_level=0.95, random_state=None):
    """Bootstrap :func:`concordance_index_competing` of fixed predictions: estimate, SD and CI.

    The competing-risks counterpart of
    :func:`~sarcoma_survival.metrics.bootstrap_concordance`, with the same resampling (the
    same draws for the same ``random_state``) and the same one-pass scoring of every
    resample: patients are resampled with replacement, the model is not refitted, and the
    censoring distribution that weights the pairs is that of ``y_train`` (default: the full
    ``y_true``, not the resample).

    Parameters
    ----------
    y_true : structured ndarray
        Competing-risks outcome of the evaluated patients.
    risk : array-like of shape (n_samples,)
        Higher = earlier event of ``cause``.
    cause : int, default=1
    n_bootstraps : int, default=1000
    tau : float, default=None
    y_train : structured ndarray, default=None
    confidence_level : float, default=0.95
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    Bunch
        ``cindex``, ``sd``, ``ci_low``, ``ci_high``, ``bootstrap_values`` and
        ``n_undefined``, as :func:`~sarcoma_survival.metrics.bootstrap_concordance`.

    Examples
    --------
    >>> from sarcoma_survival.competing_risks import bootstrap_concordance_competing, competing_y
    >>> days = [float(d) for d in range(10, 610, 10)]
    >>> y = competing_y([int(d % 30 != 0) for d in days], days)  # two in three with cause 1
    >>> res = bootstrap_concordance_competing(y, [-d for d in days], n_bootstraps=200, random_state=0)
    >>> res.cindex, res.ci_low <= res.cindex <= res.ci_high
    (1.0, True)
    """
    cause = _check_cause(cause)
    event, time = check_competing_y(y_true, allow_no_event=True)
    risk = _risk_vector(risk, time.size)
    _check_tau(tau)
    check_bootstrap_params(n_bootstraps, confidence_level)
    estimate = concordance_index_competing(y_true, risk, cause=cause, tau=tau, y_train=y_train)
    g_before, g_at = _censoring(y_true, y_train, event, time)
    counts = bootstrap_counts(time.size, n_bootstraps, random_state)
    numerator = np.zeros(n_bootstraps)
    denominator = np.zeros(n_bootstraps)
    for i, w, score in _weighted_pairs(event, time, risk, cause, tau, g_before, g_at, 1e-8):
        # sum_kj c_k c_j w_kj s_kj over the resample: a patient drawn twice counts twice
        numerator += np.einsum("bk,bk->b", counts[:, i], counts @ (w * score).T)
        denominator += np.einsum("bk,bk->b", counts[:, i], counts @ w.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(denominator > 0, numerator / denominator, np.nan)
    return summarize_bootstrap(estimate, values, confidence_level=confidence_level)


class _CompetingRisksScorer:
    """``scorer(estimator, X, y)``: cause-specific concordance of ``estimator.predict(X)``."""

    def __init__(self, cause=1, tau=None, tied_tol=1e-8):
        self.cause = _check_cause(cause)
        _check_tau(tau)
        self.tau = tau
        self.tied_tol = tied_tol

    def __call__(self, estimator, X, y):
        return concordance_index_competing(
            y, estimator.predict(X), cause=self.cause, tau=self.tau, tied_tol=self.tied_tol
        )

    def __repr__(self):
        args = [f"cause={self.cause!r}"] + ([f"tau={self.tau!r}"] if self.tau is not None else [])
        return f"make_competing_risks_scorer({', '.join(args)})"


def make_competing_risks_scorer(cause=1, tau=None, *, tied_tol=1e-8):
    """Scorer for ``cross_validate`` / ``GridSearchCV`` on a competing-risks outcome.

    Returns ``scorer(estimator, X, y)``: :func:`concordance_index_competing` of
    ``estimator.predict(X)`` for ``cause``, truncated at ``tau``, with the censoring
    distribution of the evaluated fold. Higher is better; a fold without any comparable
    pair scores ``nan`` with a warning instead of aborting the search.

    Parameters
    ----------
    cause : int, default=1
    tau : float, default=None
    tied_tol : float, default=1e-8

    Returns
    -------
    callable
        Picklable.

    Examples
    --------
    >>> from sarcoma_survival.competing_risks import make_competing_risks_scorer
    >>> make_competing_risks_scorer(cause=1, tau=1825.0)
    make_competing_risks_scorer(cause=1, tau=1825.0)
    """
    return _CompetingRisksScorer(cause=cause, tau=tau, tied_tol=tied_tol)


__all__ = [
    "bootstrap_concordance_competing",
    "brier_score_competing",
    "concordance_index_competing",
    "cumulative_dynamic_auc_competing",
    "integrated_brier_score_competing",
    "make_competing_risks_scorer",
]
