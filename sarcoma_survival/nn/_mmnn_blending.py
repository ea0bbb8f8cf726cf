"""Online gradient-blending schedule of the multimodal network, as a skorch callback."""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from skorch.callbacks import Callback

from ._blending import gradient_blending_weights
from ._mmnn_module import HEADS

_MODES = (True, False, "uniform")


def check_blending_params(gradient_blending, warmup, period, eps, min_weight=0.0, smoothing=0.0):
    """Validate the blending settings of :class:`MMNNSurvival`; raise a clear ValueError."""
    if not (isinstance(gradient_blending, (bool, np.bool_)) or gradient_blending == "uniform"):
        raise ValueError(f"gradient_blending must be True, False or 'uniform'; got {gradient_blending!r}")
    for name, value, low in (("blend_warmup", warmup, 0), ("blend_period", period, 1)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if not isinstance(eps, numbers.Real) or not eps > 0:
        raise ValueError(f"blend_eps must be > 0, got {eps!r}")
    top = 1.0 / len(HEADS)
    if not isinstance(min_weight, numbers.Real) or isinstance(min_weight, bool) or not 0.0 <= min_weight <= top:
        raise ValueError(f"blend_min_weight must be in [0, {top:.4g}] (1 / number of heads), got {min_weight!r}")
    if not isinstance(smoothing, numbers.Real) or isinstance(smoothing, bool) or not 0.0 <= smoothing < 1.0:
        raise ValueError(f"blend_smoothing must be in [0, 1), got {smoothing!r}")


def floored_weights(estimate, min_weight):
    """Mix weights with uniform ones so that every head gets at least ``min_weight``.

    ``min_weight + (1 - n * min_weight) * estimate``: still sums to 1, keeps the order
    of the heads, equals ``estimate`` for ``min_weight=0`` and uniform weights for
    ``min_weight=1/n``.

    Parameters
    ----------
    estimate : ndarray of shape (n_heads,)
        Non-negative weights summing to 1.
    min_weight : float
        In ``[0, 1 / n_heads]``.

    Returns
    -------
    ndarray of shape (n_heads,)
    """
    estimate = np.asarray(estimate, dtype=float)
    return min_weight + (1.0 - estimate.size * min_weight) * estimate


def fixed_weights(gradient_blending):
    """Weights (in ``HEADS`` order) used before, or instead of, any re-estimation."""
    if gradient_blending is False or gradient_blending is np.False_:
        return np.array([1.0, 0.0, 0.0])  # the multimodal head alone (ablation)
    return np.full(len(HEADS), 1.0 / len(HEADS))


class GradientBlending(Callback):
    """Schedule of the gradient-blending weights of a multimodal survival net.

    The loss optimised on a training batch is ``sum_k w_k * L_k`` over the heads
    (multimodal, clinical, image). The weights follow the net's settings:

    * ``gradient_blending=True``: uniform during the first ``blend_warmup`` epochs; at
      the end of epoch ``blend_warmup`` and then every ``blend_period`` epochs, the Cox
      loss of every head is measured on the WHOLE training set and on the WHOLE
      held-out blend set (``net.blend_dataset_``, carved from the training data, never
      the model-selection or test set), and new weights are computed from the last
      ``blend_period`` epochs by :func:`~sarcoma_survival.nn.gradient_blending_weights`
      (proportional to ΔG/ΔO², Wang et al., 2020). Two guards against the noise of a
      small blend set follow: the new estimate is averaged with the previous one
      (``blend_smoothing`` s: ``s * previous + (1 - s) * new``, the warm-up's uniform
      weights being the first "previous"), and every head keeps at least
      ``blend_min_weight`` (:func:`floored_weights`). With both at 0 the weights are the
      rule's raw output. They apply from the next epoch on.
    * During the refit of ``blend_refit=True`` (``net._replayed_weights`` set): the
      estimating run's weight of each epoch, without any measurement.
    * ``gradient_blending="uniform"``: fixed weights 1/3 on every head.
    * ``gradient_blending=False``: weight 1 on the multimodal head, 0 on the auxiliary
      heads, which then get no gradient (the paper's ablation).

    At the start of every epoch the weights used during it are recorded in the history
    under ``"blending_weights"`` (a dict head -> weight, which
    :func:`~sarcoma_survival.plotting.plot_blending_weights` reads from ``net.history``);
    the measured losses are recorded as ``blend_train_loss_<head>`` and
    ``blend_heldout_loss_<head>`` at the measurement epochs. At the end of training the
    net gets ``blending_weights_``, a DataFrame indexed by epoch.

    The callback reads the net's ``gradient_blending``, ``blend_warmup``,
    ``blend_period``, ``blend_eps``, ``blend_min_weight`` and ``blend_smoothing``
    (the last two default to 0 when a net lacks them), records the rule's raw output of
    each estimation as ``blend_raw_weight_<head>``, sets ``net.blend_weights_`` (ndarray in
    ``HEADS`` order: multimodal, clinical, image) and calls
    ``net.head_losses(dataset)`` (whole-set Cox loss of each head).

    Examples
    --------
    >>> from sarcoma_survival.nn import GradientBlending, MMNNSurvival
    >>> model = MMNNSurvival(blend_warmup=4, blend_period=2)
    >>> isinstance(dict(model.get_default_callbacks())["gradient_blending"], GradientBlending)
    True
    """

    # ------------------------------------------------------------------ schedule
    @staticmethod
    def first_update(warmup, period):
        """Epoch at whose end the weights are first re-estimated.

        Parameters
        ----------
        warmup : int
            Epochs trained with uniform weights.
        period : int
            Epochs between two estimations.

        Returns
        -------
        int
            ``warmup``, or ``period`` when there is no warm-up.
        """
        return warmup if warmup >= 1 else period

    def is_update_epoch(self, epoch, warmup, period):
        """Whether new weights are computed at the end of ``epoch`` (1-based).

        Parameters
        ----------
        epoch : int
        warmup, period : int

        Returns
        -------
        bool
        """
        first = self.first_update(warmup, period)
        return epoch >= first and (epoch - first) % period == 0

    def is_snapshot_epoch(self, epoch, warmup, period):
        """Whether the head losses are measured at the end of ``epoch`` (0 = before training).

        Parameters
        ----------
        epoch : int
        warmup, period : int

        Returns
        -------
        bool
        """
        first = self.first_update(warmup, period)
        return epoch == max(0, first - period) or self.is_update_epoch(epoch, warmup, period)

    # ------------------------------------------------------------------ skorch hooks
    @staticmethod
    def _guards(net):
        return getattr(net, "blend_min_weight", 0.0), getattr(net, "blend_smoothing", 0.0)

    def on_train_begin(self, net, **kwargs):
        check_blending_params(net.gradient_blending, net.blend_warmup, net.blend_period, net.blend_eps,
                              *self._guards(net))
        if len(net.history) == 0 or getattr(self, "weights_", None) is None:
            self.weights_ = fixed_weights(net.gradient_blending)
            self.estimate_ = self.weights_.copy()  # smoothed rule output, before the floor
            self.snapshots_ = {}
        net.blend_weights_ = self.weights_.copy()

    @staticmethod
    def _replayed(net):
        return getattr(net, "_replayed_weights", None)

    def _active(self, net):
        active = net.gradient_blending is True or net.gradient_blending is np.True_
        return active and self._replayed(net) is None

    def _snapshot(self, net, epoch, dataset_train):
        train = np.asarray(net.head_losses(dataset_train), dtype=float)
        heldout = np.asarray(net.head_losses(net.blend_dataset_), dtype=float)
        self.snapshots_[epoch] = (train, heldout)
        return train, heldout

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        epoch = len(net.history)
        warmup, period = net.blend_warmup, net.blend_period
        replayed = self._replayed(net)
        if replayed is not None:  # the refit: the weights the estimating run used at this epoch
            self.weights_ = np.asarray(replayed[min(epoch, len(replayed)) - 1], dtype=float)
            net.blend_weights_ = self.weights_.copy()
        if self._active(net) and epoch == 1 and self.is_snapshot_epoch(0, warmup, period):
            self._snapshot(net, 0, dataset_train)  # the state before any training step
        net.history.record("blending_weights", dict(zip(HEADS, self.weights_.tolist())))

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        if not self._active(net):
            return
        epoch = len(net.history)
        warmup, period = net.blend_warmup, net.blend_period
        if not self.is_snapshot_epoch(epoch, warmup, period):
            return
        train, heldout = self._snapshot(net, epoch, dataset_train)
        for head, t, v in zip(HEADS, train, heldout):
            net.history.record(f"blend_train_loss_{head}", float(t))
            net.history.record(f"blend_heldout_loss_{head}", float(v))
        start = self.snapshots_.get(max(0, epoch - period))
        if self.is_update_epoch(epoch, warmup, period) and start is not None:
            min_weight, smoothing = self._guards(net)
            raw = gradient_blending_weights(
                start[0], start[1], train, heldout, eps=net.blend_eps, previous=self.estimate_
            )
            for head, w in zip(HEADS, raw):
                net.history.record(f"blend_raw_weight_{head}", float(w))
            self.estimate_ = smoothing * self.estimate_ + (1.0 - smoothing) * raw
            self.weights_ = floored_weights(self.estimate_, min_weight)
            net.blend_weights_ = self.weights_.copy()

    def on_train_end(self, net, **kwargs):
        net.blending_weights_ = blending_weights_from_history(net.history)


def blending_weights_from_history(history):
    """DataFrame (index ``epoch``, one column per head) of the weights recorded per epoch.

    Parameters
    ----------
    history : skorch History or list of dict
        Per-epoch records holding ``"blending_weights"``.

    Returns
    -------
    DataFrame
        Columns ``multimodal``, ``clinical``, ``image``; epochs without a record are left out.
    """
    rows = [{"epoch": row["epoch"], **row["blending_weights"]} for row in history
            if "blending_weights" in row]
    frame = pd.DataFrame(rows, columns=["epoch", *HEADS]).set_index("epoch")
    return frame.astype(float)
