"""Cause-specific hazards: Breslow jumps and the Aalen-Johansen incidence they imply.

Shared by the cause-specific Cox model and the neural networks fitted on a competing
outcome (``sarcoma_survival.nn``).
"""
from __future__ import annotations

import numpy as np

from ..utils.validation import check_time_values


def check_times(times):
    """Validate prediction times: a non-empty 1-D array of finite values >= 0."""
    times = np.atleast_1d(np.asarray(check_time_values(times, what="times"), dtype=float))
    if times.ndim != 1 or times.size == 0 or not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ValueError(f"times must be a non-empty 1-D array of finite values >= 0, got {times!r}")
    return times


def step_values(jump_times, cumulative, times):
    """Right-continuous step function (0 before the first jump) evaluated at ``times``."""
    idx = np.searchsorted(jump_times, times, side="right") - 1
    values = np.zeros((*cumulative.shape[:-1], times.size))
    ok = idx >= 0
    values[..., ok] = cumulative[..., idx[ok]]
    return values


def incidence_from_cause_hazards(jump_times, baseline_jumps, log_risk, cause, times):
    """Aalen-Johansen incidence of ``cause`` from proportional cause-specific hazards.

    Parameters
    ----------
    jump_times : ndarray of shape (m,)
        Ascending times where some baseline hazard jumps.
    baseline_jumps : ndarray of shape (K, m)
        Jumps of the Breslow cumulative baseline hazard of each cause at ``jump_times``.
    log_risk : ndarray of shape (n, K)
        Log relative hazard of each patient for each cause.
    cause : int
        1-based cause whose incidence is returned.
    times : ndarray of shape (n_times,)

    Returns
    -------
    ndarray of shape (n, n_times)
        ``F_c(t) = sum_{t_j <= t} S(t_j-) dLambda_c(t_j)``, with the all-cause survival
        taken as the product limit ``S(t_j-) = prod_{l<j} (1 - sum_k dLambda_k(t_l))``.
        Where the jumps of one step sum above 1 (a very high predicted hazard), that
        step's factor is 0 and ``S(t_j-)`` is shared among the causes in proportion to
        their jumps, so the incidences of all causes always sum to ``1 - S <= 1``.
    """
    # (n, K, m) hazard jumps of each patient
    jumps = np.exp(log_risk)[:, :, None] * baseline_jumps[None, :, :]
    total = jumps.sum(axis=1)
    # a step whose jumps sum above 1 ends all-cause survival: share S(t_j-) among the
    # causes in proportion to their jumps, so that the incidences still sum to 1 - S
    scale = np.where(total > 1.0, 1.0 / np.where(total > 0, total, 1.0), 1.0)
    surv = np.cumprod(1.0 - total * scale, axis=1)
    surv_before = np.concatenate([np.ones((surv.shape[0], 1)), surv[:, :-1]], axis=1)
    cif = np.cumsum(surv_before * jumps[:, cause - 1, :] * scale, axis=1)
    return np.clip(step_values(jump_times, cif, times), 0.0, 1.0)


def breslow_jumps(log_risk, event, time, n_causes_):
    """Breslow jumps of each cause's baseline cumulative hazard.

    Parameters
    ----------
    log_risk : ndarray of shape (n, K)
        Log relative hazard of each training patient for each cause.
    event, time : ndarray of shape (n,)
        Cause codes (0 = censored) and times.
    n_causes_ : int

    Returns
    -------
    jump_times : ndarray of shape (m,)
        Distinct times of an event of any cause.
    jumps : ndarray of shape (K, m)
        ``d_k(t) / sum_{time_i >= t} exp(log_risk_ik)``.
    """
    jump_times = np.unique(time[event > 0])
    order = np.argsort(time, kind="stable")
    sorted_time = time[order]
    risk = np.exp(log_risk[order] - log_risk.max(axis=0, initial=0.0))
    # suffix sums: patients with time >= t
    tail = np.cumsum(risk[::-1], axis=0)[::-1]
    first = np.searchsorted(sorted_time, jump_times, side="left")
    at_risk = tail[first].T  # (K, m)
    jumps = np.zeros((n_causes_, jump_times.size))
    index = np.searchsorted(jump_times, time)
    for k in range(1, n_causes_ + 1):
        hit = event == k
        counts = np.bincount(index[hit], minlength=jump_times.size)
        jumps[k - 1] = counts / at_risk[k - 1] * np.exp(-log_risk[:, k - 1].max(initial=0.0))
    return jump_times, jumps
