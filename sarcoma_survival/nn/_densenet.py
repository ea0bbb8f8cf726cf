"""DenseNetSurvival: the unimodal image model (3D DenseNet-121 -> 12 features -> risk)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from ..preprocessing import RandomAugment3D
from ._base import SurvivalNeuralNet
from ._callbacks import CoxPHLoss, SurvivalValidSplit
from ._image_training import ImageTrainingMixin, one_cycle_callbacks
from ._modules import DenseNetRisk
from ._pretrained import load_pretrained_densenet


class DenseNetSurvival(ImageTrainingMixin, SurvivalNeuralNet):
    """Deep Cox model on 3D MRI: MONAI DenseNet-121, 12 image features, linear risk head.

    Takes the cohort table: the image columns are preprocessed by ``preprocessor`` (a
    :class:`~sarcoma_survival.preprocessing.VolumePreprocessor`, whose per-patient results
    are cached on disk, so cross-validation and grid search preprocess each patient once).
    A 5-D numeric array ``(n, C, D, H, W)`` or any array-like of ``(C, D, H, W)`` volumes
    is accepted too. Training batches (never validation or prediction batches) go through
    ``augment``. The defaults follow the paper's recipe: SGD with Nesterov momentum and a
    one-cycle learning-rate policy (callback ``lr_scheduler``), batch size 8.

    Parameters
    ----------
    preprocessor : "auto", transformer or None, default="auto"
        ``"auto"``: ``VolumePreprocessor()`` for a DataFrame, nothing for arrays. A
        transformer is cloned and fitted on the training data.
    augment : callable or None, default=RandomAugment3D()
        Training-time augmentation of (B, C, D, H, W) tensors; cloned and re-seeded from
        ``random_state`` at each fit. ``None`` disables it.
    pretrained_weights : str, Path or None, default=None
        yAware / BHB-10K DenseNet-121 checkpoint loaded when the module is initialised
        (see :func:`~sarcoma_survival.nn.load_pretrained_densenet`).
    module : torch module class, default=DenseNetRisk
        ``module__in_channels`` defaults to the channels of the data; other sizes through
        ``module__n_features``, ``module__dropout``, ``module__block_config``,
        ``module__init_features``, ``module__growth_rate``.
    criterion : torch.nn.Module class, default=CoxPHLoss
        Cox partial likelihood; ``criterion__ties="efron"`` for Efron's ties.
    optimizer : torch optimizer class, default=torch.optim.SGD
        With ``optimizer__momentum=0.9``, ``optimizer__nesterov=True``,
        ``optimizer__weight_decay=1e-4`` unless given.
    lr : float, default=0.01
        Peak learning rate of the one-cycle policy.
    max_epochs : int, default=50
    batch_size : int, default=8
    train_split : callable or None, default=SurvivalValidSplit(0.2)
    random_state : int or None, default=None
    device : str, default="auto"
    precision : {"auto", "fp32", "bf16"}, default="auto"
    verbose : int, default=0
    **kwargs
        Other skorch arguments, e.g. ``callbacks__lr_scheduler=None`` (constant lr),
        ``iterator_train__num_workers=2``, ``criterion__ties="efron"``.

    Attributes
    ----------
    preprocessor_ : transformer or None
    augment_ : callable or None
    n_channels_ : int
        Image channels of the training data.
    pretrained_report_ : dict or None
        What :func:`~sarcoma_survival.nn.load_pretrained_densenet` loaded.
    module_, baseline_model_, best_epoch_, history_
        See :class:`~sarcoma_survival.nn.SurvivalNeuralNet`.

    Examples
    --------
    >>> import numpy as np
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.nn import DenseNetSurvival
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(12, 1, 16, 16, 16)).astype("float32")
    >>> y = Surv.from_arrays(rng.random(12) < 0.6, rng.uniform(100, 1000, 12))
    >>> model = DenseNetSurvival(max_epochs=1, random_state=0, module__init_features=8,
    ...                          module__growth_rate=4, module__block_config=(1, 1)).fit(X, y)
    >>> model.predict(X[:3]).shape
    (3,)
    """

    def __init__(
        self,
        preprocessor="auto",
        *,
        augment=RandomAugment3D(),
        pretrained_weights=None,
        module=DenseNetRisk,
        criterion=CoxPHLoss,
        optimizer=torch.optim.SGD,
        lr=0.01,
        max_epochs=50,
        batch_size=8,
        train_split=SurvivalValidSplit(0.2),
        random_state=None,
        device="auto",
        precision="auto",
        verbose=0,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            random_state=random_state,
            device=device,
            precision=precision,
            verbose=verbose,
            **kwargs,
        )
        self.preprocessor = preprocessor
        self.augment = augment
        self.pretrained_weights = pretrained_weights

    @property
    def _default_callbacks(self):
        return one_cycle_callbacks()

    # ------------------------------------------------------------------ inputs
    def _make_preprocessor(self, X):
        if self.preprocessor is None:
            return None
        if isinstance(self.preprocessor, str):
            if self.preprocessor != "auto":
                raise ValueError(f"preprocessor must be 'auto', a transformer or None; got {self.preprocessor!r}")
            if not isinstance(X, pd.DataFrame):
                return None
            from ..preprocessing import VolumePreprocessor

            return VolumePreprocessor()
        return clone(self.preprocessor)

    @staticmethod
    def _check_volumes(Xt):
        if isinstance(Xt, pd.DataFrame):
            raise ValueError(
                "DenseNetSurvival got a DataFrame but no image preprocessor: use "
                "preprocessor='auto' or a VolumePreprocessor"
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

    def _fit_inputs(self, X):
        self.preprocessor_ = self._make_preprocessor(X)
        Xt = self.preprocessor_.fit_transform(X) if self.preprocessor_ is not None else X
        Xt = self._check_volumes(Xt)
        self.n_channels_ = int(np.asarray(Xt[0]).shape[0])
        self.volume_shape_ = tuple(np.asarray(Xt[0]).shape[1:])
        return Xt

    def _transform_inputs(self, X):
        check_is_fitted(self, "n_channels_")
        Xt = self.preprocessor_.transform(X) if self.preprocessor_ is not None else X
        Xt = self._check_volumes(Xt)
        channels = int(np.asarray(Xt[0]).shape[0])
        if channels != self.n_channels_:
            raise ValueError(f"X has {channels} image channels; the model was fitted with {self.n_channels_}")
        return Xt

    # ------------------------------------------------------------------ skorch hooks
    def initialize_module(self):
        kwargs = self._with_image_channels(self.get_params_for("module"))
        module = self.initialized_instance(self.module, kwargs)
        self.pretrained_report_ = None
        if self.pretrained_weights is not None:
            target = getattr(module, "encoder", module)
            self.pretrained_report_ = load_pretrained_densenet(target, self.pretrained_weights)
        self.module_ = module
        return self

    def augment_batch(self, Xi):
        """Apply ``augment_`` to one training batch (never called on validation/predict).

        Parameters
        ----------
        Xi : torch.Tensor of shape (B, C, D, H, W)

        Returns
        -------
        torch.Tensor of the same shape
        """
        if self.augment_ is None:
            return Xi
        return self.augment_(Xi)
