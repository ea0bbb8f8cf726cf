"""An interval around one patient's predicted survival, by what each model supports.

* :class:`~sarcoma_survival.SarculatorCoxPH`: delta method on the linear predictor,
  ``S(t)^exp(±1.96 se)`` with ``se² = z' Σ z``, ``z`` the patient's treatment-coded row and
  ``Σ`` the covariance of the identifiable effects of ``coef_table_`` (from the inverse
  information of the penalised partial likelihood). The Breslow baseline hazard is taken
  as known (that of a patient at the training means with every reference level), so the
  interval is somewhat too narrow, and zero for that patient.
* Random survival forests (``model_`` a scikit-survival forest): the 2.5th to 97.5th
  percentile of the trees' own survival predictions. This is the spread of the trees, not a
  confidence interval of the forest's average (which is narrower).
* Anything else (a network, an elastic-net Cox model): no interval. A single network fit
  gives no honest one and a bootstrap of refits is far too slow for a page; the page says so.
"""
from __future__ import annotations

import numpy as np

from ..utils import curve_values

_Z = 1.959963984540054  # 97.5th percentile of the standard normal

COX_METHOD = ("95 % interval by the delta method on the linear predictor (coefficient covariance; "
              "baseline hazard taken as known)")
FOREST_METHOD = "2.5th-97.5th percentile of the {n} trees' predictions (spread of the trees)"
NONE_METHOD = "no interval: this model gives none that is honest (a bootstrap of refits is too slow here)"


def _cox_interval(model, X, survival):
    # in the identifiable effects: the one-hot blocks' common shift, which the baseline
    # absorbs and only the ridge pins down, would otherwise add its large variance to every patient
    _, matrix, columns = model.feature_transformer_.reference_contrasts()
    z = model.transform(X)[0][columns]
    se = float(np.sqrt(max(z @ (matrix @ model.coef_covariance_ @ matrix.T) @ z, 0.0)))
    survival = np.clip(survival, 0.0, 1.0)
    return survival ** np.exp(_Z * se), survival ** np.exp(-_Z * se), COX_METHOD


def _forest_interval(model, X, times):
    Z = model.transform(X)
    trees = model.model_.estimators_
    values = np.array([curve_values(tree.predict_survival_function(Z)[0], times, clip=True) for tree in trees])
    low, high = np.percentile(values, [2.5, 97.5], axis=0)
    return low, high, FOREST_METHOD.format(n=len(trees))


def survival_interval(model, X, times, survival):
    """Lower and upper survival at ``times`` for the one patient of ``X``, and the method.

    Parameters
    ----------
    model : fitted survival estimator
    X : DataFrame
        One patient.
    times : list of float
    survival : ndarray
        The model's survival at ``times`` (the interval's centre for the Cox model).

    Returns
    -------
    (low, high, method) : (ndarray or None, ndarray or None, str)
    """
    from sksurv.ensemble import RandomSurvivalForest

    from ..models import SarculatorCoxPH

    if isinstance(model, SarculatorCoxPH):
        return _cox_interval(model, X, np.asarray(survival, dtype=float))
    if isinstance(getattr(model, "model_", None), RandomSurvivalForest):
        return _forest_interval(model, X, times)
    return None, None, NONE_METHOD
