"""Validation of inputs, with errors that name the offending patient, column and value.

One home for the checks that the loader and every estimator share: survival targets
(fields identified by dtype), the minimum training size, the cohort table's frame, the
"auto" choice between the cohort encoder and the numeric path, and scikit-learn's
feature-name contract. The readers of the cohort's values (the boolean parser, the
canonical spelling of categories, plausible ranges, what is missing) belong to the cohort
contract, ``sarcoma_survival._schema``, and are re-exported here.
"""
from __future__ import annotations

import datetime
import warnings

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted, validate_data
from sksurv.base import SurvivalAnalysisMixin
from sksurv.util import Surv, check_y_survival

# The cohort contract's parsers live with the schema; re-exported here, where they were.
from .._schema import (  # noqa: F401
    CATEGORIES,
    CATEGORY_SYNONYMS,
    CLINICAL_COLUMNS,
    FREE_CATEGORICAL_COLUMNS,
    HISTOLOGY_NAMES,
    HISTOLOGY_SYNONYMS,
    IMAGE_COLUMNS,
    PLAUSIBLE_RANGES,
    POSITIVE_COLUMNS,
    TIME_ORIGIN_COLUMN,
    TIME_ORIGIN_NOT_STATED,
    TIME_ORIGINS,
    canonical_categories,
    canonical_histology,
    canonical_time_origin,
    check_plausible,
    is_missing,
    listing,
    parse_boolean,
    patient_labels,
)

#: Fewest training patients a fit accepts. Below 10 a model has almost no pair of
#: patients to rank and saves near-constant predictions; 10 still lets 5-fold
#: cross-validation run on the 51-patient TCIA cohort (about 40 training patients per
#: fold) and 2-fold CV on a 20-patient cohort.
MIN_FIT_PATIENTS = 10

#: Fewest observed events a fit accepts. With one event every partial likelihood and
#: every split of a survival tree contrasts that single patient against the rest; two is
#: the least that can order events. TCIA's OS (15 events) keeps about 12 per training
#: fold of a 5-fold CV, its DM (24 events) about 19.
MIN_FIT_EVENTS = 2


__all__ = [
    "as_survival_array",
    "canonical_categories",
    "check_fit_y",
    "check_plausible",
    "check_survival_y",
    "check_time_values",
    "canonical_time_origin",
    "cohort_time_origin",
    "time_since_label",
    "parse_boolean",
    "survival_fields",
]


def _patient_labels(X, n):
    index = getattr(X, "index", None)
    return patient_labels(index if index is not None and len(index) == n else None, n)


def check_time_values(values, what="time"):
    """``values`` as an array, refused when it holds dates or durations instead of numbers of days.

    numpy and pandas turn a date into a number without a word (days since 1970, or
    nanoseconds), and a duration into a number in its own unit, so a table of dates would
    be read as survival times of 18,000 days or 10^18. Every outcome check calls this.

    Parameters
    ----------
    values : array-like
    what : str, default="time"
        Named in the message.

    Returns
    -------
    ndarray

    Raises
    ------
    ValueError
        For a ``datetime64`` or ``timedelta64`` dtype, or objects that are dates, datetimes,
        pandas Timestamps or durations.

    Examples
    --------
    >>> import numpy as np
    >>> from sarcoma_survival.utils.validation import check_time_values
    >>> check_time_values(np.array(["2020-01-31"], dtype="datetime64[D]"))
    Traceback (most recent call last):
    ...
    ValueError: time holds dates or durations (dtype datetime64[D]), not numbers of days: ...
    """
    raw = np.asarray(values)
    dated = raw.dtype.kind in "Mm" or (raw.dtype == object and any(
        isinstance(v, (datetime.date, datetime.timedelta, np.datetime64, np.timedelta64)) for v in raw.ravel()))
    if dated:
        raise ValueError(
            f"{what} holds dates or durations (dtype {raw.dtype}), not numbers of days: give the days "
            "from the cohort's time origin (its time_origin, e.g. surgery) to the event or censoring, for example "
            "(end_date - surgery_date) / np.timedelta64(1, 'D')"
        )
    return raw


