"""MMNNSurvival: the multimodal (clinical + 3D MRI) network with gradient blending."""
from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import PrintLog
from skorch.history import History
from skorch.utils import to_tensor

from ..utils.blending import HEADS, blending_weights_table
from ..utils.validation import check_cohort_frame, clinical_encoding, record_columns
from ._base import SurvivalNeuralNet, as_float_table, check_width, dataset_targets
from ._blending import GradientBlending, fixed_weights, is_online, last_used_estimate
from ._callbacks import SurvivalValidSplit
from ._image_training import IMAGE_PARAMS_DOC, ImageTrainingMixin, one_cycle_callbacks
from ._mmnn_module import MultimodalNet
from ._outcome import CAUSE_PARAM_DOC


class _MultimodalDataset(torch.utils.data.Dataset):
    """Patients as ``({"clinical": (F,), "image": (C, D, H, W)}, [time, event])``; volumes load lazily."""

    def __init__(self, clinical, image, y=None):
        if len(clinical) != len(image):
            raise ValueError(f"{len(clinical)} clinical rows but {len(image)} image volumes")
        self.clinical = clinical
        self.image = image
        self.y = y

    def __len__(self):
        return len(self.clinical)

    def __getitem__(self, i):
        x = {"clinical": self.clinical[i], "image": np.asarray(self.image[i], dtype=np.float32)}
        return x, (self.y[i] if self.y is not None else np.float32(0))


