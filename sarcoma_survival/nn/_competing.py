"""Competing risks for the neural estimators: one log-risk per cause, summed Cox losses.

Given a competing-risks ``y`` (integer event, 0 = censored, 1..K = cause; see
:func:`~sarcoma_survival.competing_risks.competing_y`), a network gets K log-risk
outputs (``module__n_outputs``), is trained on the sum of the K cause-specific Cox
partial likelihoods (the events of cause k are events, everything else is censored for
that cause) and predicts the incidence of ``cause`` from the per-cause Breslow baselines
combined by Aalen-Johansen, exactly as
:class:`~sarcoma_survival.competing_risks.CauseSpecificCoxPH` does. With a survival
``y`` nothing changes, and ``cause`` must be 1 (another cause would be silently unused).
"""
from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ..metrics import concordance_index_competing
from ..utils import (
    CAUSE_CONSTRAINT,
    breslow_jumps,
    check_competing_fit_y,
    check_competing_y,
    check_times,
    incidence_from_cause_hazards,
    is_competing_y,
    n_causes,
)
from ._base import SurvivalNeuralNet

#: Attributes of a model fitted on a competing-risks outcome.
_COMPETING_ATTRIBUTES = ("n_causes_", "jump_times_", "baseline_hazard_jumps_")

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


def _refusing(method):
    """The docstring of a survival-function method, plus the competing-risks refusal."""
    return method.__doc__.rstrip() + """

        Raises
        ------
        AttributeError
            For a model fitted on a competing-risks outcome (it has
            ``predict_cumulative_incidence`` instead).
        """


def as_cause_columns(log_risk, n_causes_):
    """Network outputs as an (n, K) tensor, checked against the number of causes."""
    log_risk = log_risk.reshape(len(log_risk), -1)
    if log_risk.shape[1] != n_causes_:
        raise ValueError(
            f"the network gives {log_risk.shape[1]} log-risk output(s) for a competing-risks "
            f"outcome with {n_causes_} causes; its module needs an n_outputs argument (set from y)"
        )
    return log_risk


def cause_target(y_true, k):
    """``[time, event]`` rows of cause ``k``: its events are events, all else censored."""
    return torch.stack([y_true[:, 0], (y_true[:, 1] == k).to(y_true.dtype)], dim=1)