def survival_fields(y):
    """Names of the event and time fields of a structured survival ``y``, found by dtype.

    The boolean field is the event and the numeric one the time, whatever their order
    (scikit-survival's whas500 names them ``fstat`` and ``lenfol``).

    Parameters
    ----------
    y : structured ndarray with two fields

    Returns
    -------
    event_field, time_field : str

    Raises
    ------
    ValueError
        If ``y`` is not a structured array with exactly one boolean and one numeric field.

    Examples
    --------
    >>> import numpy as np
    >>> from sarcoma_survival.utils.validation import survival_fields
    >>> y = np.zeros(2, dtype=[("lenfol", float), ("fstat", bool)])
    >>> survival_fields(y)
    ('fstat', 'lenfol')
    """
    dtype = getattr(y, "dtype", None)
    if dtype is None or dtype.names is None or len(dtype.names) != 2:
        raise ValueError(
            "y must be a structured array with an event (bool) and a time (float) "
            "field, for example sksurv.util.Surv.from_arrays(event, time); "
            f"got {type(y).__name__} with dtype {dtype}"
        )
    for name in dtype.names:
        if dtype[name].kind in "Mm":
            check_time_values(np.empty(0, dtype[name]), what=f"the field {name!r} of y")
    boolean = [n for n in dtype.names if np.issubdtype(dtype[n], np.bool_)]
    numeric = [
        n for n in dtype.names
        if n not in boolean and np.issubdtype(dtype[n], np.number)
    ]
    if len(boolean) != 1 or len(numeric) != 1:
        fields = ", ".join(f"{n!r} ({dtype[n]})" for n in dtype.names)
        raise ValueError(
            "y must have one boolean field (the event) and one numeric field (the time); "
            f"got fields {fields}. Build it with sksurv.util.Surv.from_arrays(event, time)"
        )
    return boolean[0], numeric[0]


def as_survival_array(y):
    """``y`` as scikit-survival expects it: the event field first, then the time.

    Field names are kept; a ``y`` already in that order is returned unchanged.

    Parameters
    ----------
    y : structured ndarray

    Returns
    -------
    structured ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from sarcoma_survival.utils.validation import as_survival_array
    >>> y = np.array([(5.0, True)], dtype=[("lenfol", float), ("fstat", bool)])
    >>> as_survival_array(y).dtype.names
    ('fstat', 'lenfol')
    """
    event_field, time_field = survival_fields(y)
    if y.dtype.names == (event_field, time_field):
        return y
    return Surv.from_arrays(
        np.asarray(y[event_field], dtype=bool), np.asarray(y[time_field], dtype=float),
        name_event=event_field, name_time=time_field,
    )


def _two_fields(y, what):
    """The dtype of a structured ``y`` with two fields (event, time); else a ValueError."""
    dtype = getattr(y, "dtype", None)
    if dtype is None or dtype.names is None or len(dtype.names) != 2:
        raise ValueError(f"y must be {what}; got {type(y).__name__} with dtype {dtype}")
    return dtype


def check_survival_y(y, X=None, *, allow_all_censored=False):
    """Validate a scikit-survival structured array and return ``(event, time)``.

    The fields are identified by dtype (:func:`survival_fields`), not by position.

    Parameters
    ----------
    y : structured ndarray
        Survival outcome with a boolean event field and a float time field, as made by
        :func:`sksurv.util.Surv.from_arrays`.
    X : DataFrame or array-like, optional
        The matching features. Its length must equal ``len(y)``; when it is a
        DataFrame, error messages name patients by its index.
    allow_all_censored : bool, default=False
        Accept a ``y`` without any event (only sensible for scoring, not fitting).

    Returns
    -------
    event : ndarray of bool, shape (n_samples,)
    time : ndarray of float64, shape (n_samples,)

    Raises
    ------
    ValueError
        If ``y`` is not a structured survival array, if its length differs from
        ``X``, if a time is NaN, infinite, zero or negative (the message names the
        patients), or if no event is observed.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.utils.validation import check_survival_y
    >>> event, time = check_survival_y(Surv.from_arrays([True, False], [10.0, 20.0]))
    >>> event.tolist(), time.tolist()
    ([True, False], [10.0, 20.0])
    """
    event_field, time_field = survival_fields(y)
    if X is not None and len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} entries")
    time_raw = np.asarray(y[time_field], dtype=float)
    labels = None
    bad = ~np.isfinite(time_raw)
    if bad.any():
        labels = _patient_labels(X, len(y))
        names = ", ".join(labels[i] for i in np.flatnonzero(bad)[:10])
        raise ValueError(f"survival time is NaN or infinite for: {names}")
    bad = time_raw <= 0
    if bad.any():
        labels = _patient_labels(X, len(y))
        names = ", ".join(
            f"{labels[i]} ({time_raw[i]:g})" for i in np.flatnonzero(bad)[:10]
        )
        raise ValueError(f"survival times must be > 0; zero or negative for: {names}")
    event = np.asarray(y[event_field], dtype=bool)
    if not event.any() and not allow_all_censored:
        raise ValueError("y has no observed event: all samples are censored")
    if event.any():
        # scikit-survival's own structural checks, once ours have passed.
        check_y_survival(as_survival_array(y))
    return event, time_raw


