"""What the two image estimators (DenseNetSurvival, MMNNSurvival) share on top of the base."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import StrOptions

from ..preprocessing import RandomAugment3D
from ._base import default_callbacks
from ._callbacks import OneCycleSchedule
from ._data import PLACEMENTS
from ._pretrained import load_pretrained_densenet

#: The paper's SGD settings, applied when ``optimizer=torch.optim.SGD`` and not overridden.
SGD_DEFAULTS = {"momentum": 0.9, "nesterov": True, "weight_decay": 1e-4}


#: What ImageTrainingMixin adds or changes, for the ``**kwargs`` entry of the docstrings.
IMAGE_PARAMS_DOC = """
        * ``augment=RandomAugment3D()``: training-time augmentation of (B, C, D, H, W)
          image batches (callable or None); cloned and seeded from ``random_state`` at
          each fit. ``None`` disables it.
        * ``pretrained_weights=None``: yAware / BHB-10K DenseNet-121 checkpoint (str or
          Path) loaded into the image network when the module is initialized (see
          :func:`~sarcoma_survival.nn.load_pretrained_densenet`).
        * ``optimizer=torch.optim.SGD``: with ``optimizer__momentum=0.9``,
          ``optimizer__nesterov=True``, ``optimizer__weight_decay=1e-4`` unless given.
        * ``lr=0.01``: peak learning rate of the one-cycle policy (callback
          ``lr_scheduler``).
        * ``max_epochs=50``.
        * ``batch_size=8``: a training epoch never ends with a batch of one patient
          (BatchNorm cannot train on it); when the training set size leaves one, that
          patient sits the epoch out.
        * ``volume_device="auto"``: where the preprocessed volumes of a fit are held.
          They are loaded once into one tensor and batches are taken from it by index:
          ``"device"`` on the training GPU, ``"host"`` in host memory (pinned on CUDA),
          ``"auto"`` on the GPU when they take at most half of its free memory, else on
          the host (always the host on CPU). ``"lazy"`` reads every volume from disk on
          every epoch (for cohorts that do not fit in memory). Prediction always reads
          lazily. A seed gives the same model on every setting.
        * ``criterion``, ``train_split``, ``random_state``, ``device``, ``precision``,
          ``micro_batch_size``, ``verbose``: as in :class:`~sarcoma_survival.nn.SurvivalNeuralNet`
          (``criterion__ties="efron"`` for Efron's ties; ``random_state`` also seeds the
          augmentation)."""


def one_cycle_callbacks(*extra, print_log=None):
    """Default callbacks of the image estimators: the base's, with a one-cycle schedule."""
    return default_callbacks(*extra, lr_scheduler=OneCycleSchedule(), print_log=print_log)


