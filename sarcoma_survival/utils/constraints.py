"""Parameter constraints shared by several estimators, and those scikit-learn's
``_param_validation`` does not provide."""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, Options

#: Constraint of ``min_frequency``: categories seen fewer times in training are grouped.
MIN_FREQUENCY_CONSTRAINT = [Interval(numbers.Integral, 1, None, closed="left")]

#: Constraints of the Newton-Raphson Cox fits' ``alpha`` (ridge penalty), ``n_iter`` and ``tol``.
COX_FIT_CONSTRAINTS = {
    "alpha": [Interval(numbers.Real, 0, None, closed="left")],
    "n_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "tol": [Interval(numbers.Real, 0, None, closed="neither")],
}


class SequenceOf(Options):
    """Constraint: a tuple, list or 1-D array whose items all meet ``item``.

    An ``Options`` subclass because scikit-learn's ``validate_parameter_constraints``
    accepts no constraint class of its own making.

    Parameters
    ----------
    item : constraint
        An ``Interval``, ``Options``... that every item must satisfy.
    length : int or None, default=None
        Exact number of items, if any.
    min_length : int, default=0
    ordered : bool, default=False
        Items must be non-decreasing.

    Examples
    --------
    >>> from numbers import Real
    >>> from sklearn.utils._param_validation import Interval
    >>> from sarcoma_survival.utils.constraints import SequenceOf
    >>> zoom = SequenceOf(Interval(Real, 0, None, closed="neither"), length=2, ordered=True)
    >>> zoom.is_satisfied_by((0.9, 1.1)), zoom.is_satisfied_by((1.1, 0.9))
    (True, False)
    """

    def __init__(self, item, length=None, min_length=0, ordered=False):
        super().__init__((tuple, list, np.ndarray), set())
        self.item, self.length, self.min_length, self.ordered = item, length, min_length, ordered

    def is_satisfied_by(self, val):
        return (
            isinstance(val, self.type)
            and np.ndim(val) == 1
            and len(val) >= self.min_length
            and (self.length is None or len(val) == self.length)
            and all(self.item.is_satisfied_by(v) for v in val)
            and (not self.ordered or all(a <= b for a, b in zip(val, val[1:])))
        )

    def __str__(self):
        size = f"{self.length} " if self.length is not None else ""
        order = ", non-decreasing" if self.ordered else ""
        return f"a tuple or list of {size}items, each {self.item}{order}"