def check_cohort_frame(X, estimator, *, allow_empty=False):
    """Raise a clear error unless ``X`` is a cohort DataFrame (non-empty unless ``allow_empty``).

    The one check of every estimator and transformer that takes the cohort table: a
    ``TypeError`` for another type of ``X``, a ``ValueError`` for a table without rows.

    Parameters
    ----------
    X : object
    estimator : object or str
        The estimator (or a name) that the message names.
    allow_empty : bool, default=False

    Examples
    --------
    >>> from sarcoma_survival.utils.validation import check_cohort_frame
    >>> check_cohort_frame([[1.0]], "MyModel")
    Traceback (most recent call last):
    ...
    TypeError: MyModel takes the cohort table as a pandas DataFrame (one row per patient, named columns); got list
    """
    name = estimator if isinstance(estimator, str) else type(estimator).__name__
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"{name} takes the cohort table as a pandas DataFrame (one row per patient, named "
            f"columns); got {type(X).__name__}"
        )
    if len(X) == 0 and not allow_empty:
        raise ValueError(f"{name}: the cohort table has no rows")


def check_fit_y(y, X, estimator):
    """Validate the training outcome of a fit and return it in scikit-survival's order.

    :func:`check_survival_y`, then the minimum training size: at least
    :data:`MIN_FIT_PATIENTS` patients and :data:`MIN_FIT_EVENTS` events. The time
    origin of the training cohort (:func:`cohort_time_origin`) is recorded on
    ``estimator`` as its fitted attribute ``time_origin_``, as scikit-learn's
    ``validate_data`` records ``feature_names_in_``: every estimator of the package
    calls this function first in ``fit``.

    Parameters
    ----------
    y : structured ndarray
    X : DataFrame or array-like
        The training features (patients named by its index).
    estimator : object
        The estimator being fitted (named in the messages).

    Returns
    -------
    event : ndarray of bool
    time : ndarray of float64
    y : structured ndarray
        ``y`` with its event field first (:func:`as_survival_array`).

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.utils.validation import check_fit_y
    >>> y = Surv.from_arrays([True, False] * 5, range(1, 11))
    >>> check_fit_y(y, None, "model")[0].sum()
    np.int64(5)
    """
    event, time = check_survival_y(y, X)
    name = estimator if isinstance(estimator, str) else type(estimator).__name__
    if len(time) < MIN_FIT_PATIENTS:
        raise ValueError(
            f"{name}: cannot fit on {len(time)} patients; fitting needs at least "
            f"{MIN_FIT_PATIENTS} (sarcoma_survival.utils.validation.MIN_FIT_PATIENTS): a "
            "model fitted on fewer predicts near constants"
        )
    n_events = int(event.sum())
    if n_events < MIN_FIT_EVENTS:
        raise ValueError(
            f"{name}: cannot fit with {n_events} event{'s' if n_events != 1 else ''} in y; "
            f"fitting needs at least {MIN_FIT_EVENTS} observed events "
            "(sarcoma_survival.utils.validation.MIN_FIT_EVENTS)"
        )
    if not isinstance(estimator, str):
        estimator.time_origin_ = cohort_time_origin(X)
    return event, time, as_survival_array(y)


