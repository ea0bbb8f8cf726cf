"""What every competing-risks estimator shares: the cause parameter, scoring, incidence."""
from __future__ import annotations

import numpy as np
from scipy.linalg import qr
from sklearn.utils.validation import validate_data

from ._hazards import check_times
from ._metrics import concordance_index_competing
from ._outcome import check_competing_fit_y, n_causes


def check_identifiable_columns(X, names, owner):
    """Refuse constant or collinear columns for an unpenalized Cox-type fit, naming them.

    A Cox model has no intercept: the baseline hazard absorbs any constant, so a constant
    column, or a column that is a linear combination of others (once each is centred), has
    no estimable coefficient. Newton-Raphson then stalls on a singular Hessian, which
    looks like separation or ends in a ``LinAlgError``; this check says what is wrong.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    names : array-like of str or None
        Column names (``feature_names_in_``); ``column <j>`` when None.
    owner : str
        Estimator named in the message.

    Raises
    ------
    ValueError
        Naming the constant columns, or a dependent column and those it is a combination of.
    """
    names = [f"column {j}" for j in range(X.shape[1])] if names is None else [str(n) for n in names]
    spread = np.ptp(X, axis=0)
    constant = np.flatnonzero(spread <= 1e-12 * np.maximum(np.abs(X).max(axis=0, initial=0.0), 1.0))
    if constant.size:
        raise ValueError(
            f"{owner}: column(s) {', '.join(repr(names[j]) for j in constant)} are constant in the "
            "training data; a Cox model cannot estimate their effect (the baseline hazard absorbs "
            "it): drop them, or set alpha > 0 (a ridge penalty)"
        )
    if X.shape[1] < 2:
        return
    scaled = (X - X.mean(axis=0)) / spread
    _, r, pivot = qr(scaled, mode="economic", pivoting=True)
    diagonal = np.abs(np.diag(r))
    rank = int(np.sum(diagonal > 1e-10 * max(X.shape) * diagonal[0]))
    if rank == X.shape[1]:
        return
    dependent, independent = pivot[rank], np.sort(pivot[:rank])
    coef = np.linalg.lstsq(scaled[:, independent], scaled[:, dependent], rcond=None)[0]
    involved = independent[np.abs(coef) > 1e-6]
    raise ValueError(
        f"{owner}: column {names[dependent]!r} is collinear with "
        f"{', '.join(repr(names[j]) for j in involved)} (a linear combination of them in the "
        "training data), so a Cox model cannot tell their effects apart: drop one of them, or set "
        "alpha > 0 (a ridge penalty)"
    )


class CompetingRisksMixin:
    """``score`` (cause-specific concordance) and tags shared by the estimators."""

    def score(self, X, y):
        """Cause-specific concordance of :meth:`predict` on ``y`` (Wolbers et al. 2014).

        Parameters
        ----------
        X : array-like or DataFrame
        y : structured ndarray
            Competing-risks outcome (:func:`competing_y`).

        Returns
        -------
        float
            IPCW concordance for ``self.cause``, no truncation (see
            :func:`concordance_index_competing`).
        """
        return concordance_index_competing(y, self.predict(X), cause=self.cause)

    def _validated_numeric_fit(self, X, y):
        """Check ``y`` (first, with the minimum fit size), the parameters and a numeric ``X``; set ``n_causes_``."""
        event, time = check_competing_fit_y(y, X, self)
        self._validate_params()
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        if not self.alpha > 0:
            check_identifiable_columns(X, getattr(self, "feature_names_in_", None), type(self).__name__)
        self.n_causes_ = n_causes(event, self.cause)
        return X, event, time

    def predict_cumulative_incidence(self, X, times):
        """Cumulative incidence of ``cause`` at ``times``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or the cohort DataFrame
        times : array-like of shape (n_times,)
            Days, finite, > 0 and increasing.

        Returns
        -------
        ndarray of shape (n_samples, n_times)
        """
        return self._cumulative_incidence(X, check_times(times))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
