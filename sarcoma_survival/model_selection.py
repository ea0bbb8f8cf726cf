"""Stratified splits of a survival cohort: the paper's train/validation/test split and CV.

:func:`train_val_test_split` reproduces the paper's 70/15/15 split stratified by tumor
volume, location and RT timing (and, by default, the event indicator).
:class:`SurvivalStratifiedKFold` and :class:`RepeatedSurvivalStratifiedKFold` are
cross-validation splitters that stratify on the event indicator of a scikit-survival
structured ``y``, which :class:`sklearn.model_selection.StratifiedKFold` cannot read.
"""
from __future__ import annotations

import logging
import math
import numbers

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator, StratifiedKFold
from sklearn.utils import check_random_state

from .utils.validation import check_survival_y

__all__ = [
    "train_val_test_split",
    "survival_strata",
    "SurvivalStratifiedKFold",
    "RepeatedSurvivalStratifiedKFold",
]

logger = logging.getLogger(__name__)

#: Default stratification of :func:`train_val_test_split` (paper: volume, location, RT timing).
DEFAULT_STRATIFY_BY = ("tumor_volume_cm3", "location", "rt_timing", "event")

_MISSING = "missing"
_POOLED = "pooled"
_SMALL_STRATA_OPTIONS = ("error", "merge", "drop_factor")


def _factor_levels(X, event, name, n_bins, min_size):
    """One string level per patient for a stratification factor.

    Missing values are a level of their own when at least ``min_size`` patients share it,
    otherwise they join the most frequent level (numeric: the bin holding the median).
    """
    if name == "event":
        return np.where(event, "event=1", "event=0").astype(object)
    column = X[name]
    missing = column.isna().to_numpy()
    present = column[~missing]
    if present.empty:
        return np.full(len(column), f"{name}={_MISSING}", dtype=object)
    levels = np.empty(len(column), dtype=object)
    if pd.api.types.is_numeric_dtype(column) and present.nunique() > n_bins:
        values = present.astype(float)
        codes = pd.qcut(values, q=n_bins, labels=False, duplicates="drop").to_numpy()
        n_codes = int(codes.max()) + 1
        levels[~missing] = [f"{name}=q{int(c) + 1}/{n_codes}" for c in codes]
        central = levels[~missing][np.argmin(np.abs(values.to_numpy() - values.median()))]
    else:
        levels[~missing] = [f"{name}={v}" for v in present]
        central = pd.Series(levels[~missing]).mode().iloc[0]
    levels[missing] = f"{name}={_MISSING}" if missing.sum() >= min_size else central
    return levels


def _labels(levels, depth):
    """Join the first ``depth[i]`` factor levels of each patient into one label."""
    return np.array(
        ["|".join(row[:d]) if d else _POOLED for row, d in zip(levels, depth)], dtype=object
    )


def _sizes(labels):
    values, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return values, counts, counts[inverse]


def _small_strata_message(labels, min_size):
    values, counts, _ = _sizes(labels)
    small = sorted((c, v) for v, c in zip(values, counts) if c < min_size)
    small = [(v, c) for c, v in small]
    listing = "; ".join(f"{v} ({c})" for v, c in small[:10])
    more = f"; and {len(small) - 10} more" if len(small) > 10 else ""
    return (
        f"{len(small)} of {len(values)} strata have fewer than {min_size} patients, too few to "
        f"be represented in every subset: {listing}{more}. Pass on_small_strata='merge' (pool "
        "each rare stratum with its siblings, dropping its last factors) or "
        "on_small_strata='drop_factor' (drop the last stratification factor until every "
        "stratum is large enough), or use fewer factors, fewer bins or a smaller "
        "min_stratum_size"
    )


