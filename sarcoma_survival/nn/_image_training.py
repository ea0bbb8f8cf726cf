"""What the two image estimators (DenseNetSurvival, MMNNSurvival) share on top of the base."""
from __future__ import annotations

import torch
from sklearn.base import clone
from skorch.callbacks import EpochTimer, PassthroughScoring, PrintLog

from ._callbacks import KeepBestWeights, OneCycleSchedule

#: The paper's SGD settings, applied when ``optimizer=torch.optim.SGD`` and not overridden.
SGD_DEFAULTS = {"momentum": 0.9, "nesterov": True, "weight_decay": 1e-4}


def one_cycle_callbacks(*extra, print_log=None):
    """Default callbacks of the image estimators; ``extra`` (name, callback) pairs go
    before the learning-rate schedule (they may change the loss the schedule sees)."""
    return [
        ("epoch_timer", EpochTimer()),
        ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
        ("valid_loss", PassthroughScoring(name="valid_loss")),
        *extra,
        ("lr_scheduler", OneCycleSchedule()),
        ("best_weights", KeepBestWeights()),
        ("print_log", print_log if print_log is not None else PrintLog()),
    ]


class ImageTrainingMixin:
    """Augmentation set-up, image-channel checks and the paper's SGD defaults.

    Placed before :class:`SurvivalNeuralNet` in the bases of an estimator that has
    ``augment`` and ``random_state`` parameters and whose module takes ``in_channels``.
    """

    def initialize(self):
        super().initialize()
        with self._seeded():
            self.augment_ = clone(self.augment) if self.augment is not None else None
            if self.augment_ is not None and hasattr(self.augment_, "reset"):
                if getattr(self.augment_, "random_state", None) is None and self.random_state is not None:
                    self.augment_.set_params(random_state=int(torch.randint(0, 2**31 - 1, (1,)).item()))
                self.augment_.reset()
        return self

    def _with_image_channels(self, kwargs):
        """``module__`` kwargs with ``in_channels`` set from the fitted images (checked)."""
        channels = getattr(self, "n_channels_", None)
        if channels is not None and kwargs.get("in_channels", channels) != channels:
            raise ValueError(
                f"module__in_channels={kwargs['in_channels']} but the images have {channels} channels"
            )
        kwargs.setdefault("in_channels", channels if channels is not None else 2)
        return kwargs

    def get_params_for_optimizer(self, prefix, named_parameters):
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        if self.optimizer is torch.optim.SGD:
            for key, value in SGD_DEFAULTS.items():
                kwargs.setdefault(key, value)
        return args, kwargs