class CompetingRisksNetMixin:
    """``cause`` and the competing-risks outcome for a :class:`SurvivalNeuralNet` subclass.

    Placed before :class:`~sarcoma_survival.nn.SurvivalNeuralNet` in the bases. The
    training target keeps its ``[time, code]`` rows; :meth:`_checked_loss` sums the
    base's Cox loss over the causes, so every caller of it (training batches, the
    whole-set validation loss of model selection, the per-head losses of gradient
    blending) gets the summed loss.
    """

    _parameter_constraints = {"cause": CAUSE_CONSTRAINT}

    def __init__(self, *args, cause=1, **kwargs):
        super().__init__(*args, **kwargs)
        self.cause = cause

    def _is_competing(self):
        return getattr(self, "n_causes_", None) is not None

    def _refuse_if_competing(self, what):
        if self._is_competing():
            raise AttributeError(
                f"{type(self).__name__} was fitted on a competing-risks outcome: it has no "
                f"{what} (death of another cause is not censoring); use "
                "predict_cumulative_incidence(X, times)"
            )

    # ------------------------------------------------------------------ training
    def fit(self, X, y, validation_data=None, **fit_params):
        """Train the network; with a competing-risks ``y``, one log-risk per cause.

        Parameters
        ----------
        X : DataFrame or array-like
            Training features (see the class for accepted inputs).
        y : structured ndarray
            Survival outcome (``sksurv.util.Surv.from_arrays(event, time)``), or
            competing-risks outcome
            (:func:`~sarcoma_survival.competing_risks.competing_y`).
        validation_data : tuple (X_val, y_val), optional
            Model-selection data (an outcome of the same kind) used instead of the inner
            ``train_split``.
        **fit_params
            Passed to skorch's ``fit``.

        Returns
        -------
        self
        """
        if not is_competing_y(y):
            if isinstance(self.cause, numbers.Integral) and not isinstance(self.cause, bool) and self.cause != 1:
                raise ValueError(
                    f"cause={self.cause} but y is a survival outcome (one event type, cause 1): give a "
                    "competing-risks y (sarcoma_survival.competing_risks.competing_y) or leave cause=1"
                )
            for name in _COMPETING_ATTRIBUTES:
                self.__dict__.pop(name, None)
            return super().fit(X, y, validation_data=validation_data, **fit_params)
        event, time = check_competing_fit_y(y, X, self)
        self._check_params()
        if n_causes(event, self.cause) == 1:
            raise ValueError(
                f"{type(self).__name__}: y has an integer event field holding only 0 and 1, which "
                "would make a one-cause competing-risks model: for a survival outcome build y with "
                "sksurv.util.Surv.from_arrays(event == 1, time); for competing risks give every "
                "cause its code 1..K (sarcoma_survival.competing_risks.competing_y)"
            )
        self.__dict__.pop("baseline_model_", None)
        self.n_causes_ = n_causes(event, self.cause)
        with self._fit_data():
            Xt = self._train(X, event, time, validation_data, fit_params)
            log_risk = self._cause_log_risks(Xt)
        self.training_risks_ = np.sort(log_risk[:, self.cause - 1])
        self.jump_times_, self.baseline_hazard_jumps_ = breslow_jumps(
            log_risk, event, time, self.n_causes_
        )
        return self

    def _check_validation_y(self, y, X):
        if self._is_competing():
            return check_competing_y(y, X, allow_no_event=True)
        return super()._check_validation_y(y, X)

    def get_params_for(self, prefix):
        params = super().get_params_for(prefix)
        if prefix == "module" and self._is_competing():
            if params.setdefault("n_outputs", self.n_causes_) != self.n_causes_:
                raise ValueError(
                    f"module__n_outputs={params['n_outputs']} but y has {self.n_causes_} causes"
                )
        return params

    def _checked_loss(self, y_pred, y_true, training):
        if not self._is_competing():
            return super()._checked_loss(y_pred, y_true, training)
        log_risk = as_cause_columns(y_pred, self.n_causes_)
        losses = [
            super(CompetingRisksNetMixin, self)._checked_loss(log_risk[:, k - 1], cause_target(y_true, k), training)
            for k in range(1, self.n_causes_ + 1)
        ]
        return torch.stack(losses).sum()

    # ------------------------------------------------------------------ prediction
    def _cause_log_risks(self, Xt):
        """(n_samples, K) float64 log-risks of every cause (first head of a multi-head net)."""
        out = self.forward(Xt, training=False)
        if isinstance(out, tuple):
            out = out[0]
        return as_cause_columns(out.float(), self.n_causes_).numpy().astype(np.float64)

    def _predict_transformed(self, Xt):
        if not self._is_competing():
            return super()._predict_transformed(Xt)
        return self._cause_log_risks(Xt)[:, self.cause - 1]

    def predict_cumulative_incidence(self, X, times):
        """Cumulative incidence of ``cause`` at ``times`` (fitted on a competing ``y`` only).

        The per-cause Breslow baselines of the training data and the network's
        log-risks are combined by Aalen-Johansen, as in
        :class:`~sarcoma_survival.competing_risks.CauseSpecificCoxPH`.

        Parameters
        ----------
        X : DataFrame or array-like
        times : array-like of shape (n_times,)

        Returns
        -------
        ndarray of shape (n_samples, n_times)
        """
        check_is_fitted(self, "training_risks_")
        if not self._is_competing():
            raise AttributeError(
                f"{type(self).__name__} was fitted on a survival outcome: it has no cumulative "
                "incidence; fit it on a competing-risks y "
                "(sarcoma_survival.competing_risks.competing_y)"
            )
        times = check_times(times)
        log_risk = self._cause_log_risks(self._transform_inputs(X))
        return incidence_from_cause_hazards(
            self.jump_times_, self.baseline_hazard_jumps_, log_risk, self.cause, times
        )

    def predict_survival_function(self, X, return_array=False):
        self._refuse_if_competing("survival function")
        return super().predict_survival_function(X, return_array=return_array)

    predict_survival_function.__doc__ = _refusing(SurvivalNeuralNet.predict_survival_function)

    def predict_cumulative_hazard_function(self, X, return_array=False):
        self._refuse_if_competing("cumulative hazard function")
        return super().predict_cumulative_hazard_function(X, return_array=return_array)

    predict_cumulative_hazard_function.__doc__ = _refusing(
        SurvivalNeuralNet.predict_cumulative_hazard_function
    )

    @property
    def unique_times_(self):
        self._refuse_if_competing("unique_times_ (times of a survival function)")
        return super().unique_times_

    def score(self, X, y):
        """Concordance of :meth:`predict`: Harrell's C for a survival outcome, the
        cause-specific concordance of ``cause`` (Wolbers et al. 2014) for a competing one.

        Parameters
        ----------
        X : DataFrame or array-like
        y : structured ndarray
            An outcome of the kind the model was fitted on.

        Returns
        -------
        float
        """
        if self._is_competing():
            return concordance_index_competing(y, self.predict(X), cause=self.cause)
        return super().score(X, y)
