"""What every competing-risks estimator shares: the cause parameter, scoring, incidence."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.linalg import qr
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..preprocessing import ClinicalEncoder, summarize_inputs
from ..utils.constraints import MIN_FREQUENCY_CONSTRAINT
from ..utils.validation import FeatureTransformerMixin, LaterParamsMixin, check_cohort_frame
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


#: Defaults of those parameters, for model files written before the cohort table was accepted
#: (the ``_params_added_later`` of the estimators that take them).
COHORT_DEFAULTS = {"columns": None, "min_frequency": 5}

#: Constraints of the parameters that encode a cohort table.
COHORT_CONSTRAINTS = {
    "columns": [None, StrOptions({"clinical", "sarculator"}), list, tuple],
    "min_frequency": MIN_FREQUENCY_CONSTRAINT,
}


#: The docstring entries of those parameters and of the fitted encoding.
_COHORT_DOCS = {
    "    <cohort parameters>\n": """    columns : {"clinical", "sarculator"}, list of str or None, default=None
        How ``X`` is read. ``None``: a numeric matrix (array or all-numeric DataFrame) is
        used as it is, and the cohort table (a DataFrame with text columns) is encoded
        from its 11 clinical columns. A value: the cohort columns to encode, as for
        :class:`~sarcoma_survival.models.ClinicalRSF`. The encoding is the other cohort
        models' :class:`~sarcoma_survival.preprocessing.ClinicalEncoder` (fitted on the
        training patients only; imputed, z-scored numerics, one-hot categories), with the
        first category of each categorical column left out as the reference, so that the
        unpenalized fit has identifiable coefficients.
    min_frequency : int, default=5
        Categories seen fewer times in training are grouped into one column (cohort
        table only).
""",
    "    <cohort attributes>\n": """    feature_transformer_ : ClinicalEncoder or None
        The fitted encoding of the cohort table; None for a numeric ``X``.
    encoded_columns_ : ndarray of int
        The columns of ``feature_transformer_``'s output the model uses (all but the
        reference categories); only when fitted on the cohort table.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X is a DataFrame with string column names.
    training_summary_ : dict
        What the fit saw (patients, events of any cause, follow-up, time origin and, for
        the cohort table, the ranges of the columns read), for the model card and the
        warning on patients unlike the training set
        (:func:`~sarcoma_survival.preprocessing.summarize_inputs`).
""",
}


#: The docstring entries of ``fit``'s parameters and return (``fill_doc``).
FIT_DOC = """        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or the cohort DataFrame
            Numeric covariates, or the cohort table (see ``columns``).
        y : structured ndarray
            Competing-risks outcome (:func:`competing_y`).

        Returns
        -------
        self
"""

#: The docstring entries of ``predict``'s parameter and return (``fill_doc``).
PREDICT_DOC = """        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or the cohort DataFrame

        Returns
        -------
        ndarray of shape (n_samples,)
"""


def with_cohort_docs(cls):
    """Class decorator: write the cohort-table parameters and attributes into the docstring."""
    for mark, text in _COHORT_DOCS.items():
        cls.__doc__ = cls.__doc__.replace(mark, text)
    return cls


def is_cohort_table(X):
    """True for a DataFrame with a column that is not numeric (the cohort table, not a matrix)."""
    return isinstance(X, pd.DataFrame) and not all(
        pd.api.types.is_numeric_dtype(dtype) for dtype in X.dtypes)


class CompetingRisksMixin(LaterParamsMixin, FeatureTransformerMixin):
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
        """Check ``y`` (first, with the minimum fit size), the parameters and ``X``; set ``n_causes_``.

        Returns the matrix the model is fitted on: ``X`` itself when numeric (exactly as
        before the cohort table was accepted), or the cohort table encoded by
        :meth:`_fit_encoding`.
        """
        event, time = check_competing_fit_y(y, X, self)
        self._validate_params()
        table = X
        columns = getattr(self, "columns", None)
        if columns is None and not is_cohort_table(X):
            self.feature_transformer_ = None
            X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
            names = getattr(self, "feature_names_in_", None)
        else:
            X = self._fit_encoding(X, "clinical" if columns is None else columns)
            names = self.get_feature_names_out()
        if not self.alpha > 0:
            check_identifiable_columns(X, names, type(self).__name__)
        self.n_causes_ = n_causes(event, self.cause)
        self.training_summary_ = summarize_inputs(table, y, columns=getattr(self, "feature_names_in_", None))
        return X, event, time

    def _fit_encoding(self, X, columns):
        """Fit ``feature_transformer_`` (a :class:`~sarcoma_survival.preprocessing.ClinicalEncoder`)
        on the cohort table.

        The encoding of the other cohort models (training medians and modes, z-scored
        numerics, one-hot categories with rare ones grouped), with the first category of
        each categorical column left out as the reference level, so that an unpenalized
        fit (``alpha=0``) has identifiable coefficients, as R's treatment contrasts.
        """
        check_cohort_frame(X, self)
        encoder = ClinicalEncoder(columns, scale=True, min_frequency=self.min_frequency)
        Z = np.asarray(encoder.fit_transform(X), dtype=np.float64)
        self.feature_transformer_ = encoder
        self.encoded_columns_ = encoder.reference_contrasts()[2]
        self.feature_names_in_ = np.asarray(encoder.feature_names_in_, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return Z[:, self.encoded_columns_]

    def _matrix(self, X):
        """The fitted model's matrix of new patients: ``X`` validated, or the cohort table encoded."""
        check_is_fitted(self, "coef_")
        if getattr(self, "feature_transformer_", None) is None:  # numeric X (and older model files)
            return validate_data(self, X, dtype=np.float64, reset=False)
        check_cohort_frame(X, self)
        return np.asarray(self.feature_transformer_.transform(X), dtype=np.float64)[:, self.encoded_columns_]

    def get_feature_names_out(self, input_features=None):
        """Names of the columns the model's coefficients belong to.

        The encoded features when fitted on the cohort table (a reference category of each
        categorical column left out), else ``feature_names_in_`` or ``x0, x1, ...``.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "n_features_in_")
        if getattr(self, "feature_transformer_", None) is not None:
            names = np.asarray(self.feature_transformer_.get_feature_names_out(), dtype=object)
            return names[self.encoded_columns_]
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return np.asarray([f"x{j}" for j in range(self.n_features_in_)], dtype=object)
        return np.asarray(names, dtype=object)

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
