"""SeedEnsemble: one model per random seed, their risk scores averaged (a deep ensemble)."""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted
from sksurv.linear_model.coxph import BreslowEstimator

from .._parallel import parallel_map
from ..utils.validation import BreslowSurvivalMixin, check_fit_y


def _fit_member(estimator, seed, X, y):
    """A clone of ``estimator`` with ``random_state=seed``, fitted (run in a joblib worker)."""
    return clone(estimator).set_params(random_state=seed).fit(X, y)


class SeedEnsemble(BreslowSurvivalMixin, BaseEstimator):
    """Average of one fitted model per random seed: the standard cure for seed variance.

    A network trained on a few hundred patients ranks them differently from one seed to
    the next (initial weights, batch order, augmentation, validation split); a deep
    ensemble (Lakshminarayanan et al. 2017) fits the same model with several seeds and
    averages their predictions. ``SeedEnsemble`` fits a clone of ``estimator`` for each
    seed of ``random_states`` on the same data, predicts the mean of the members' risk
    scores, and gives survival functions from a Breslow baseline fitted on the training
    patients' mean scores, read as log hazard ratios (which a neural member's score is;
    a forest's score, a summed cumulative hazard, is then only a ranking that the
    baseline calibrates as a Cox model would). Any estimator with a ``random_state``
    parameter works, so the ensemble joins Pipelines, ``GridSearchCV`` (tune the
    member's parameters as ``estimator__lr``), ``compare_models`` and ``save_model`` like
    the member.

    Parameters
    ----------
    estimator : estimator
        An unfitted survival estimator of the survival contract with a ``random_state``
        parameter (e.g. :class:`~sarcoma_survival.MMNNSurvival`). Cloned; never fitted
        itself.
    random_states : sequence of int, default=(0, 1, 2, 3, 4)
        One member per seed, in this order; distinct integers.
    n_jobs : int or None, default=None
        Members fitted in parallel (scikit-learn's meaning, through joblib: a Dask
        backend context distributes them). Each member still uses its own ``n_jobs``.

    Attributes
    ----------
    estimators_ : list of estimator
        The fitted members, in the order of ``random_states``.
    baseline_model_ : sksurv.linear_model.coxph.BreslowEstimator
        Breslow baseline of the mean training scores.
    training_risks_ : ndarray
        Sorted mean scores of the training patients.
    n_features_in_, feature_names_in_, training_summary_
        As the first member has them.

    Examples
    --------
    >>> import numpy as np
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival import SeedEnsemble
    >>> from sarcoma_survival.nn import ClinicalMLPSurvival
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)).astype(np.float32)
    >>> y = Surv.from_arrays(rng.random(60) < 0.7, np.exp(-X[:, 0]) * 100)
    >>> ensemble = SeedEnsemble(ClinicalMLPSurvival(max_epochs=3), random_states=(0, 1, 2))
    >>> ensemble.fit(X, y).predict(X[:2]).shape
    (2,)
    >>> len(ensemble.estimators_)
    3
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict", "get_params", "set_params"])],
        "random_states": ["array-like"],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(self, estimator, random_states=(0, 1, 2, 3, 4), n_jobs=None):
        self.estimator = estimator
        self.random_states = random_states
        self.n_jobs = n_jobs

    def _seeds(self):
        seeds = list(self.random_states)
        if not seeds:
            raise ValueError("SeedEnsemble: random_states is empty; give at least one seed")
        bad = [s for s in seeds if not isinstance(s, numbers.Integral) or isinstance(s, bool)]
        if bad:
            raise ValueError(f"SeedEnsemble: random_states must be integers; got {bad!r}")
        if len(set(seeds)) != len(seeds):
            raise ValueError(
                f"SeedEnsemble: random_states {seeds!r} repeat a seed, which would fit the same "
                "member twice; give distinct seeds"
            )
        if "random_state" not in self.estimator.get_params(deep=False):
            raise ValueError(
                f"SeedEnsemble: {type(self.estimator).__name__} has no random_state parameter, so "
                "its fits do not depend on a seed; an ensemble over seeds would repeat one model"
            )
        return [int(s) for s in seeds]

    def fit(self, X, y):
        """Fit one clone of ``estimator`` per seed, then the Breslow baseline of their mean.

        Parameters
        ----------
        X : DataFrame or array-like
            Training patients, as the member takes them.
        y : structured ndarray
            Survival outcome (``sksurv.util.Surv.from_arrays(event, time)``).

        Returns
        -------
        self
        """
        event, time, _ = check_fit_y(y, X, self)
        self._validate_params()
        seeds = self._seeds()
        self.estimators_ = list(parallel_map(
            _fit_member, [(self.estimator, seed, X, y) for seed in seeds], self.n_jobs
        ))
        risk = self._mean_risk(X)
        self.training_risks_ = np.sort(risk)
        self.baseline_model_ = BreslowEstimator().fit(risk, event, time)
        first = self.estimators_[0]
        for name in ("n_features_in_", "feature_names_in_", "training_summary_"):
            if hasattr(first, name):
                setattr(self, name, getattr(first, name))
        return self

    def _mean_risk(self, X):
        return np.mean([np.asarray(m.predict(X), dtype=np.float64) for m in self.estimators_], axis=0)

    def predict(self, X):
        """Mean risk score of the members (higher = earlier event).

        Parameters
        ----------
        X : DataFrame or array-like

        Returns
        -------
        risk : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "estimators_")
        return self._mean_risk(X)
