"""Encoding of the clinical columns of the cohort table into a numeric matrix."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from .._schema import (
    BOOLEAN_COLUMNS,
    CATEGORIES,
    CLINICAL_COLUMNS,
    FREE_CATEGORICAL_COLUMNS,
    NUMERIC_COLUMNS,
    SARCULATOR_COLUMNS,
    canonical_categories,
    check_plausible,
    parse_boolean,
)
from ..utils.constraints import MIN_FREQUENCY_CONSTRAINT

logger = logging.getLogger(__name__)

_FEATURE_SETS = {"clinical": CLINICAL_COLUMNS, "sarculator": SARCULATOR_COLUMNS}


def resolve_clinical_columns(columns):
    """Return the list of column names meant by ``columns``.

    ``"clinical"`` gives the paper's 11 clinical variables, ``"sarculator"`` the 4
    Sarculator variables; a list is returned as a list.

    Examples
    --------
    >>> from sarcoma_survival.preprocessing._clinical import resolve_clinical_columns
    >>> resolve_clinical_columns("sarculator")
    ['age', 'tumor_size_cm', 'grade', 'histology']
    """
    if isinstance(columns, str):
        if columns not in _FEATURE_SETS:
            raise ValueError(
                f"columns={columns!r} is not a known feature set; use one of "
                f"{sorted(_FEATURE_SETS)} or a list of column names"
            )
        return list(_FEATURE_SETS[columns])
    columns = list(columns)
    if not columns:
        raise ValueError("columns must name at least one column")
    return columns


class ClinicalEncoder(TransformerMixin, BaseEstimator):
    """Impute, one-hot encode and scale the clinical columns of a cohort table.

    Every imputation value, category list and scaling statistic is learnt in ``fit``
    (on training patients only), so a cross-validated pipeline never leaks test
    patients into the encoding. Categoricals are one-hot encoded (never integer-coded
    by order of appearance); categories seen fewer than ``min_frequency`` times in
    training (rare histology subtypes) are grouped into one "infrequent" column.
    Missing values: numerics take the training median, booleans and categoricals the
    most frequent training value. A column with no observed value in the training data
    is left out (logged, and listed in ``dropped_columns_``).

    Values are read the way :func:`~sarcoma_survival.datasets.load_cohort` reads a
    manifest, with the same functions: categories in their canonical spelling
    (:func:`~sarcoma_survival.utils.validation.canonical_categories`: ``"High"`` and
    ``"grade 3"`` are ``"high"``, histology is lower-cased and ``"MFH"`` is
    ``"undifferentiated pleomorphic sarcoma"``), booleans by
    :func:`~sarcoma_survival.utils.validation.parse_boolean`, and age, tumour size and
    volume checked against their plausible ranges
    (:func:`~sarcoma_survival.utils.validation.check_plausible`). A value that is not
    an allowed category of a closed-set column (sex ``"X"``) is an error naming the
    patient, column and value, in ``fit`` and in ``transform``. Columns are selected by
    name, so their order and any extra column do not matter.

    Parameters
    ----------
    columns : {"clinical", "sarculator"} or list of str, default="clinical"
        The columns to encode: the paper's 11 clinical variables, the 4 Sarculator
        variables (age, tumour size, grade, histology) or explicit column names.
        Unknown names are encoded as numeric when their dtype is numeric and as
        categorical otherwise.
    scale : bool, default=True
        Standardise numeric columns (z-score with training mean and SD).
    min_frequency : int, default=5
        Categories with fewer training patients than this are grouped.
    handle_unknown : {"infrequent", "error"}, default="infrequent"
        What ``transform`` does with a valid category never seen in training (an
        unseen histology subtype): ``"infrequent"`` encodes it like the rare training
        categories (their grouped column, or all zeros for that column when no training
        category was rare); ``"error"`` raises a ``ValueError`` naming the patient,
        column and value.

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        The encoded input columns, in encoding order.
    numeric_columns_, boolean_columns_, categorical_columns_ : list of str
        How each input column was treated.
    dropped_columns_ : list of str
        Requested columns left out because no training patient had a value.
    categories_ : dict of str to list
        The categories of each categorical column seen in training, sorted (the one-hot
        columns, rare ones aside; what a form offering the model's inputs lists).
    transformer_ : sklearn.compose.ColumnTransformer
        The fitted encoder.

    Examples
    --------
    >>> import pandas as pd
    >>> from sarcoma_survival.preprocessing import ClinicalEncoder
    >>> X = pd.DataFrame({"age": [50.0, 60.0, None], "tumor_size_cm": [5.0, 9.0, 12.0],
    ...                   "grade": ["high", "low", "high"],
    ...                   "histology": ["Myxofibrosarcoma", "Liposarcoma", None]})
    >>> enc = ClinicalEncoder("sarculator", min_frequency=1).fit(X)
    >>> enc.transform(X).shape
    (3, 6)
    >>> list(enc.get_feature_names_out())[:2]
    ['age', 'tumor_size_cm']
    """

    _parameter_constraints = {
        "columns": [StrOptions(set(_FEATURE_SETS)), list, tuple],
        "scale": ["boolean"],
        "min_frequency": MIN_FREQUENCY_CONSTRAINT,
        "handle_unknown": [StrOptions({"infrequent", "error"})],
    }

    def __init__(self, columns="clinical", *, scale=True, min_frequency=5,
                 handle_unknown="infrequent"):
        self.columns = columns
        self.scale = scale
        self.min_frequency = min_frequency
        self.handle_unknown = handle_unknown

    def _select(self, X, columns):
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                "ClinicalEncoder needs the cohort table as a pandas DataFrame with named "
                f"columns; got {type(X).__name__}"
            )
        missing = [c for c in columns if c not in X.columns]
        if missing:
            raise ValueError(
                f"the cohort table lacks column(s) {', '.join(map(repr, missing))} "
                f"needed for columns={self.columns!r}"
            )
        return X.loc[:, list(columns)]

    def _kind(self, name, series):
        if name in NUMERIC_COLUMNS:
            return "numeric"
        if name in BOOLEAN_COLUMNS:
            return "boolean"
        if name in CATEGORIES or name in FREE_CATEGORICAL_COLUMNS:
            return "categorical"
        if pd.api.types.is_bool_dtype(series):
            return "boolean"
        if pd.api.types.is_numeric_dtype(series):
            return "numeric"
        return "categorical"

    def _coerce(self, frame):
        out = {}
        ids = list(frame.index)
        for name in frame.columns:
            series = frame[name]
            kind = self._kinds_[name]
            if kind == "numeric":
                try:
                    values = pd.to_numeric(series, errors="raise").astype(float)
                except (ValueError, TypeError) as exc:
                    raise ValueError(f"column {name!r} must be numeric: {exc}") from None
                out[name] = check_plausible(values.to_numpy(), column=name, ids=ids)
            elif kind == "boolean":
                out[name] = parse_boolean(series.to_numpy(dtype=object), column=name, ids=ids)
            else:
                out[name] = canonical_categories(series.to_numpy(dtype=object), column=name, ids=ids)
        return pd.DataFrame(out, index=frame.index)

    def _check_known(self, frame):
        """Name the patients whose category was never seen in training (``handle_unknown="error"``)."""
        if self.handle_unknown != "error":
            return
        for name in self.categorical_columns_:
            seen = set(self.categories_[name])
            values = frame[name]
            unknown = [
                f"{patient} ({value!r})" for patient, value in values.items()
                if isinstance(value, str) and value not in seen
            ]
            if unknown:
                raise ValueError(
                    f"column {name!r}: patient(s) {', '.join(unknown[:10])}: category not seen in "
                    f"training (training categories: {', '.join(sorted(seen))}); "
                    "handle_unknown='infrequent' encodes such values like rare categories"
                )

    def fit(self, X, y=None):
        """Learn imputation values, categories and scaling from training patients.

        Parameters
        ----------
        X : DataFrame
            The cohort table (extra columns are ignored).
        y : ignored

        Returns
        -------
        self : ClinicalEncoder
        """
        self._validate_params()
        columns = resolve_clinical_columns(self.columns)
        frame = self._select(X, columns)
        self._kinds_ = {name: self._kind(name, frame[name]) for name in columns}
        frame = self._coerce(frame)
        self.dropped_columns_ = [c for c in columns if frame[c].isna().all()]
        if self.dropped_columns_:
            logger.info("ClinicalEncoder: no training value in %s; left out", self.dropped_columns_)
        kept = [c for c in columns if c not in self.dropped_columns_]
        if not kept:
            raise ValueError(f"none of the columns {columns} has a value in the training data")
        self.numeric_columns_ = [c for c in kept if self._kinds_[c] == "numeric"]
        self.boolean_columns_ = [c for c in kept if self._kinds_[c] == "boolean"]
        self.categorical_columns_ = [c for c in kept if self._kinds_[c] == "categorical"]
        steps = []
        if self.numeric_columns_:
            numeric = [SimpleImputer(strategy="median")]
            if self.scale:
                numeric.append(StandardScaler())
            steps.append(("numeric", make_pipeline(*numeric), self.numeric_columns_))
        if self.boolean_columns_:
            steps.append(("boolean", SimpleImputer(strategy="most_frequent"), self.boolean_columns_))
        if self.categorical_columns_:
            categorical = make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    min_frequency=self.min_frequency,
                    sparse_output=False,
                ),
            )
            steps.append(("categorical", categorical, self.categorical_columns_))
        self.categories_ = {
            c: sorted(frame[c].dropna().unique().tolist()) for c in self.categorical_columns_
        }
        self.transformer_ = ColumnTransformer(steps, verbose_feature_names_out=False)
        self.transformer_.fit(frame[kept])
        self.feature_names_in_ = np.asarray(kept, dtype=object)
        self.n_features_in_ = len(kept)
        return self

    def transform(self, X):
        """Encode patients with the statistics learnt in ``fit``.

        Parameters
        ----------
        X : DataFrame
            The cohort table (extra columns are ignored, order does not matter).

        Returns
        -------
        ndarray of float64, shape (n_patients, n_features_out)
        """
        check_is_fitted(self, "transformer_")
        frame = self._coerce(self._select(X, list(self.feature_names_in_)))
        self._check_known(frame)
        return np.asarray(self.transformer_.transform(frame), dtype=np.float64)

    def get_feature_names_out(self, input_features=None):
        """Names of the encoded columns.

        Parameters
        ----------
        input_features : ignored
            Present for scikit-learn API compatibility.

        Returns
        -------
        ndarray of str
            Numeric and boolean columns keep their names; one-hot columns are named
            ``<column>_<category>`` (``<column>_infrequent_sklearn`` for the group of
            rare categories).
        """
        check_is_fitted(self, "transformer_")
        return np.asarray(self.transformer_.get_feature_names_out(), dtype=object)

    def one_hot_blocks(self):
        """The encoded columns of each categorical column, in output order.

        Returns
        -------
        dict of str to list of int
            For each categorical column, the indices of its one-hot columns (the first is
            the reference level of :meth:`reference_contrasts`).

        Examples
        --------
        >>> import pandas as pd
        >>> from sarcoma_survival.preprocessing import ClinicalEncoder
        >>> X = pd.DataFrame({"age": [40.0, 60.0, 70.0, 50.0], "grade": ["low", "high", "high", "low"]})
        >>> ClinicalEncoder(["age", "grade"], min_frequency=1).fit(X).one_hot_blocks()
        {'grade': [1, 2]}
        """
        check_is_fitted(self, "transformer_")
        if not self.categorical_columns_:
            return {}
        # counted from the one-hot encoder itself, not from the output names: a column named
        # "site" would otherwise claim the columns of a column named "site_detail"
        onehot = self.transformer_.named_transformers_["categorical"][-1]
        rare = getattr(onehot, "infrequent_categories_", [None] * len(onehot.categories_))
        start = len(self.numeric_columns_) + len(self.boolean_columns_)  # the output order of fit's steps
        blocks = {}
        for column, categories, infrequent in zip(self.categorical_columns_, onehot.categories_, rare):
            width = len(categories) if infrequent is None else len(categories) - len(infrequent) + 1
            blocks[column] = list(range(start, start + width))
            start += width
        return blocks

    def reference_contrasts(self):
        """The identifiable effects of a linear model on the encoded columns.

        Each patient has exactly one one-hot column set per categorical column, so a Cox
        model's coefficients of one block are identified only up to a common shift (the
        baseline hazard absorbs it; a ridge penalty picks one): only their differences
        have a meaning. The rows of ``matrix`` turn the coefficients into those
        differences against each block's first (reference) level, as R's treatment
        contrasts do, and keep the numeric and boolean coefficients as they are.

        Returns
        -------
        names : list of str
            ``"<column>_<level> vs <column>_<reference>"`` for a level, else the column's name.
        matrix : ndarray of shape (n_effects, n_features_out)
        columns : ndarray of int
            The encoded columns that make the treatment-coded design: ``Z[:, columns] @
            (matrix @ coef)`` differs from ``Z @ coef`` by one constant for every patient.

        Examples
        --------
        >>> import pandas as pd
        >>> from sarcoma_survival.preprocessing import ClinicalEncoder
        >>> X = pd.DataFrame({"age": [40.0, 60.0, 70.0, 50.0], "grade": ["low", "high", "high", "low"]})
        >>> names, matrix, columns = ClinicalEncoder(["age", "grade"], min_frequency=1).fit(X).reference_contrasts()
        >>> names
        ['age', 'grade_low vs grade_high']
        >>> matrix.tolist(), columns.tolist()
        ([[1.0, 0.0, 0.0], [0.0, -1.0, 1.0]], [0, 2])
        """
        names = [str(name) for name in self.get_feature_names_out()]
        blocks = self.one_hot_blocks().values()
        reference = {block[0] for block in blocks}
        level_of = {j: block[0] for block in blocks for j in block[1:]}
        rows, labels, columns = [], [], []
        for j, name in enumerate(names):
            if j in reference:
                continue
            row = np.zeros(len(names))
            row[j] = 1.0
            if j in level_of:
                row[level_of[j]] = -1.0
                name = f"{name} vs {names[level_of[j]]}"
            rows.append(row)
            labels.append(name)
            columns.append(j)
        return labels, np.asarray(rows).reshape(len(rows), len(names)), np.asarray(columns, dtype=np.intp)
