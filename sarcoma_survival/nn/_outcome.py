"""The outcome a neural survival estimator is fitted on: what changes with its kind.

:meth:`SurvivalNeuralNet.fit <sarcoma_survival.nn.SurvivalNeuralNet.fit>` picks the
outcome once from ``y`` (:func:`pick_outcome`), as scikit-learn's histogram gradient
boosting picks its loss object, and never branches on its kind again: the outcome owns
the checks of ``y``, the training target rows, the number of outputs of the module and
of causes of the criterion (whose per-cause loss sum it thereby selects), the baseline
hazard, the risk column, ``score`` and which prediction methods exist.

* :class:`SurvivalOutcome`: one event type (``Surv.from_arrays(event, time)``). One
  log-risk output, the Cox loss, a Breslow baseline (``baseline_model_``), survival and
  cumulative hazard functions, Harrell's concordance.
* :class:`CompetingRisksOutcome`: integer cause codes (0 = censored, 1..K = cause; see
  :func:`~sarcoma_survival.competing_risks.competing_y`). One log-risk output per cause,
  trained on the sum of the K cause-specific Cox partial likelihoods; per-cause Breslow
  jumps (``jump_times_``, ``baseline_hazard_jumps_``) combined by Aalen-Johansen into the
  cumulative incidence of ``cause``, exactly as
  :class:`~sarcoma_survival.competing_risks.CauseSpecificCoxPH` does; the cause-specific
  concordance. No survival function.

The outcome holds no data: a fitted net rebuilds it from ``cause`` and ``n_causes_``
(:func:`fitted_outcome`), so model files of every version carry it.
"""
from __future__ import annotations

import numbers

import numpy as np
from sksurv.linear_model.coxph import BreslowEstimator

from ..competing_risks import (
    breslow_jumps,
    check_competing_fit_y,
    check_competing_y,
    concordance_index_competing,
    incidence_from_cause_hazards,
    is_competing_y,
    n_causes,
)
from ..utils.validation import SurvivalScoreMixin, check_fit_y, check_survival_y
from ._loss import as_cause_columns

#: Attributes of a model fitted on a competing-risks outcome.
COMPETING_ATTRIBUTES = ("n_causes_", "jump_times_", "baseline_hazard_jumps_")

#: Docstring entry of the ``cause`` parameter (an item of ``**kwargs``).
CAUSE_PARAM_DOC = """``cause=1`` (int >= 1): used only with a competing-risks ``y`` (integer
          event, 0 = censored, 1..K = cause;
          :func:`~sarcoma_survival.competing_risks.competing_y`). The network then has one
          log-risk output per cause (K from ``y``; a cause absent from the training data
          keeps its output, with a zero baseline hazard, so its incidence is 0), is
          trained on the sum of the cause-specific Cox losses, and ``predict``, ``score``
          (cause-specific concordance, Wolbers et al. 2014) and
          ``predict_cumulative_incidence`` are about ``cause``. Such a model has no
          survival function (nor ``baseline_model_``); it has ``n_causes_``,
          ``jump_times_`` and ``baseline_hazard_jumps_`` as
          :class:`~sarcoma_survival.competing_risks.CauseSpecificCoxPH`."""


def _target(event, time):
    """The target as skorch takes it: float ``[time, event]`` rows (``event``: 0/1 or a cause code)."""
    return np.column_stack([time, event]).astype(np.float64)


class SurvivalOutcome:
    """A survival outcome: one event type, one log-risk, a Breslow baseline.

    Parameters
    ----------
    cause : int, default=1
        The estimator's ``cause``; anything but 1 is refused with a survival ``y``.
    """

    #: Number of causes given to the criterion (None: one event type).
    n_causes = None

    def __init__(self, cause=1):
        self.cause = cause

    # ------------------------------------------------------------------ fit
    def check_fit_y(self, y, X, net):
        """``(event, time)`` of a training outcome, checked (size, events, ``cause``)."""
        cause = self.cause
        if isinstance(cause, numbers.Integral) and not isinstance(cause, bool) and cause != 1:
            raise ValueError(
                f"cause={cause} but y is a survival outcome (one event type, cause 1): give a "
                "competing-risks y (sarcoma_survival.competing_risks.competing_y) or leave cause=1"
            )
        event, time, _ = check_fit_y(y, X, net)
        return event, time

    def check_validation_y(self, y, X):
        """``(event, time)`` of ``validation_data``'s outcome (all censored allowed)."""
        return check_survival_y(y, X, allow_all_censored=True)

    @staticmethod
    def target(event, time):
        """Float ``[time, event]`` training rows."""
        return _target(event, time)

    def start(self, net, event):
        """Before training ``net`` on ``event``: forget what a fit on the other kind of
        outcome left on it."""
        for name in COMPETING_ATTRIBUTES:
            net.__dict__.pop(name, None)

    def module_params(self, params):
        """``module__`` parameters completed for this outcome (unchanged: one output)."""
        return params

    def configure_criterion(self, criterion):
        """Give the criterion the number of causes of the target (None here)."""
        if hasattr(criterion, "n_causes"):
            criterion.n_causes = None

    def fit_baseline(self, net, log_risk, event, time):
        """Set ``training_risks_`` and the Breslow ``baseline_model_`` on ``net``."""
        risk = self.risk(log_risk)
        net.training_risks_ = np.sort(risk)
        net.baseline_model_ = BreslowEstimator().fit(risk, event, time)

    # ------------------------------------------------------------------ prediction
    def risk_column(self):
        """Column of the network's log-risks that :meth:`predict` returns."""
        return 0

    def risk(self, log_risk):
        """The predicted risk from (n, n_outputs) float64 log-risks."""
        return log_risk[:, self.risk_column()]

    def score(self, net, X, y):
        """Harrell's concordance of ``net.predict(X)``."""
        return SurvivalScoreMixin.score(net, X, y)

    def require_survival_function(self, net, what):
        """A survival outcome has survival (and cumulative hazard) functions: no-op."""

    def require_incidence(self, net):
        """Refuse the cumulative incidence (there is a survival function instead)."""
        raise AttributeError(
            f"{type(net).__name__} was fitted on a survival outcome: it has no cumulative "
            "incidence; fit it on a competing-risks y "
            "(sarcoma_survival.competing_risks.competing_y)"
        )