# --------------------------------------------------------------------------- time origin
def cohort_time_origin(X):
    """The time origin a cohort table states in its ``time_origin`` column.

    Parameters
    ----------
    X : DataFrame or other
        The cohort table. Anything else (an array), or a table without the column, states
        none.

    Returns
    -------
    str
        The canonical origin (:func:`canonical_time_origin`), or ``"not stated"``.

    Raises
    ------
    ValueError
        When the column holds an unknown origin, or different origins (or an origin for
        some patients only): one cohort has one day 0. The message names the patients.

    Examples
    --------
    >>> import pandas as pd
    >>> from sarcoma_survival.utils.validation import cohort_time_origin
    >>> cohort_time_origin(pd.DataFrame({"time_origin": ["Surgery", "surgery"]}, index=["P1", "P2"]))
    'surgery'
    >>> cohort_time_origin(pd.DataFrame({"age": [50.0]}))
    'not stated'
    """
    if not isinstance(X, pd.DataFrame) or TIME_ORIGIN_COLUMN not in X.columns:
        return TIME_ORIGIN_NOT_STATED
    ids = _patient_labels(X, len(X))
    origins = [
        TIME_ORIGIN_NOT_STATED if is_missing(value)
        else canonical_time_origin(value, where=f"column {TIME_ORIGIN_COLUMN!r}, patient {ids[i]}")
        for i, value in enumerate(X[TIME_ORIGIN_COLUMN].to_numpy())
    ]
    distinct = list(dict.fromkeys(origins))
    if len(distinct) > 1:
        first = distinct[0]
        other = [f"{ids[i]} ({o})" for i, o in enumerate(origins) if o != first]
        raise ValueError(
            f"column {TIME_ORIGIN_COLUMN!r} states more than one time origin: {first} for patient "
            f"{ids[origins.index(first)]}, another for patient(s) {listing(other)}; one cohort has one day 0"
        )
    return distinct[0] if distinct else TIME_ORIGIN_NOT_STATED


def time_since_label(origin, unit="days"):
    """The axis and column label of times measured from ``origin``.

    Parameters
    ----------
    origin : str or None
        A time origin (:func:`canonical_time_origin` spellings), ``"not stated"`` or None.
    unit : str, default="days"

    Returns
    -------
    str

    Examples
    --------
    >>> from sarcoma_survival.utils.validation import time_since_label
    >>> time_since_label("surgery"), time_since_label("mri"), time_since_label("not stated")
    ('days since surgery', 'days since the MRI', 'days (time origin not stated)')
    """
    origin = canonical_time_origin(origin)
    if origin == TIME_ORIGIN_NOT_STATED:
        return f"{unit} (time origin not stated)"
    return f"{unit} since {TIME_ORIGINS[origin]}"


# --------------------------------------------------------------------------- table values
def clinical_encoding(X, estimator, *, columns=CLINICAL_COLUMNS, ignore=IMAGE_COLUMNS):
    """Decide what an ``"auto"`` clinical preprocessing does with ``X``.

    The cohort encoder only when ``X`` is a DataFrame holding EVERY column of
    ``columns`` (the estimator's schema columns); otherwise the numeric path, which
    needs every other column (image columns aside) to be numeric.

    Parameters
    ----------
    X : DataFrame or array-like
    estimator : object
        Named in the message.
    columns : sequence of str, default=the 11 clinical columns
    ignore : sequence of str, default=the image columns
        Columns the numeric path leaves out (read by another part of the estimator).

    Returns
    -------
    "encoder" or list of str or None
        ``"encoder"``; or the numeric columns of a DataFrame for the numeric path;
        ``None`` for an array (numeric path on all its columns).

    Raises
    ------
    ValueError
        When the numeric path meets non-numeric columns: names them and the schema
        columns that are missing for the encoder.

    Examples
    --------
    >>> import pandas as pd
    >>> from sarcoma_survival.utils.validation import clinical_encoding
    >>> clinical_encoding(pd.DataFrame({"age": [60.0], "bmi": [25.0]}), "model")
    ['age', 'bmi']
    """
    if not isinstance(X, pd.DataFrame):
        return None
    if all(c in X.columns for c in columns):
        return "encoder"
    rest = [c for c in X.columns if c not in ignore]
    text = [c for c in rest if not (pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]))]
    if text:
        name = estimator if isinstance(estimator, str) else type(estimator).__name__
        missing = [c for c in columns if c not in X.columns]
        raise ValueError(
            f"{name}: X has non-numeric column(s) {listing(map(repr, text))} and lacks "
            f"{listing(map(repr, missing))} of the {len(columns)} schema columns that the "
            "cohort encoder needs; give all of them, drop the non-numeric columns, or pass "
            "preprocessor=ClinicalEncoder(columns=[...]) naming the columns to encode"
        )
    return [str(c) for c in rest]


