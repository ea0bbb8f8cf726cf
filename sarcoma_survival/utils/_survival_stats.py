"""Numerical cores of the calibration metrics: nonparametric incidence, Efron Cox, splines.

Plain numpy on validated arrays (the public functions in ``metrics`` and ``competing_risks``
check their inputs first). Each core reproduces one R computation, named in its docstring,
and the tests compare them with stored R outputs.
"""
from __future__ import annotations

import numpy as np


def aalen_johansen_curve(event, time, cause=1):
    """Aalen-Johansen cumulative incidence of ``cause`` at every distinct time.

    ``F_k(t) = sum_{t_j <= t} S(t_j-) d_kj / n_j`` with ``S`` the all-cause Kaplan-Meier.
    With one cause (``event`` in {0, 1}) it is ``1 -`` the Kaplan-Meier survival.

    Parameters
    ----------
    event : ndarray of shape (n,)
        Cause codes, 0 = censored (a boolean event indicator is read as cause 1).
    time : ndarray of shape (n,)
    cause : int, default=1

    Returns
    -------
    times : ndarray
        Distinct observed times, ascending.
    cif : ndarray
        Cumulative incidence of ``cause`` at each of ``times`` (right-continuous).
    """
    event = np.asarray(event).astype(int)
    uniq, inverse = np.unique(np.asarray(time, dtype=float), return_inverse=True)
    n_total = np.bincount(inverse, minlength=uniq.size).astype(float)
    at_risk = n_total[::-1].cumsum()[::-1]
    d_any = np.bincount(inverse, weights=(event > 0).astype(float), minlength=uniq.size)
    d_cause = np.bincount(inverse, weights=(event == cause).astype(float), minlength=uniq.size)
    surv = np.cumprod(1.0 - d_any / at_risk)
    surv_before = np.concatenate([[1.0], surv[:-1]])
    return uniq, np.cumsum(surv_before * d_cause / at_risk)


def incidence_at(event, time, horizon, cause=1):
    """Aalen-Johansen (or ``1 -`` Kaplan-Meier) incidence of ``cause`` at ``horizon``.

    ``nan`` when ``horizon`` lies beyond the last observed time and someone was still at risk
    there (censored last: the estimate is unknown beyond), 0 before the first.
    """
    times, cif = aalen_johansen_curve(event, time, cause)
    if times.size == 0:
        return float("nan")
    if horizon > times[-1]:
        last = np.asarray(time, dtype=float) == times[-1]
        return float(cif[-1]) if np.all(np.asarray(event)[last] > 0) else float("nan")
    idx = np.searchsorted(times, horizon, side="right") - 1
    return float(cif[idx]) if idx >= 0 else 0.0


def censor_at(event, time, horizon):
    """Administrative censoring at ``horizon``: ``(event & time <= horizon, min(time, horizon))``."""
    event = np.asarray(event).astype(int)
    time = np.asarray(time, dtype=float)
    return np.where(time <= horizon, event, 0), np.minimum(time, horizon)


def _efron_terms(Z, beta, event, time, ties="efron"):
    """Per-term arrays of Efron's (or Breslow's) approximation over the distinct event times.

    One term per death: at a time with ``d`` tied deaths, the ``k``-th term removes ``k/d``
    of the deaths' weight from the risk set (Efron) or nothing (Breslow).
    """
    eta = Z @ beta
    r = np.exp(eta - eta.max())
    uniq, inverse = np.unique(time, return_inverse=True)
    m, p = uniq.size, Z.shape[1]
    dead = event.astype(float)
    zz = Z[:, :, None] * Z[:, None, :]

    def group(weights):
        flat = weights.reshape(weights.shape[0], -1)
        out = np.stack([np.bincount(inverse, weights=flat[:, c], minlength=m)
                        for c in range(flat.shape[1])], axis=1)
        return out.reshape((m,) + weights.shape[1:])

    s0 = group(r[:, None])[:, 0][::-1].cumsum()[::-1]
    s1 = group(r[:, None] * Z)[::-1].cumsum(axis=0)[::-1]
    s2 = group(r[:, None, None] * zz)[::-1].cumsum(axis=0)[::-1]
    d = np.bincount(inverse, weights=dead, minlength=m)
    d0 = group((r * dead)[:, None])[:, 0]
    d1 = group((r * dead)[:, None] * Z)
    d2 = group((r * dead)[:, None, None] * zz)
    j = np.repeat(np.flatnonzero(d > 0), d[d > 0].astype(int))
    frac = np.concatenate([np.arange(k) / k for k in d[d > 0].astype(int)]) if j.size else np.zeros(0)
    if ties == "breslow":
        frac = np.zeros_like(frac)
    den = s0[j] - frac * d0[j]
    num1 = s1[j] - frac[:, None] * d1[j]
    num2 = s2[j] - frac[:, None, None] * d2[j]
    return eta, r, uniq, d, j, den, num1, num2, p