class ImageTrainingMixin:
    """Image inputs, augmentation, pre-trained weights and the paper's training recipe.

    Placed before :class:`SurvivalNeuralNet` in the bases of an estimator with a
    ``preprocessor`` parameter and whose module takes ``in_channels``. It adds the
    parameters ``augment`` and ``pretrained_weights`` and changes the defaults of
    ``optimizer`` (SGD, with :data:`SGD_DEFAULTS` unless given), ``lr``, ``max_epochs``
    and ``batch_size`` to the paper's recipe; it owns the image preprocessing
    (``"auto"``: a :class:`~sarcoma_survival.preprocessing.VolumePreprocessor` for a
    cohort table), the check of the volumes and of their channels.
    """

    _parameter_constraints = {
        "augment": [callable, None],
        "pretrained_weights": [str, os.PathLike, None],
        "volume_device": [StrOptions(set(PLACEMENTS))],
    }

    def __init__(
        self,
        *,
        augment=RandomAugment3D(),
        pretrained_weights=None,
        optimizer=torch.optim.SGD,
        lr=0.01,
        max_epochs=50,
        batch_size=8,
        volume_device="auto",
        **kwargs,
    ):
        super().__init__(optimizer=optimizer, lr=lr, max_epochs=max_epochs, batch_size=batch_size, **kwargs)
        self.augment = augment
        self.pretrained_weights = pretrained_weights
        self.volume_device = volume_device

    @property
    def _default_callbacks(self):
        return one_cycle_callbacks()

    def initialize(self):
        super().initialize()
        if self._channels_last():
            self.module_.to(memory_format=torch.channels_last_3d)
        with self._seeded():
            self.augment_ = clone(self.augment) if self.augment is not None else None
            if self.augment_ is not None and hasattr(self.augment_, "reset"):
                if getattr(self.augment_, "random_state", None) is None and self.random_state is not None:
                    self.augment_.set_params(random_state=int(torch.randint(0, 2**31 - 1, (1,)).item()))
                self.augment_.reset()
        return self

    # ------------------------------------------------------------------ volumes
    def _make_image_preprocessor(self, X):
        if self.preprocessor is None:
            return None
        if isinstance(self.preprocessor, str):  # "auto" (the constraints allow no other string)
            if not isinstance(X, pd.DataFrame):
                return None
            from ..preprocessing import VolumePreprocessor

            return VolumePreprocessor()
        return clone(self.preprocessor)

    def _check_volumes(self, Xt):
        if isinstance(Xt, pd.DataFrame):
            raise ValueError(
                f"{type(self).__name__} got a DataFrame where image volumes were expected (no image "
                "preprocessor?): use preprocessor='auto' or a VolumePreprocessor"
            )
        if isinstance(Xt, (np.ndarray, torch.Tensor)):
            Xt = np.asarray(Xt, dtype=np.float32)
            if Xt.ndim != 5:
                raise ValueError(f"expected volumes of shape (n, C, D, H, W), got {Xt.shape}")
            if not np.isfinite(Xt).all():
                raise ValueError("the image volumes contain NaN or infinite values")
            return Xt
        if not hasattr(Xt, "__len__") or not hasattr(Xt, "__getitem__"):
            raise ValueError(f"cannot read volumes from {type(Xt).__name__}")
        first = np.asarray(Xt[0])
        if first.ndim != 4:
            raise ValueError(f"each volume must have shape (C, D, H, W), got {first.shape}")
        return Xt

    def _fit_volumes(self, X):
        """Fit the image preprocessor on training patients; their checked volumes."""
        self.preprocessor_ = self._make_image_preprocessor(X)
        Xt = self.preprocessor_.fit_transform(X) if self.preprocessor_ is not None else X
        Xt = self._check_volumes(Xt)
        self.n_channels_ = int(np.asarray(Xt[0]).shape[0])
        self.volume_shape_ = tuple(np.asarray(Xt[0]).shape[1:])
        return Xt

    def _transform_volumes(self, X):
        """Checked volumes of new patients, with the channels of the training images."""
        Xt = self.preprocessor_.transform(X) if self.preprocessor_ is not None else X
        Xt = self._check_volumes(Xt)
        channels = int(np.asarray(Xt[0]).shape[0])
        if channels != self.n_channels_:
            raise ValueError(f"X has {channels} image channels; the model was fitted with {self.n_channels_}")
        return Xt

    # ------------------------------------------------------------------ module
    def _with_image_channels(self, kwargs):
        """``module__`` kwargs with ``in_channels`` set from the fitted images (checked)."""
        channels = getattr(self, "n_channels_", None)
        if channels is not None and kwargs.get("in_channels", channels) != channels:
            raise ValueError(
                f"module__in_channels={kwargs['in_channels']} but the images have {channels} channels"
            )
        kwargs.setdefault("in_channels", channels if channels is not None else 2)
        return kwargs

    def _set_module(self, module, encoder):
        """Keep ``module`` as ``module_``, ``pretrained_weights`` loaded into its DenseNet ``encoder``."""
        self.pretrained_report_ = None
        if self.pretrained_weights is not None:
            self.pretrained_report_ = load_pretrained_densenet(encoder, self.pretrained_weights)
        self.module_ = module
        return self

    def _augment_images(self, images):
        """``augment_`` applied to a training batch of images (identity without it)."""
        return images if self.augment_ is None else self.augment_(images)

    # ------------------------------------------------------------------ GPU data path
    def _volume_placement(self):
        return self.volume_device

    def _channels_last(self):
        """cuDNN's fastest 3D convolutions take channels-last volumes (CUDA only)."""
        return torch.device(self.device_).type == "cuda"

    def infer(self, x, **fit_params):
        if self._channels_last():
            x = _channels_last_images(x)
        return super().infer(x, **fit_params)

    def get_params_for_optimizer(self, prefix, named_parameters):
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        if self.optimizer is torch.optim.SGD:
            for key, value in SGD_DEFAULTS.items():
                kwargs.setdefault(key, value)
        return args, kwargs


def _channels_last_images(x):
    """5-D tensors (image batches) of ``x`` in ``channels_last_3d`` memory format."""
    if isinstance(x, dict):
        return {k: _channels_last_images(v) for k, v in x.items()}
    if torch.is_tensor(x) and x.dim() == 5:
        return x.contiguous(memory_format=torch.channels_last_3d)
    return x