# --------------------------------------------------------------------------- feature names
def check_feature_names(estimator, X, *, reset):
    """scikit-learn's feature-name contract for estimators that read columns by position.

    At fit (``reset=True``) records ``feature_names_in_`` (a DataFrame's column names)
    and ``n_features_in_``; afterwards (``reset=False``) raises ``ValueError`` ("Feature
    names must be in the same order as they were in fit") for other names or another
    order, and warns when fitted on a DataFrame and given an array, or the reverse.
    Estimators that select cohort columns by name do not need it.

    Parameters
    ----------
    estimator : BaseEstimator
    X : DataFrame or array-like
    reset : bool

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.base import BaseEstimator
    >>> from sarcoma_survival.utils.validation import check_feature_names
    >>> est = BaseEstimator()
    >>> check_feature_names(est, pd.DataFrame({"a": [1.0], "b": [2.0]}), reset=True)
    >>> est.feature_names_in_.tolist()
    ['a', 'b']
    """
    validate_data(estimator, X, reset=reset, skip_check_array=True)


def columns_read(X, *transformers):
    """The cohort columns that fitted, select-by-name ``transformers`` read, in order.

    The union of their ``feature_names_in_`` (``None`` transformers skipped); when none
    records names, the columns of a DataFrame ``X``; ``None`` for an array.

    Parameters
    ----------
    X : DataFrame or array-like
        The training input.
    *transformers : fitted transformers or None

    Returns
    -------
    ndarray of str or None

    Examples
    --------
    >>> import pandas as pd
    >>> from sarcoma_survival.preprocessing import ClinicalEncoder
    >>> from sarcoma_survival.utils.validation import columns_read
    >>> X = pd.DataFrame({"age": [50.0, 60.0], "t1": ["a", "b"]})
    >>> columns_read(X, ClinicalEncoder(["age"]).fit(X), None).tolist()
    ['age']
    """
    names = []
    for transformer in transformers:
        for name in getattr(transformer, "feature_names_in_", ()):
            if name not in names:
                names.append(str(name))
    if not names:
        if not isinstance(X, pd.DataFrame):
            return None
        names = [str(c) for c in X.columns]
    return np.asarray(names, dtype=object)


def record_columns(estimator, X, *transformers):
    """Set ``feature_names_in_`` / ``n_features_in_`` from :func:`columns_read`, or remove them.

    For estimators whose preprocessors select cohort columns by name; an array input
    (no names) leaves the estimator without these attributes, as in scikit-learn.

    Parameters
    ----------
    estimator : BaseEstimator
    X : DataFrame or array-like
    *transformers : fitted transformers or None
    """
    names = columns_read(X, *transformers)
    if names is None:
        estimator.__dict__.pop("feature_names_in_", None)
        estimator.__dict__.pop("n_features_in_", None)
    else:
        estimator.feature_names_in_ = names
        estimator.n_features_in_ = len(names)


class LaterParamsMixin:
    """Reads objects saved before some of their parameters existed with those parameters' defaults.

    A class lists them in ``_params_added_later`` (name -> default); a pickle or model file
    written without one of them loads with its default instead of lacking the attribute
    (which ``get_params``, ``clone`` and ``repr`` need).
    """

    #: Parameter -> default of a parameter added after objects of the class were saved.
    _params_added_later = {}

    def __setstate__(self, state):
        super().__setstate__({**self._params_added_later, **state})


