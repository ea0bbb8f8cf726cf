"""DenseNetSurvival: the unimodal image model (3D DenseNet-121 -> 12 features -> risk)."""
from __future__ import annotations

from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils.validation import record_columns
from ._base import SurvivalNeuralNet
from ._image_training import IMAGE_PARAMS_DOC, ImageTrainingMixin
from ._modules import DenseNetRisk
from ._outcome import CAUSE_PARAM_DOC


class DenseNetSurvival(ImageTrainingMixin, SurvivalNeuralNet):
    __doc__ = f"""Deep Cox model on 3D MRI: MONAI DenseNet-121, 12 image features, linear risk head.

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
    module : torch module class, default=DenseNetRisk
        ``module__in_channels`` defaults to the channels of the data; other sizes through
        ``module__n_features``, ``module__dropout``, ``module__block_config``,
        ``module__init_features``, ``module__growth_rate``.
    **kwargs
        skorch's arguments, e.g. ``callbacks__lr_scheduler=None`` (constant lr),
        ``iterator_train__num_workers=2``, and these parameters of the image estimators:
{IMAGE_PARAMS_DOC}
        * {CAUSE_PARAM_DOC}

    Attributes
    ----------
    preprocessor_ : transformer or None
    augment_ : callable or None
    n_channels_ : int
        Image channels of the training data.
    feature_names_in_ : ndarray of str
        Cohort columns the preprocessor reads (selected by name); absent when the
        volumes were given as an array.
    pretrained_report_ : dict or None
        What :func:`~sarcoma_survival.nn.load_pretrained_densenet` loaded.
    module_, baseline_model_, best_epoch_, history_
        See :class:`~sarcoma_survival.nn.SurvivalNeuralNet`.

    Examples
    --------
    Volumes given as an array (no preprocessing), one channel:

    >>> import numpy as np
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.nn import DenseNetSurvival
    >>> X = np.random.default_rng(0).normal(size=(12, 1, 16, 16, 16)).astype("float32")
    >>> y = Surv.from_arrays(np.arange(12) % 3 > 0, np.linspace(100, 1000, 12))
    >>> model = DenseNetSurvival(max_epochs=1, random_state=0, module__init_features=8,
    ...                          module__growth_rate=4, module__block_config=(1, 1)).fit(X, y)
    >>> model.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        **SurvivalNeuralNet._parameter_constraints,
        **ImageTrainingMixin._parameter_constraints,
        "preprocessor": [StrOptions({"auto"}), HasMethods(["fit", "transform"]), None],
    }

    #: Dotted path, in ``module_``, of the DenseNet's dense blocks, among which Grad-CAM
    #: (:func:`~sarcoma_survival.explain.gradcam`) chooses its target layer.
    gradcam_layer_prefix = "encoder.features."

    def __init__(self, preprocessor="auto", *, module=DenseNetRisk, **kwargs):
        super().__init__(module=module, **kwargs)
        self.preprocessor = preprocessor

    def _fit_inputs(self, X):
        Xt = self._fit_volumes(X)
        record_columns(self, X, self.preprocessor_)  # none for volumes given as an array
        return Xt

    def _transform_inputs(self, X):
        check_is_fitted(self, "n_channels_")
        return self._transform_volumes(X)

    # ------------------------------------------------------------------ skorch hooks
    def initialize_module(self):
        module = self.initialized_instance(self.module, self._with_image_channels(self.get_params_for("module")))
        return self._set_module(module, getattr(module, "encoder", module))

    def augment_batch(self, Xi):
        """Apply ``augment_`` to one training batch (never called on validation/predict).

        Parameters
        ----------
        Xi : torch.Tensor of shape (B, C, D, H, W)

        Returns
        -------
        torch.Tensor of the same shape
        """
        return self._augment_images(Xi)