def cox_efron_fit(Z, event, time, *, max_iter=100, tol=1e-12, what="cox_efron_fit"):
    """Cox partial-likelihood fit with Efron's ties, by Newton-Raphson with step halving.

    The same estimate as R's ``survival::coxph(..., ties = "efron")`` (its default), run to
    a tighter tolerance. Columns of ``Z`` are centred first, as coxph does. Raises a
    ``ValueError`` naming ``what`` when Newton-Raphson does not converge (an infinite
    estimate: the covariates order the events perfectly).

    Returns
    -------
    beta : ndarray of shape (p,)
    means : ndarray of shape (p,)
        The column means subtracted from ``Z``.
    """
    Z = np.asarray(Z, dtype=float)
    means = Z.mean(axis=0)
    Zc = Z - means
    event = np.asarray(event).astype(bool)
    time = np.asarray(time, dtype=float)

    def loglik_grad_info(beta):
        eta, r, _, _, _, den, num1, num2, _ = _efron_terms(Zc, beta, event, time)
        shift = eta.max()
        loglik = float(np.sum(eta[event] - shift) - np.sum(np.log(den)))
        a = num1 / den[:, None]
        grad = Zc[event].sum(axis=0) - a.sum(axis=0)
        info = (num2 / den[:, None, None]).sum(axis=0) - np.einsum("ki,kj->ij", a, a)
        return loglik, grad, info

    beta = np.zeros(Z.shape[1])
    loglik, grad, info = loglik_grad_info(beta)
    for _ in range(max_iter):
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            break
        for _halving in range(30):
            new_beta = beta + step
            new_loglik, new_grad, new_info = loglik_grad_info(new_beta)
            if np.isfinite(new_loglik) and new_loglik >= loglik - 1e-12 * abs(loglik):
                break
            step = step / 2.0
        converged = abs(new_loglik - loglik) <= tol * max(1.0, abs(loglik)) and np.max(np.abs(step)) < 1e-9
        beta, loglik, grad, info = new_beta, new_loglik, new_grad, new_info
        if converged:
            return beta, means
    raise ValueError(
        f"{what}: the Cox regression did not converge in {max_iter} Newton steps (the "
        "predictions order the events perfectly, or the spline columns are collinear); the "
        "calibration measure is not defined on these data"
    )


def cox_information(Z, beta, event, time, *, ties="efron", alpha=0.0):
    """Observed information of the Cox partial likelihood at ``beta`` (plus ``alpha * I``).

    The inverse is the model-based covariance that R's ``coxph`` prints (``vcov``), with
    ``ties`` as its ``ties=`` and ``alpha`` the ridge penalty ``0.5 * alpha * ||beta||^2``
    of scikit-survival's ``CoxPHSurvivalAnalysis`` (R: ``ridge(..., theta = alpha,
    scale = FALSE)``).
    """
    Z = np.asarray(Z, dtype=float)
    Zc = Z - Z.mean(axis=0)
    event = np.asarray(event).astype(bool)
    _, _, _, _, _, den, num1, num2, p = _efron_terms(Zc, np.asarray(beta, dtype=float), event,
                                                     np.asarray(time, dtype=float), ties)
    a = num1 / den[:, None]
    info = (num2 / den[:, None, None]).sum(axis=0) - np.einsum("ki,kj->ij", a, a)
    return info + alpha * np.eye(p)