def survival_strata(
    X,
    y,
    *,
    stratify_by=DEFAULT_STRATIFY_BY,
    n_bins=3,
    min_stratum_size=7,
    on_small_strata="merge",
):
    """Stratum label of each patient, as used by :func:`train_val_test_split`.

    Each factor of ``stratify_by`` gives a level: numeric columns with more than
    ``n_bins`` distinct values are cut at their quantiles (``"tumor_volume_cm3=q2/3"``),
    other columns keep their values (``"location=axial"``), ``"event"`` reads the event
    indicator of ``y``. Missing values never crash the split: they form a level of their
    own (``"grade=missing"``) when at least ``min_stratum_size`` patients share it, and
    otherwise join the factor's most frequent level (for a numeric factor, the bin holding
    the median).

    Parameters
    ----------
    X : DataFrame of shape (n_samples, n_columns)
        The cohort table.
    y : structured ndarray of shape (n_samples,)
        Survival outcome (its event field is the ``"event"`` factor).
    stratify_by : sequence of str, default=("tumor_volume_cm3", "location", "rt_timing", "event")
        Columns of ``X`` and/or ``"event"``, most important first. Empty: one stratum.
    n_bins : int, default=3
        Number of quantile bins of numeric factors.
    min_stratum_size : int, default=7
        Strata with fewer patients are "small".
    on_small_strata : {"merge", "drop_factor", "error"}, default="merge"
        ``"merge"``: a small stratum loses its last factor and joins the other small
        strata that share its remaining levels, repeatedly; what is still small with no
        factor left forms one ``"pooled"`` stratum. ``"drop_factor"``: drop the last
        factor of ``stratify_by`` for everyone until no stratum is small or one factor is
        left (every patient keeps the same factors); strata of that first factor that are
        still small are pooled. ``"error"``: raise a ``ValueError`` naming the small
        strata (smallest first).

    Returns
    -------
    Series of str
        Stratum label per patient, indexed like ``X``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.model_selection import survival_strata
    >>> X = pd.DataFrame({"location": ["axial", "axial", None, "axial"]})
    >>> y = Surv.from_arrays([True, False, True, True], [5.0, 6.0, 7.0, 8.0])
    >>> strata = survival_strata(X, y, stratify_by=["location", "event"], min_stratum_size=1)
    >>> strata.tolist()[1:3]
    ['location=axial|event=0', 'location=missing|event=1']
    """
    labels, _ = _stratify(X, y, stratify_by, n_bins, min_stratum_size, on_small_strata)
    index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(labels))
    return pd.Series(labels, index=index, name="stratum")


def _stratify(X, y, stratify_by, n_bins, min_stratum_size, on_small_strata):
    """Return (stratum label per patient, matrix of factor levels before any merging)."""
    event, _ = check_survival_y(y, X, allow_all_censored=True)
    if on_small_strata not in _SMALL_STRATA_OPTIONS:
        raise ValueError(
            f"on_small_strata must be one of {_SMALL_STRATA_OPTIONS}, got {on_small_strata!r}"
        )
    if not isinstance(n_bins, numbers.Integral) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    if not isinstance(min_stratum_size, numbers.Integral) or min_stratum_size < 1:
        raise ValueError(f"min_stratum_size must be a positive integer, got {min_stratum_size!r}")
    factors = [stratify_by] if isinstance(stratify_by, str) else list(stratify_by or ())
    columns = [f for f in factors if f != "event"]
    if columns:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"stratifying by columns {columns} needs X as a pandas DataFrame, "
                f"got {type(X).__name__}"
            )
        absent = [c for c in columns if c not in X.columns]
        if absent:
            raise ValueError(f"stratify_by names columns that X does not have: {absent}")
    n = len(event)
    if not factors:
        return np.full(n, _POOLED, dtype=object), np.empty((n, 0), dtype=object)
    levels = np.column_stack(
        [_factor_levels(X, event, f, n_bins, min_stratum_size) for f in factors]
    )
    depth = np.full(n, len(factors))
    labels = _labels(levels, depth)
    if _sizes(labels)[2].min() < min_stratum_size:
        if on_small_strata == "error":
            raise ValueError(_small_strata_message(labels, min_stratum_size))
        if on_small_strata == "drop_factor":
            while depth[0] > 1 and _sizes(labels)[2].min() < min_stratum_size:
                logger.info("stratification: dropping factor %r", factors[depth[0] - 1])
                depth -= 1
                labels = _labels(levels, depth)
            small = _sizes(labels)[2] < min_stratum_size
            labels[small] = _POOLED  # a rare level of the first factor itself
        else:
            while True:
                small = (_sizes(labels)[2] < min_stratum_size) & (depth > 0)
                if not small.any():
                    break
                depth[small] -= 1
                labels = _labels(levels, depth)
            n_merged = int((depth < len(factors)).sum())
            logger.info("stratification: %d patients in merged strata", n_merged)
    return labels, levels


def _n_of(size, n, name):
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        if not 0 < size < n:
            raise ValueError(f"{name}={size} must be between 1 and {n - 1} patients")
        return int(size)
    if isinstance(size, numbers.Real) and 0 < size < 1:
        return int(math.ceil(size * n))
    raise ValueError(f"{name} must be a float in (0, 1) or a number of patients, got {size!r}")


