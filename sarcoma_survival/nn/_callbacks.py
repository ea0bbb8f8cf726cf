"""skorch pieces for survival training: validation split, best weights, one-cycle schedule."""
from __future__ import annotations

import copy
import sys
import time

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from skorch.callbacks import Callback
from torch.utils.data import Subset

from ._loss import CoxPHLoss  # noqa: F401 - model files pickled before it moved to _loss name it here


class SurvivalValidSplit:
    """skorch ``train_split``: hold out a fraction of the training data, stratified by event.

    Parameters
    ----------
    valid_size : float, default=0.2
        Fraction of the patients held out for model selection.
    stratify : bool, default=True
        Keep the event rate equal in both parts (falls back to a plain random split when
        there are fewer than 2 events or 2 censorings).
    random_state : int or None, default=None
        Seed of the split. ``None`` draws it from torch's global generator, which the
        estimators seed from their own ``random_state``.

    Examples
    --------
    >>> import numpy as np
    >>> from skorch.dataset import Dataset
    >>> from sarcoma_survival.nn import SurvivalValidSplit
    >>> y = np.column_stack([np.arange(1.0, 11.0), np.tile([1.0, 0.0], 5)])
    >>> train, valid = SurvivalValidSplit(0.2, random_state=0)(Dataset(np.zeros((10, 1)), y), y)
    >>> len(train), len(valid)
    (8, 2)
    """

    def __init__(self, valid_size=0.2, stratify=True, random_state=None):
        self.valid_size = valid_size
        self.stratify = stratify
        self.random_state = random_state

    def __call__(self, dataset, y=None, groups=None):
        n = len(dataset)
        if not 0.0 < float(self.valid_size) < 1.0:
            raise ValueError(f"valid_size must be in (0, 1), got {self.valid_size}")
        seed = self.random_state
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        labels = None
        if self.stratify and y is not None:
            event = np.asarray(y)[:, 1] > 0.5
            if min(event.sum(), (~event).sum()) >= 2:
                labels = event
        idx_train, idx_valid = train_test_split(
            np.arange(n), test_size=float(self.valid_size), random_state=seed, stratify=labels
        )
        return Subset(dataset, np.sort(idx_train)), Subset(dataset, np.sort(idx_valid))

    def __repr__(self):
        return (
            f"{type(self).__name__}(valid_size={self.valid_size}, stratify={self.stratify}, "
            f"random_state={self.random_state})"
        )


class KeepBestWeights(Callback):
    """Keep, in memory, the module weights of the epoch with the best monitored score.

    No file is written, so concurrent fits (``GridSearchCV(n_jobs>1)``) cannot collide.
    At the end of training the best weights are loaded back and ``net.best_epoch_`` is
    set (the last epoch when nothing was monitored, e.g. without validation data).

    Parameters
    ----------
    monitor : str, default="valid_loss_best"
        History key that is True on improving epochs.

    Examples
    --------
    >>> from sarcoma_survival.nn import ClinicalMLPSurvival, KeepBestWeights
    >>> model = ClinicalMLPSurvival(callbacks__best_weights__monitor="valid_loss_best")
    >>> isinstance(dict(model.get_default_callbacks())["best_weights"], KeepBestWeights)
    True
    """

    def __init__(self, monitor="valid_loss_best"):
        self.monitor = monitor

    def on_train_begin(self, net, **kwargs):
        self.best_state_ = None
        self.best_epoch_ = None

    def on_epoch_end(self, net, **kwargs):
        if net.history[-1].get(self.monitor, False):
            self.best_state_ = copy.deepcopy(
                {k: v.detach().to("cpu", copy=True) for k, v in net.module_.state_dict().items()}
            )
            self.best_epoch_ = net.history[-1]["epoch"]

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
            net.best_epoch_ = self.best_epoch_
        elif len(net.history):
            net.best_epoch_ = net.history[-1]["epoch"]
        self.best_state_ = None  # do not carry a copy of the weights in the pickled net