class FeatureTransformerMixin:
    """``features_``: the deprecated name of a fitted ``feature_transformer_``.

    An estimator that encodes the cohort table before its model keeps the fitted encoder
    as ``feature_transformer_`` (its name until 0.1 was ``features_``, which read as an
    array of features). ``features_`` stays as an alias that warns; a model file written
    before the rename loads with its encoder under the new name.
    """

    @property
    def features_(self):
        """Deprecated alias of ``feature_transformer_``."""
        _warn_features_alias()
        return self.feature_transformer_

    @features_.setter
    def features_(self, value):
        _warn_features_alias()
        self.feature_transformer_ = value

    def __setstate__(self, state):
        if "features_" in state:  # a model file written before the rename
            state = {**state}
            state["feature_transformer_"] = state.pop("features_")
        super().__setstate__(state)


def _warn_features_alias():
    warnings.warn(
        "features_ is deprecated and will be removed in a future version; use "
        "feature_transformer_ (the same fitted transformer).",
        FutureWarning,
        stacklevel=3,
    )


class SurvivalScoreMixin(SurvivalAnalysisMixin):
    """scikit-survival's survival contract, with ``score`` reading ``y``'s fields by dtype.

    :meth:`sksurv.base.SurvivalAnalysisMixin.score` takes the first field of ``y`` as the
    event; a ``y`` stored as (time, event), such as scikit-survival's own whas500
    (``lenfol``, ``fstat``), would then fail. Every survival estimator of this package
    scores through :func:`as_survival_array` instead, like its ``fit``.
    """

    def score(self, X, y):
        """Harrell's concordance index of :meth:`predict` on ``y``.

        Parameters
        ----------
        X : DataFrame or array-like
            The patients, as the estimator takes them.
        y : structured ndarray
            Survival outcome with one boolean (event) and one numeric (time) field, in any
            order.

        Returns
        -------
        float
        """
        return super().score(X, as_survival_array(y))


class BreslowSurvivalMixin(SurvivalScoreMixin):
    """Survival and cumulative hazard functions from ``predict`` and a Breslow baseline.

    For an estimator whose risk score is a log hazard ratio (a network, a seed ensemble)
    and which keeps a fitted :class:`sksurv.linear_model.coxph.BreslowEstimator` of its
    training risks as ``baseline_model_``. A subclass whose fitted model may have no
    survival function overrides :meth:`_require_survival_function`.
    """

    def _require_survival_function(self, what):
        """Raise ``AttributeError`` where the fitted model has no ``what``; here it always has."""

    def predict_survival_function(self, X, return_array=False):
        """Survival functions of the patients (Breslow baseline x exp(risk)).

        Parameters
        ----------
        X : DataFrame or array-like
        return_array : bool, default=False
            Return an array evaluated at the unique training event times instead of
            :class:`sksurv.functions.StepFunction` objects.

        Returns
        -------
        ndarray of StepFunction, or ndarray of shape (n_samples, n_times)

        Raises
        ------
        AttributeError
            For a network fitted on a competing-risks outcome (it has
            ``predict_cumulative_incidence`` instead).
        """
        self._require_survival_function("survival function")
        return self._predict_survival_function(self.baseline_model_, self.predict(X), return_array)

    def predict_cumulative_hazard_function(self, X, return_array=False):
        """Cumulative hazard functions of the patients (same signature as sksurv).

        Parameters
        ----------
        X : DataFrame or array-like
        return_array : bool, default=False
            As in :meth:`predict_survival_function`, which also gives the errors.

        Returns
        -------
        ndarray of StepFunction, or ndarray of shape (n_samples, n_times)
        """
        self._require_survival_function("cumulative hazard function")
        return self._predict_cumulative_hazard_function(
            self.baseline_model_, self.predict(X), return_array
        )

    @property
    def unique_times_(self):
        """Unique training times at which ``return_array=True`` evaluates the functions."""
        self._require_survival_function("unique_times_ (times of a survival function)")
        check_is_fitted(self, "baseline_model_")
        return self.baseline_model_.unique_times_