def _allocate(sizes, fraction, total, cap, rng):
    """Spread ``total`` patients over strata proportionally (largest remainder, random ties)."""
    ideal = sizes * fraction
    count = np.minimum(np.floor(ideal).astype(int), cap)
    remainder = np.where(count < cap, ideal - count, -np.inf)
    order = np.lexsort((rng.random_sample(sizes.size), -remainder))
    extra = total - count.sum()
    count[order[:extra]] += 1
    return count


def _draw(inverse, sizes, n_test, n_val, rng):
    """One stratified random assignment: 0 train, 1 validation, 2 test."""
    n = inverse.size
    test_counts = _allocate(sizes, n_test / n, n_test, sizes, rng)
    val_counts = _allocate(sizes, n_val / n, n_val, sizes - test_counts, rng)
    assignment = np.zeros(n, dtype=int)
    for s in range(sizes.size):
        members = rng.permutation(np.flatnonzero(inverse == s))
        assignment[members[: test_counts[s]]] = 2
        assignment[members[test_counts[s]: test_counts[s] + val_counts[s]]] = 1
    return assignment


def _marginal_gap(assignment, dummies):
    """Largest |share in subset - share in cohort| over factor levels, validation and test."""
    if dummies.shape[1] == 0:
        return 0.0
    overall = dummies.mean(axis=0)
    return max(np.abs(dummies[assignment == k].mean(axis=0) - overall).max() for k in (1, 2))


def train_val_test_split(
    X,
    y,
    *,
    val_size=0.15,
    test_size=0.15,
    stratify_by=DEFAULT_STRATIFY_BY,
    n_bins=3,
    min_stratum_size=None,
    on_small_strata="merge",
    n_draws=100,
    random_state=None,
):
    """Split a cohort into train, validation and test sets, stratified (paper's 70/15/15).

    Patients are grouped into strata by :func:`survival_strata` (tumor-volume quantile
    bins x location x RT timing x event by default; missing values form their own level).
    The test and validation sizes are then spread over the strata in proportion to their
    size (largest-remainder rounding with random tie-breaks, so the totals are exact), and
    the patients of each stratum are drawn at random. Rounding in many small strata can
    still leave a factor's marginal share off (for example the event rate of the test
    set), so ``n_draws`` such stratified draws are made and the one whose validation and
    test sets are closest to the cohort on every level of every factor is kept.

    Parameters
    ----------
    X : DataFrame of shape (n_samples, n_columns)
        The cohort table (an array is accepted when ``stratify_by`` only uses ``"event"``).
    y : structured ndarray of shape (n_samples,)
        Survival outcome.
    val_size, test_size : float or int, default=0.15
        Fraction of the cohort (rounded up, as in scikit-learn) or number of patients.
    stratify_by : sequence of str, default=("tumor_volume_cm3", "location", "rt_timing", "event")
        Stratification factors, most important first (see :func:`survival_strata`).
    n_bins : int, default=3
        Quantile bins of numeric factors.
    min_stratum_size : int, default=None
        Strata smaller than this are handled by ``on_small_strata``. ``None`` means
        ``ceil(n_samples / min(n_val, n_test))``: the smallest stratum whose proportional
        share is at least one patient in each subset (7 for 15 %).
    on_small_strata : {"merge", "drop_factor", "error"}, default="merge"
        See :func:`survival_strata`. ``"error"`` raises a ``ValueError`` naming the small
        strata and these options.
    n_draws : int, default=100
        Stratified random draws among which the best-balanced one is kept (1: a plain
        stratified random split).
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed on the same cohort gives the same split.

    Returns
    -------
    X_train, X_val, X_test : DataFrame or ndarray
        Rows of ``X``, each in the original order.
    y_train, y_val, y_test : structured ndarray
        The matching outcomes.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.model_selection import train_val_test_split
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"location": rng.choice(["axial", "lower_extremity"], 100),
    ...                   "tumor_volume_cm3": rng.lognormal(5, 1, 100),
    ...                   "rt_timing": rng.choice(["preop", "postop"], 100)})
    >>> y = Surv.from_arrays(rng.random(100) < 0.4, rng.exponential(900, 100) + 1)
    >>> X_tr, X_val, X_te, y_tr, y_val, y_te = train_val_test_split(X, y, random_state=0)
    >>> len(X_tr), len(X_val), len(X_te)
    (70, 15, 15)
    """
    event, _ = check_survival_y(y, X, allow_all_censored=True)
    n = len(event)
    n_test = _n_of(test_size, n, "test_size")
    n_val = _n_of(val_size, n, "val_size")
    if n_test + n_val >= n:
        raise ValueError(
            f"val_size and test_size leave no training patient ({n_val} + {n_test} of {n})"
        )
    if min_stratum_size is None:
        min_stratum_size = int(math.ceil(n / min(n_val, n_test)))
    if not isinstance(n_draws, numbers.Integral) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive integer, got {n_draws!r}")
    strata, levels = _stratify(X, y, stratify_by, n_bins, min_stratum_size, on_small_strata)
    rng = check_random_state(random_state)
    _, inverse, sizes = np.unique(strata, return_inverse=True, return_counts=True)
    # one-hot of every factor level (before merging): the marginals to balance
    dummies = np.column_stack(
        [levels[:, j] == v for j in range(levels.shape[1]) for v in np.unique(levels[:, j])]
    ) if levels.size else np.zeros((n, 0), dtype=bool)
    best, best_gap = None, np.inf
    for _ in range(n_draws):
        assignment = _draw(inverse, sizes, n_test, n_val, rng)
        gap = _marginal_gap(assignment, dummies)
        if gap < best_gap:
            best, best_gap = assignment, gap
    parts = [np.flatnonzero(best == k) for k in (0, 1, 2)]
    take = (lambda rows: X.iloc[rows]) if hasattr(X, "iloc") else (lambda rows: np.asarray(X)[rows])
    return tuple(take(p) for p in parts) + tuple(y[p] for p in parts)


