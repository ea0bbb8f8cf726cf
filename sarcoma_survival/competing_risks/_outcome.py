"""The competing-risks outcome of a fit, and which estimators take one.

The outcome type itself (:func:`competing_y` and its checks) lives in
``sarcoma_survival.utils``, below the metrics that take it; this module holds what the
estimators of competing risks add to it.
"""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval
from sksurv.util import Surv

from ..utils import check_cause, check_competing_y, competing_y
from ..utils.validation import check_fit_y

#: Cause whose incidence ``compare_models`` scores on a competing outcome (1 = DM).
CAUSE = 1

#: Constraint of the ``cause`` parameter.
CAUSE_CONSTRAINT = [Interval(numbers.Integral, 1, None, closed="left")]


def n_causes(event, cause):
    """Number of causes K a model keeps: the largest code in ``y``, at least ``cause``.

    A training set (a cross-validation fold) lacking some cause still gets a head for
    it; that head has a zero hazard, so the incidence of that cause is 0 at all times.
    """
    return int(max(int(event.max(initial=0)), check_cause(cause)))


def check_competing_fit_y(y, X, estimator):
    """Validate the competing-risks outcome of a fit: :func:`check_competing_y`, then the minimum size.

    The minimum training size of the survival models (``MIN_FIT_PATIENTS`` patients,
    ``MIN_FIT_EVENTS`` events, :func:`~sarcoma_survival.utils.validation.check_fit_y`),
    counting an event of any cause: every estimator of the package refuses the same tiny
    training sets, whatever its outcome.

    Returns
    -------
    event : ndarray of int64
    time : ndarray of float64
    """
    event, time = check_competing_y(y, X)
    check_fit_y(Surv.from_arrays(event > 0, time), X, estimator)
    return event, time


def dm_competing_y(y_os, y_dm):
    """Distant metastasis with death as a competing risk, from the OS and DM outcomes.

    Cause 1 is a metastasis (``dm_event``, at ``dm_time``); cause 2 is a death without a
    metastasis before it (``os_event & ~dm_event & os_time <= dm_time``, at ``os_time``);
    any other patient is censored at ``dm_time``. A metastasis and a death on the same
    day count as a metastasis; a death after the end of DM follow-up is censoring.

    Parameters
    ----------
    y_os, y_dm : structured ndarray or None
        Survival outcomes (boolean event, float time) of the same patients.

    Returns
    -------
    structured ndarray or None
        As made by :func:`competing_y`; ``None`` when either outcome is ``None``.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.competing_risks import dm_competing_y
    >>> y_os = Surv.from_arrays([True, True, True, False], [300.0, 200.0, 900.0, 500.0])
    >>> y_dm = Surv.from_arrays([True, False, False, False], [300.0, 200.0, 400.0, 500.0])
    >>> dm_competing_y(y_os, y_dm)["event"].tolist()
    [1, 2, 0, 0]
    """
    if y_os is None or y_dm is None:
        return None
    os_event, os_time = (np.asarray(y_os[f]) for f in y_os.dtype.names)
    dm_event, dm_time = (np.asarray(y_dm[f]) for f in y_dm.dtype.names)
    if os_event.size != dm_event.size:
        raise ValueError(f"y_os has {os_event.size} entries but y_dm has {dm_event.size}")
    dm_event = dm_event.astype(bool)
    death = os_event.astype(bool) & ~dm_event & (os_time <= dm_time)
    event = np.where(dm_event, 1, np.where(death, 2, 0))
    time = np.where(death, os_time, dm_time).astype(float)
    return competing_y(event, time)


def is_competing_model(estimator):
    """True for an estimator that predicts a cumulative incidence (takes a competing y)."""
    steps = getattr(estimator, "steps", None)
    final = steps[-1][1] if steps else estimator
    return callable(getattr(final, "predict_cumulative_incidence", None))


def needs_competing_y(estimator):
    """True for a competing-risks-only estimator: one that cannot be fitted on a survival y.

    The neural estimators take either outcome (``cause=``) and keep a survival function,
    so they are competing models (:func:`is_competing_model`) that do not need one.
    """
    steps = getattr(estimator, "steps", None)
    final = steps[-1][1] if steps else estimator
    return is_competing_model(estimator) and not callable(getattr(final, "predict_survival_function", None))


def row_label(name, outcome, estimator):
    """``"<model> (<outcome>, competing death)"`` or ``"<model> (<outcome>, death censored)"``."""
    where = f"{outcome}, " if outcome is not None else ""
    how = "competing death" if is_competing_model(estimator) else "death censored"
    return f"{name} ({where}{how})"


def censor_competing(y):
    """The survival outcome of cause 1 with every other cause censored."""
    event, time = check_competing_y(y, allow_no_event=True)
    return Surv.from_arrays(event == CAUSE, time)