class CompetingRisksOutcome(SurvivalOutcome):
    """A competing-risks outcome: one log-risk per cause, incidence of ``cause``.

    Parameters
    ----------
    cause : int
        The cause whose risk, concordance and incidence the model gives.
    n_causes : int or None, default=None
        Number of causes K (set by :meth:`check_fit_y` from the training ``y``).
    """

    def __init__(self, cause=1, n_causes=None):
        super().__init__(cause)
        self.n_causes = n_causes

    def check_fit_y(self, y, X, net):
        return check_competing_fit_y(y, X, net)

    def check_validation_y(self, y, X):
        return check_competing_y(y, X, allow_no_event=True)

    def start(self, net, event):
        """Before training ``net``: K from ``event`` (at least ``cause``), kept as ``n_causes_``."""
        k = n_causes(event, self.cause)
        if k == 1:
            raise ValueError(
                f"{type(net).__name__}: y has an integer event field holding only 0 and 1, which "
                "would make a one-cause competing-risks model: for a survival outcome build y with "
                "sksurv.util.Surv.from_arrays(event == 1, time); for competing risks give every "
                "cause its code 1..K (sarcoma_survival.competing_risks.competing_y)"
            )
        net.__dict__.pop("baseline_model_", None)
        self.n_causes = net.n_causes_ = k

    def module_params(self, params):
        if params.setdefault("n_outputs", self.n_causes) != self.n_causes:
            raise ValueError(f"module__n_outputs={params['n_outputs']} but y has {self.n_causes} causes")
        return params

    def configure_criterion(self, criterion):
        if not hasattr(criterion, "n_causes"):
            raise TypeError(
                f"a competing-risks outcome needs a criterion that sums the cause-specific losses "
                f"(n_causes, as CoxPHLoss); {type(criterion).__name__} has none"
            )
        criterion.n_causes = self.n_causes

    def fit_baseline(self, net, log_risk, event, time):
        """Set ``training_risks_`` and the per-cause Breslow jumps on ``net``."""
        net.training_risks_ = np.sort(self.risk(log_risk))
        net.jump_times_, net.baseline_hazard_jumps_ = breslow_jumps(log_risk, event, time, self.n_causes)

    def risk_column(self):
        return self.cause - 1

    def risk(self, log_risk):
        return np.asarray(as_cause_columns(log_risk, self.n_causes))[:, self.risk_column()]

    def score(self, net, X, y):
        """Cause-specific concordance of ``cause`` (Wolbers et al. 2014)."""
        return concordance_index_competing(y, net.predict(X), cause=self.cause)

    def require_survival_function(self, net, what):
        """Refuse survival and cumulative hazard functions (death of another cause is no censoring)."""
        raise AttributeError(
            f"{type(net).__name__} was fitted on a competing-risks outcome: it has no "
            f"{what} (death of another cause is not censoring); use "
            "predict_cumulative_incidence(X, times)"
        )

    def require_incidence(self, net):
        """A competing-risks outcome has a cumulative incidence: no-op."""

    def incidence(self, net, log_risk, times):
        """Aalen-Johansen incidence of ``cause`` at ``times`` from (n, K) log-risks."""
        return incidence_from_cause_hazards(
            net.jump_times_, net.baseline_hazard_jumps_, as_cause_columns(log_risk, self.n_causes), self.cause, times
        )


def pick_outcome(y, cause):
    """The outcome of a training ``y``: competing risks for integer cause codes, else survival."""
    return CompetingRisksOutcome(cause) if is_competing_y(y) else SurvivalOutcome(cause)


def fitted_outcome(net):
    """The outcome a fitted (or fitting) ``net`` was given, rebuilt from ``cause`` and ``n_causes_``."""
    n = net.__dict__.get("n_causes_")
    cause = getattr(net, "cause", 1)  # a SurvivalNeuralNet pickled before it had the parameter
    return SurvivalOutcome(cause) if n is None else CompetingRisksOutcome(cause, n)