def coef_table(names, coef, covariance, *, level=0.95):
    """The coefficient table a paper prints, as R's ``summary(coxph)`` does.

    Returns a DataFrame indexed by ``names`` with columns ``coef, se, z, p, hr, hr_lower,
    hr_upper``: Wald z, two-sided p-value and the ``level`` confidence interval of the hazard
    ratio ``exp(coef)``.
    """
    import pandas as pd
    from scipy.stats import norm

    coef = np.asarray(coef, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.diag(np.asarray(covariance, dtype=float)))
        z = coef / se
    half = norm.ppf(0.5 + level / 2) * se
    # a coefficient driven far off by separation (a subtype without any event) has an
    # interval whose upper end overflows: inf is its honest value
    with np.errstate(over="ignore", invalid="ignore"):
        hr, lower, upper = np.exp(coef), np.exp(coef - half), np.exp(coef + half)
    return pd.DataFrame(
        {"coef": coef, "se": se, "z": z, "p": 2 * norm.sf(np.abs(z)), "hr": hr,
         "hr_lower": lower, "hr_upper": upper},
        index=pd.Index(list(names), name="feature"),
    )


def cox_covariance(Z, coef, event, time, *, ties="efron", alpha=0.0):
    """Covariance of a fitted Cox model's coefficients: the inverse (penalized) information.

    All ``nan`` where the information is singular (a cause without any event, a constant
    column).
    """
    coef = np.asarray(coef, dtype=float)
    if not np.any(event):
        return np.full((coef.size, coef.size), np.nan)
    info = cox_information(Z, coef, event, time, ties=ties, alpha=alpha)
    try:
        return np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return np.full(info.shape, np.nan)


def efron_survival_at(Z, beta, means, event, time, horizon, Z_new=None):
    """Survival at ``horizon`` from a Cox fit on ``(Z, event, time)``, Efron-corrected hazard.

    ``exp(-H0(horizon) exp((z - means) beta))`` for each row ``z`` of ``Z_new`` (default
    ``Z``), with the baseline hazard of R's ``survfit.coxph`` for an Efron fit
    (``ctype = 2``, ``stype = 2``): each distinct event time with ``d`` deaths adds
    ``sum_{k<d} 1 / (S0 - k/d D0)``.
    """
    Zc = np.asarray(Z, dtype=float) - means
    event = np.asarray(event).astype(bool)
    time = np.asarray(time, dtype=float)
    eta, r, uniq, _, j, den, _, _, _ = _efron_terms(Zc, beta, event, time)
    shift = eta.max()  # r = exp(eta - shift): undo the shift in the hazard
    increments = np.zeros(uniq.size)
    np.add.at(increments, j, 1.0 / den)
    cumhaz = np.cumsum(increments) * np.exp(-shift)
    idx = np.searchsorted(uniq, horizon, side="right") - 1
    h0 = cumhaz[idx] if idx >= 0 else 0.0
    new = Zc if Z_new is None else np.asarray(Z_new, dtype=float) - means
    return np.exp(-h0 * np.exp(new @ beta))


def rcs_knots(x, n_knots=3):
    """Knots of a restricted cubic spline at the quantiles Harrell's ``rcspline.eval`` uses.

    Equally spaced quantiles (type 7) from 0.1 to 0.9 for 3 knots, 0.05 to 0.95 for 4 to 6
    and 0.025 to 0.975 for 7, the outer knots replaced by the 5th smallest and 5th largest
    values when there are fewer than 100 values (Hmisc's defaults).
    """
    outer = 0.1 if n_knots == 3 else (0.05 if n_knots < 7 else 0.025)
    probs = np.linspace(outer, 1 - outer, n_knots)
    x = np.asarray(x, dtype=float)
    knots = np.quantile(x, probs)
    if x.size < 100:
        xs = np.sort(x)
        knots[0], knots[-1] = xs[4], xs[-5]
    return knots


def rcs_basis(x, knots):
    """Restricted cubic spline basis of Harrell (``Hmisc::rcspline.eval``, ``norm = 2``).

    Columns: ``x`` then ``len(knots) - 2`` non-linear terms, linear beyond the outer knots.
    """
    x = np.asarray(x, dtype=float)
    k = np.asarray(knots, dtype=float)
    last, before_last = k[-1], k[-2]
    scale = (last - k[0]) ** 2
    columns = [x]
    for kj in k[:-2]:
        term = (np.maximum(x - kj, 0) ** 3
                - np.maximum(x - before_last, 0) ** 3 * (last - kj) / (last - before_last)
                + np.maximum(x - last, 0) ** 3 * (before_last - kj) / (last - before_last))
        columns.append(term / scale)
    return np.column_stack(columns)