class MMNNSurvival(ImageTrainingMixin, SurvivalNeuralNet):
    __doc__ = f"""Multimodal neural Cox model (clinical + 3D MRI) trained with gradient blending.

    The network of Bozzo et al. (2024), :class:`~sarcoma_survival.nn.MultimodalNet`: a
    clinical MLP (11 -> 32 -> 16 -> 8 -> 8 -> 8 -> 12) and a 3D DenseNet-121 (12 image
    features) whose features are concatenated (24) and mapped by a linear layer to the
    log-risk. Each subnetwork also has its own risk head, used only during training: the
    batch loss is ``w_multimodal * L_multimodal + w_clinical * L_clinical + w_image *
    L_image`` (Cox partial likelihoods), with weights set by gradient blending (Wang, Tran
    & Feiszli, 2020; see :class:`~sarcoma_survival.nn.GradientBlending`). Predictions,
    survival functions and model selection use the multimodal head only.

    The estimator takes the cohort table: the image columns (``t1``, and ``t2`` when
    present) go through ``preprocessor`` (a
    :class:`~sarcoma_survival.preprocessing.VolumePreprocessor`, cached on disk, so
    cross-validation and grid search preprocess each patient once) and the clinical
    columns through ``clinical_preprocessor`` (a
    :class:`~sarcoma_survival.preprocessing.ClinicalEncoder` fitted on the training rows).
    Training batches (never validation, blending or prediction batches) go through
    ``augment``, on the image only.

    Three held-apart sets are involved, all carved from the training data given to
    ``fit``: the model-selection set (``train_split``, or ``validation_data``) chooses the
    epoch whose weights are kept, by the *unweighted* multimodal Cox loss of the whole set;
    the blend set (``blend_size`` of what remains, only with ``gradient_blending=True``)
    gives the held-out losses of the weight rule; the rest is trained on.

    Parameters
    ----------
    preprocessor : "auto" or transformer, default="auto"
        Image preprocessing of the cohort table into (n, C, D, H, W) volumes;
        ``"auto"`` is ``VolumePreprocessor()``. Cloned and fitted on the training data.
    clinical_preprocessor : "auto" or transformer, default="auto"
        Clinical encoding of the cohort table into a numeric table; ``"auto"`` is
        ``ClinicalEncoder(columns="clinical")`` when the table holds all 11 clinical
        columns, else ``ClinicalEncoder`` of its numeric non-image columns (text columns
        are then refused with their names). Cloned and fitted on the training data.
    gradient_blending : {{True, False, "uniform"}}, default=True
        ``True``: online gradient blending (uniform weights during the warm-up, then
        re-estimated every ``blend_period`` epochs). ``False``: the multimodal head alone
        is trained (the paper's ablation; no blend set is held out). ``"uniform"``: fixed
        weights 1/3 on each head (no blend set is held out).
    blend_warmup : int, default=10
        Epochs with uniform weights before the first estimation.
    blend_period : int, default=5
        Epochs between two estimations (and the window each estimation looks at).
    blend_size : float, default=0.2
        Fraction of the training part (after the model-selection split) held out as the
        blend set when ``gradient_blending=True``; stratified by event.
    blend_eps : float, default=1e-2
        Lower bound of ΔO² in the weight rule: changes of overfitting smaller than
        ``sqrt(blend_eps)`` nats (0.1) count as noise. The paper-faithful tiny floor
        (``1e-6``) lets a head whose losses barely moved take nearly all the weight
        (see the user guide).
    blend_min_weight : float, default=0.0
        Every head keeps at least this weight (in ``[0, 1/3]``; 0 is the raw rule, 1/3
        uniform weights): the estimate ``w`` becomes ``m + (1 - 3m) w``. Without it a
        noisy estimate can give the multimodal head weight 0, and then the fusion layer,
        the one that predicts, stops training.
    blend_smoothing : float, default=0.0
        Each new estimate is averaged with the previous one, ``s * previous + (1 - s) *
        new`` (in ``[0, 1)``; 0 keeps only the new one). Held-out losses of a small blend
        set move by more between two measurements than the rule's signal; averaging
        keeps one unlucky period from swinging all the weight to one head.
    blend_refit : bool, default=True
        After the blended run (which trains without the blend set), train again on every
        training patient, replaying the first run's weight of each epoch; the second run
        is the fitted model. Both runs are seeded by ``random_state`` (the same
        initialization when it is set). Not with ``warm_start=True``. The first run stops
        at the last estimation whose weights are used (epoch 45 of 50 with the defaults);
        when ``max_epochs`` leaves no estimation to use (``max_epochs <= blend_warmup``, or
        ``<= blend_period`` without a warm-up), it is skipped and the one run trains every
        patient with uniform weights. The refit nearly doubles the training time and gives back
        the patients the blend set took from training (see the user guide for what that was worth on the synthetic
        cohort).
    module : torch module class, default=MultimodalNet
        Sizes through ``module__hidden_sizes`` (clinical MLP), ``module__n_features``,
        ``module__init_features``, ``module__growth_rate``, ``module__block_config``
        (DenseNet), ``module__clinical_dropout``, ``module__image_dropout``.
    **kwargs
        skorch's arguments, e.g. ``optimizer__weight_decay``,
        ``callbacks__lr_scheduler=None`` (constant learning rate), and these parameters
        of the image estimators (``random_state`` also seeds the model-selection and
        blend splits; the criterion gives the Cox loss of each head):
{IMAGE_PARAMS_DOC}
        * {CAUSE_PARAM_DOC}
          Each of the three heads then has one output per cause and its loss (in
          training, in the blending measurements and in model selection) is the sum of
          its cause-specific Cox losses; the 3 blending weights stay one per head.

    Attributes
    ----------
    preprocessor_, clinical_preprocessor_ : transformer
        The fitted input transformers.
    augment_ : callable or None
    n_channels_ : int
        Image channels of the training data (1 for T1-only cohorts).
    n_encoded_features_ : int
        Width of the encoded clinical table.
    feature_names_in_ : ndarray of str
        Cohort columns the two preprocessors read (selected by name: their order in X
        does not matter).
    n_features_in_ : int
    blending_weights_ : DataFrame
        Weight of each head (columns ``multimodal``, ``clinical``, ``image``) used during
        each epoch (index), built from ``history_``; ``plot_blending_weights(model.history)``
        draws the same. The one record of the weights a fitted MMNN used.
    last_blend_estimate_ : ndarray of shape (3,)
        Deprecated (a ``FutureWarning``): the weights in force after training, now
        ``criterion_.head_weights``; read ``blending_weights_`` instead.
    blend_history_ : skorch History or None
        With ``blend_refit=True``: the history of the estimating run (losses measured on
        the blend set, ``blend_raw_weight_<head>``), up to its last used estimation;
        ``history_`` is the refit's. None when no estimating run was needed.
    pretrained_report_ : dict or None
    module_ : MultimodalNet
        For Grad-CAM: ``module_.image_net`` is the image subnetwork (``module_.image_net(x)``
        is the image-only log-risk; layers ``module_.image_net.encoder.features.denseblockN``),
        and :meth:`transform_inputs` gives the preprocessed inputs of patients.
    baseline_model_, best_epoch_, history_
        See :class:`~sarcoma_survival.nn.SurvivalNeuralNet`.

    Examples
    --------
    >>> import tempfile
    >>> from sarcoma_survival.datasets import make_synthetic_cohort
    >>> from sarcoma_survival.nn import MMNNSurvival
    >>> from sarcoma_survival.preprocessing import VolumePreprocessor
    >>> data = make_synthetic_cohort(20, image_size=16, data_dir=tempfile.mkdtemp())
    >>> model = MMNNSurvival(preprocessor=VolumePreprocessor(size=16, n4=False), max_epochs=3,
    ...                      blend_warmup=1, blend_period=1, random_state=0,
    ...                      module__init_features=8, module__growth_rate=4,
    ...                      module__block_config=(1, 1))
    >>> model.fit(data.X, data.y_os).predict(data.X).shape
    (20,)
    >>> model.blending_weights_.shape
    (3, 3)
    """

    _parameter_constraints = {
        **SurvivalNeuralNet._parameter_constraints,
        **ImageTrainingMixin._parameter_constraints,
        "preprocessor": [StrOptions({"auto"}), HasMethods(["fit", "transform"])],
        "clinical_preprocessor": [StrOptions({"auto"}), HasMethods(["fit", "transform"])],
        "gradient_blending": ["boolean", StrOptions({"uniform"})],
        "blend_warmup": [Interval(numbers.Integral, 0, None, closed="left")],
        "blend_period": [Interval(numbers.Integral, 1, None, closed="left")],
        "blend_size": [Interval(numbers.Real, 0, 1, closed="neither")],
        "blend_eps": [Interval(numbers.Real, 0, None, closed="neither")],
        "blend_min_weight": [Interval(numbers.Real, 0, 1 / len(HEADS), closed="both")],
        "blend_smoothing": [Interval(numbers.Real, 0, 1, closed="left")],
        "blend_refit": ["boolean"],
    }

    def __init__(
        self,
        preprocessor="auto",
        *,
        clinical_preprocessor="auto",
        gradient_blending=True,
        blend_warmup=10,
        blend_period=5,
        blend_size=0.2,
        blend_eps=1e-2,
        blend_min_weight=0.0,
        blend_smoothing=0.0,
        blend_refit=True,
        module=MultimodalNet,
        **kwargs,
    ):
        super().__init__(module=module, **kwargs)
        self.preprocessor = preprocessor
        self.clinical_preprocessor = clinical_preprocessor
        self.gradient_blending = gradient_blending
        self.blend_warmup = blend_warmup
        self.blend_period = blend_period
        self.blend_size = blend_size
        self.blend_eps = blend_eps
        self.blend_min_weight = blend_min_weight
        self.blend_smoothing = blend_smoothing
        self.blend_refit = blend_refit

    #: Dotted path, in ``module_``, of the DenseNet's dense blocks, among which Grad-CAM
    #: (:func:`~sarcoma_survival.explain.gradcam`) chooses its target layer.
    gradcam_layer_prefix = "image_net.encoder.features."

    @property
    def _default_callbacks(self):
        return one_cycle_callbacks(("gradient_blending", GradientBlending()),
                                   print_log=PrintLog(keys_ignored=["blending_weights"]))

    def _blending_callback(self):
        """The initialized ``gradient_blending`` callback (None when a user removed it)."""
        return dict(getattr(self, "callbacks_", None) or []).get("gradient_blending")

    @property
    def blending_weights_(self):
        """Weight of each head (columns ``multimodal``, ``clinical``, ``image``) in each
        epoch (index) of the fitted network's training, from its ``history``."""
        history = getattr(self, "history_", None)
        if history is None or not len(history):
            raise AttributeError(f"{type(self).__name__} is not fitted: it has no blending_weights_ yet")
        return blending_weights_table(history)

    @property
    def last_blend_estimate_(self):
        """Deprecated: the criterion's ``head_weights`` after training.

        Use ``blending_weights_`` (the weights used in each epoch) instead; this name
        goes in a future release.
        """
        warnings.warn(
            "last_blend_estimate_ is deprecated and will be removed; use blending_weights_ (the "
            "weights used in each epoch) or criterion_.head_weights (the weights in force)",
            FutureWarning,
            stacklevel=2,
        )
        weights = getattr(self.__dict__.get("criterion_"), "head_weights", None)
        if weights is None:  # a model written before the criterion held them
            weights = self.__dict__.get("last_blend_estimate_")
        history = getattr(self, "history_", None)
        if weights is None and history is not None and len(history) and "blending_weights_after" in history[-1]:
            weights = [history[-1]["blending_weights_after"][head] for head in HEADS]  # a model file's
        if weights is None:
            raise AttributeError(f"{type(self).__name__} holds no blending estimate (not fitted)")
        return np.asarray(weights, dtype=float)

    # ------------------------------------------------------------------ inputs
    def _fit_inputs(self, X):
        check_cohort_frame(X, self)
        self.clinical_preprocessor_ = self._make_clinical_preprocessor(X)
        clinical = as_float_table(self.clinical_preprocessor_.fit_transform(X))
        self.n_encoded_features_ = clinical.shape[1]
        image = self._fit_volumes(X)
        record_columns(self, X, self.preprocessor_, self.clinical_preprocessor_)
        return {"clinical": clinical, "image": image}

    def _make_clinical_preprocessor(self, X):
        """``"auto"``: the cohort encoder with all 11 clinical columns, else the numeric columns by name."""
        if not isinstance(self.clinical_preprocessor, str):
            return clone(self.clinical_preprocessor)
        from ..preprocessing import ClinicalEncoder

        encoding = clinical_encoding(X, self)
        return ClinicalEncoder(columns="clinical" if encoding == "encoder" else encoding)

    def _transform_inputs(self, X):
        check_is_fitted(self, "n_channels_")
        check_cohort_frame(X, self)
        clinical = as_float_table(self.clinical_preprocessor_.transform(X))
        check_width(clinical, self.n_encoded_features_, "clinical features after encoding")
        return {"clinical": clinical, "image": self._transform_volumes(X)}

    def get_dataset(self, X, y=None):
        if isinstance(X, dict) and set(X) == {"clinical", "image"} and self._preloaded_inputs(X) is None:
            return _MultimodalDataset(X["clinical"], X["image"], y)
        return super().get_dataset(X, y)

    def get_split_datasets(self, X, y=None, **fit_params):
        train, valid = super().get_split_datasets(X, y, **fit_params)
        self.blend_dataset_ = None
        blending = self._blending_callback()
        if is_online(self.gradient_blending) and (blending is None or blending.estimates(self)):
            train, self.blend_dataset_ = SurvivalValidSplit(self.blend_size)(train, dataset_targets(train))
        if len(train) < 2:
            raise ValueError(
                f"only {len(train)} patient(s) left to train on after the model-selection and "
                "blend splits; give more patients or lower valid_size / blend_size"
            )
        return train, valid

    # ------------------------------------------------------------------ skorch hooks
    def initialize_module(self):
        kwargs = self._with_image_channels(self._module_kwargs_with_width("clinical_in_features"))
        module = self.initialized_instance(self.module, kwargs)
        return self._set_module(module, module.image_net.encoder)

    def augment_batch(self, Xi):
        """Apply ``augment_`` to the image of one training batch (never validation/predict).

        Parameters
        ----------
        Xi : dict of torch.Tensor
            ``"clinical"`` (B, F) and ``"image"`` (B, C, D, H, W).

        Returns
        -------
        dict of torch.Tensor
            The same batch with the image augmented; clinical values untouched.
        """
        return {**Xi, "image": self._augment_images(Xi["image"])}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Training: the criterion's blend of the heads (its ``head_weights``, which
        :class:`~sarcoma_survival.nn.GradientBlending` sets); model selection: the
        unweighted multimodal-head loss (of the whole set)."""
        if not training:
            return super().get_loss(y_pred, y_true, X=X, training=training)
        heads = tuple(y_pred) if isinstance(y_pred, tuple) else (y_pred,)
        return self._checked_loss(heads, to_tensor(y_true, device=self.device_), training)

    def head_losses(self, dataset):
        """Cox loss of each head on a whole dataset, in eval mode, without augmentation.

        Parameters
        ----------
        dataset : torch Dataset
            Patients as built by the estimator (e.g. ``blend_dataset_`` during training).

        Returns
        -------
        ndarray of shape (3,)
            Losses of the multimodal, clinical and image heads, in that order.
        """
        if dataset is None or len(dataset) == 0:
            raise ValueError("head_losses needs a non-empty dataset")
        outputs, y_true = self.whole_set_outputs(dataset)
        with torch.no_grad():
            return np.array([self._checked_loss(h, y_true, False).item() for h in outputs])

    def _train(self, X, event, time, validation_data, fit_params):
        self.blend_history_ = None
        try:
            if not (is_online(self.gradient_blending) and self.blend_refit):
                return super()._train(X, event, time, validation_data, fit_params)
            if self.warm_start:
                raise ValueError(
                    "blend_refit=True trains a second network from scratch, which warm_start=True "
                    "would not do; set blend_refit=False to continue training a fitted network"
                )
            total = fit_params.get("epochs") or self.max_epochs
            last = last_used_estimate(total, self.blend_warmup, self.blend_period)
            if last == 0:  # no estimate would be used: uniform weights on every patient
                weights = fixed_weights("uniform")[None, :]
            else:
                super()._train(X, event, time, validation_data, {**fit_params, "epochs": last})
                self.blend_history_ = History(self.history)  # skorch clears the history in place
                after = np.repeat(self._blending_callback().weights_[None, :], total - last, axis=0)
                weights = np.vstack([blending_weights_table(self.history).to_numpy(), after])

            def replay():  # the refit hands the recorded weights to the fresh callback
                blending = self._blending_callback()
                if blending is not None:
                    blending.replay = weights
            return super()._train(X, event, time, validation_data, fit_params, before_training=replay)
        finally:
            self.blend_dataset_ = None  # do not keep (or pickle) training patients

    def predict_heads(self, X):
        """Log-risks of the three heads (multimodal, clinical-only, image-only).

        Parameters
        ----------
        X : DataFrame
            Patients of the cohort table (clinical columns and image paths).

        Returns
        -------
        DataFrame
            Indexed like ``X``; columns ``multimodal`` (what :meth:`predict` returns),
            ``clinical`` and ``image`` (the auxiliary heads used for blending); for a
            model fitted on a competing-risks outcome, the log-risks of ``cause``.
        """
        check_is_fitted(self, "training_risks_")
        outputs = self.forward(self._transform_inputs(X), training=False)
        column = self._outcome().risk_column()
        return pd.DataFrame(
            {head: out.float().reshape(len(out), -1)[:, column].numpy().astype(np.float64)
             for head, out in zip(HEADS, outputs)},
            index=X.index,
        )