def _event_of(y):
    event, _ = check_survival_y(y, allow_all_censored=True)
    return event


class SurvivalStratifiedKFold(StratifiedKFold):
    """K-fold cross-validation stratified on the event indicator of a survival ``y``.

    :class:`sklearn.model_selection.StratifiedKFold` applied to ``y``'s event field, so
    every fold holds about the same share of events (a fold without events has no
    C-index). Usable as ``cv=`` of ``cross_validate`` and ``GridSearchCV``.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds.
    shuffle : bool, default=False
        Shuffle each event class before splitting.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffling (only with ``shuffle=True``).

    Examples
    --------
    >>> import numpy as np
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.model_selection import SurvivalStratifiedKFold
    >>> y = Surv.from_arrays([True, False] * 5, np.arange(1.0, 11.0))
    >>> cv = SurvivalStratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    >>> [int(y["event"][test].sum()) for _, test in cv.split(np.zeros((10, 1)), y)]
    [1, 1, 1, 1, 1]
    """

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None):
        super().__init__(n_splits=n_splits, shuffle=shuffle, random_state=random_state)

    def split(self, X, y, groups=None):
        """Yield ``(train, test)`` index arrays; ``y`` is the structured survival outcome."""
        return super().split(X, _event_of(y), groups)


class RepeatedSurvivalStratifiedKFold(BaseCrossValidator):
    """Repeated :class:`SurvivalStratifiedKFold`, reshuffled on every repeat.

    Parameters
    ----------
    n_splits : int, default=5
        Folds per repeat.
    n_repeats : int, default=10
        Number of repeats.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffling of all repeats.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.model_selection import RepeatedSurvivalStratifiedKFold
    >>> y = Surv.from_arrays([True, False] * 10, [float(day) for day in range(1, 21)])
    >>> cv = RepeatedSurvivalStratifiedKFold(n_splits=2, n_repeats=3, random_state=0)
    >>> [int(y["event"][test].sum()) for _, test in cv.split([[0.0]] * 20, y)]  # 10 events
    [5, 5, 5, 5, 5, 5]
    """

    def __init__(self, n_splits=5, *, n_repeats=10, random_state=None):
        self.n_splits = n_splits
        self.n_repeats = n_repeats
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of ``(train, test)`` pairs: ``n_splits * n_repeats``."""
        return self.n_splits * self.n_repeats

    def split(self, X, y, groups=None):
        """Yield ``(train, test)`` index arrays for every fold of every repeat."""
        if not isinstance(self.n_repeats, numbers.Integral) or self.n_repeats < 1:
            raise ValueError(f"n_repeats must be a positive integer, got {self.n_repeats!r}")
        rng = check_random_state(self.random_state)
        event = _event_of(y)
        for _ in range(self.n_repeats):
            folds = StratifiedKFold(self.n_splits, shuffle=True, random_state=rng)
            yield from folds.split(X, event, groups)