class OneCycleSchedule(Callback):
    """One-cycle learning-rate policy (``torch.optim.lr_scheduler.OneCycleLR``), stepped per batch.

    The number of steps is computed when training starts, from the training set size,
    ``batch_size`` and ``max_epochs`` of the net.

    Parameters
    ----------
    max_lr : float, list of float or None, default=None
        Peak learning rate (one per optimizer parameter group when a list). ``None`` uses
        each parameter group's own learning rate: the net's ``lr``, or the ``lr`` given to
        a group through skorch's ``optimizer__param_groups`` (e.g. a higher peak for the
        image subnetwork of :class:`~sarcoma_survival.nn.MMNNSurvival`).
    pct_start : float, default=0.3
        Fraction of the steps spent increasing the learning rate.
    div_factor, final_div_factor : float, default=25.0, 1e4
        Initial lr = max_lr / div_factor; final lr = initial lr / final_div_factor.

    Examples
    --------
    >>> from sarcoma_survival.nn import DenseNetSurvival
    >>> model = DenseNetSurvival(callbacks__lr_scheduler__pct_start=0.1)
    >>> dict(model.initialize_callbacks().callbacks_)["lr_scheduler"].pct_start
    0.1
    """

    def __init__(self, max_lr=None, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
        self.max_lr = max_lr
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor

    @staticmethod
    def _peaks(optimizer):
        # Each group's peak: its configured lr (OneCycleLR stores it as "max_lr" once it
        # has run, and the current lr is annealed by then, e.g. in a continued training).
        return [float(group.get("max_lr", group["lr"])) for group in optimizer.param_groups]

    def on_train_begin(self, net, **kwargs):
        self.scheduler_ = None

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.scheduler_ is not None or dataset_train is None:
            return
        batch_size = net.get_params_for("iterator_train").get("batch_size", net.batch_size)
        if batch_size == -1:
            batch_size = len(dataset_train)
        drop_last = net.get_params_for("iterator_train").get("drop_last", False)
        per_epoch = len(dataset_train) // batch_size if drop_last else -(-len(dataset_train) // batch_size)
        epochs_left = net.max_epochs - (len(net.history) - 1)
        self.total_steps_ = max(1, per_epoch * max(1, epochs_left))
        self.steps_ = 0
        self.scheduler_ = torch.optim.lr_scheduler.OneCycleLR(
            net.optimizer_,
            max_lr=self.max_lr if self.max_lr is not None else self._peaks(net.optimizer_),
            total_steps=self.total_steps_,
            pct_start=self.pct_start,
            div_factor=self.div_factor,
            final_div_factor=self.final_div_factor,
        )

    def on_batch_end(self, net, training=False, **kwargs):
        if training and self.scheduler_ is not None and self.steps_ + 1 < self.total_steps_:
            self.scheduler_.step()
            self.steps_ += 1

    def on_train_end(self, net, **kwargs):
        self.scheduler_ = None


def _duration(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


class FitSummary(Callback):
    """One line per fit (and, optionally, one every few epochs) instead of skorch's epoch table.

    For fits inside cross-validation or grid search, where skorch's per-epoch table
    (``verbose=1``) prints hundreds of lines and ``verbose=0`` prints nothing for the
    minutes a fit takes. At the end of training it prints the estimator, the training
    patients, the epochs and seconds, and the best epoch with its validation loss; with
    ``every``, also a line every ``every`` epochs with the seconds per epoch and an
    estimate of the time left. Scikit-learn adds the score of each fit:
    ``GridSearchCV(..., verbose=3)`` prints it with the fold's time.

    Parameters
    ----------
    every : int or None, default=None
        Also print a progress line every ``every`` epochs; ``None``: only the last line.
    sink : callable, default=None
        Where the lines go (a function of one string); ``None``: ``print`` to stderr.

    Examples
    --------
    >>> from sarcoma_survival.nn import ClinicalMLPSurvival, FitSummary
    >>> model = ClinicalMLPSurvival(callbacks=[("fit_summary", FitSummary(every=10))])
    >>> dict(model.callbacks)["fit_summary"].every
    10
    """

    def __init__(self, every=None, sink=None):
        self.every = every
        self.sink = sink

    def _print(self, text):
        if self.sink is not None:
            self.sink(text)
        else:
            print(text, file=sys.stderr, flush=True)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.start_ = time.perf_counter()
        self.n_train_ = len(y) if y is not None and hasattr(y, "__len__") else None

    def on_epoch_end(self, net, **kwargs):
        epoch, total = len(net.history), net.max_epochs
        if not self.every or epoch % self.every or epoch >= total:
            return
        elapsed = time.perf_counter() - self.start_
        losses = ", ".join(f"{key} {net.history[-1][key]:.4f}" for key in ("train_loss", "valid_loss")
                           if key in net.history[-1])
        self._print(f"{type(net).__name__}: epoch {epoch}/{total}, {elapsed / epoch:.1f} s per epoch, about "
                    f"{_duration(elapsed / epoch * (total - epoch))} left" + (f"; {losses}" if losses else ""))

    def on_train_end(self, net, **kwargs):
        elapsed = time.perf_counter() - self.start_
        patients = f" on {self.n_train_} patients" if self.n_train_ is not None else ""
        best = getattr(net, "best_epoch_", None)
        row = next((r for r in net.history if r["epoch"] == best), None) if best is not None else None
        chosen = (f"; best epoch {best}, valid loss {row['valid_loss']:.4f}"
                  if row is not None and "valid_loss" in row else "")
        self._print(f"{type(net).__name__}: fitted{patients}, {len(net.history)} epochs in "
                    f"{_duration(elapsed)}{chosen}")
