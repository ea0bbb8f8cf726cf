"""Model names used by the command line and the demo, mapped to fresh estimators."""
from __future__ import annotations

import importlib
from typing import NamedTuple


class ModelSpec(NamedTuple):
    """A registered model: how to build it and what to call it."""

    #: Name of the estimator class exported by ``sarcoma_survival``.
    cls: str
    #: Constructor keyword arguments.
    params: dict
    #: One line for listings and the demo's table.
    description: str
    #: True when its ``preprocessor="auto"`` is an image VolumePreprocessor (the demo sizes it).
    images: bool = False


#: name -> ModelSpec, in the order of the paper's Table 3
MODELS = {
    "sarculator-rsf": ModelSpec("SarculatorRSF", {}, "Sarculator variables, random survival forest"),
    "sarculator-coxph": ModelSpec("SarculatorCoxPH", {}, "Sarculator variables, Cox proportional hazards"),
    "clinical-rsf": ModelSpec("ClinicalRSF", {}, "11 clinical variables, random survival forest"),
    "radiomics-rsf": ModelSpec("RadiomicsRSF", {"include_clinical": False}, "200 radiomics features, RSF"),
    "radiomics-clinical-rsf": ModelSpec("RadiomicsRSF", {"include_clinical": True},
                                        "radiomics + 11 clinical variables, RSF"),
    "radiomics-coxnet": ModelSpec("RadiomicsCoxNet", {}, "radiomics + clinical, ElasticNet Cox"),
    "clinical-mlp": ModelSpec("ClinicalMLPSurvival", {}, "clinical subnetwork alone (DeepSurv-style)"),
    "densenet": ModelSpec("DenseNetSurvival", {}, "unimodal 3D DenseNet-121 on T1 + T2", images=True),
    "mmnn": ModelSpec("MMNNSurvival", {"gradient_blending": True}, "multimodal network, gradient blending",
                      images=True),
    "mmnn-no-blending": ModelSpec("MMNNSurvival", {"gradient_blending": False},
                                  "multimodal network without gradient blending (ablation)", images=True),
}

def model_names():
    """Every registered model name, in registry order.

    All of them, whatever is installed: a model whose optional dependency is missing
    (torch for the neural models, PyRadiomics for the radiomics ones) fails when
    :func:`make_model` builds it or when it is fitted, with the import error, and the demo
    records that error in its table.

    Returns
    -------
    list of str
        The keys of :data:`MODELS`.

    Examples
    --------
    >>> model_names()[:2]
    ['sarculator-rsf', 'sarculator-coxph']
    """
    return list(MODELS)


def make_model(name, **params):
    """Return a new estimator for a registered model name.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`, for example ``"clinical-rsf"``.
    **params
        Extra constructor parameters, overriding the registry's.

    Returns
    -------
    estimator
        An unfitted scikit-learn compatible survival estimator.

    Examples
    --------
    >>> make_model("sarculator-coxph")
    SarculatorCoxPH()
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    cls_name, defaults = MODELS[name].cls, MODELS[name].params
    package = importlib.import_module("sarcoma_survival")
    if cls_name not in getattr(package, "__all__", ()):
        raise ValueError(f"model {name!r} needs {cls_name}, which this version does not provide")
    return getattr(package, cls_name)(**{**defaults, **params})


def _is_image_network(estimator):
    """An image or multimodal network (whose ``preprocessor`` reads images)."""
    if "max_epochs" not in estimator.get_params(deep=False):  # not a skorch network: no torch import
        return False
    from .nn import DenseNetSurvival, MMNNSurvival

    return isinstance(estimator, (DenseNetSurvival, MMNNSurvival))


#: The parameters of :class:`~sarcoma_survival.VolumePreprocessor` that the command line's
#: shared image options set (``--image-size``, ``--no-n4``, ``--normalize``).
IMAGE_OPTIONS = ("size", "n4", "normalize")


def set_image_options(estimator, options=None):
    """Make a registry model's default image preprocessing concrete, with ``options`` applied.

    An image network's ``preprocessor="auto"`` becomes the
    :class:`~sarcoma_survival.VolumePreprocessor` its ``fit`` would build, and a radiomics
    model's default extractor (``extractor=None``) the
    :class:`~sarcoma_survival.RadiomicsExtractor` it would build, with a
    ``VolumePreprocessor`` for its ``"default"`` one; a preprocessor given explicitly is
    kept. Then the :data:`IMAGE_OPTIONS` in ``options`` are set on each of them. A
    radiomics extractor reads the images on their own grid, so ``size`` does not apply to
    it: a radiomics model is left as it is when ``size`` is the only option. Called
    without options, it only makes the defaults concrete, so that nested parameters such
    as ``preprocessor__size`` or ``extractor__preprocessor__n4`` can be set afterwards.

    Parameters
    ----------
    estimator : estimator
        A model of :data:`MODELS` (or any estimator with such parameters).
    options : dict, optional
        ``VolumePreprocessor`` parameters among :data:`IMAGE_OPTIONS`.

    Returns
    -------
    list of str
        The parameters of ``estimator`` that were set (empty for a model without image
        preprocessing, or a radiomics model given ``size`` only: left unchanged).

    Examples
    --------
    >>> from sarcoma_survival._registry import make_model, set_image_options
    >>> model = make_model("densenet")
    >>> set_image_options(model, {"size": 32, "n4": False})
    ['preprocessor']
    >>> model.get_params()["preprocessor__size"], model.get_params()["preprocessor__n4"]
    (32, False)
    >>> set_image_options(make_model("clinical-rsf"), {"size": 32})
    []
    """
    from .preprocessing import VolumePreprocessor

    options = dict(options or {})
    unknown = sorted(set(options) - set(IMAGE_OPTIONS))
    if unknown:
        raise ValueError(f"image options are {', '.join(IMAGE_OPTIONS)}; got {', '.join(unknown)}")
    params = estimator.get_params(deep=False)
    found = []
    if _is_image_network(estimator):  # its "preprocessor" is the image one (the clinical MLP's is not)
        pre = params["preprocessor"]
        if isinstance(pre, str) and pre == "auto":
            pre = VolumePreprocessor()
        if isinstance(pre, VolumePreprocessor):
            estimator.set_params(preprocessor=pre.set_params(**options))
            found.append("preprocessor")
    applicable = {k: v for k, v in options.items() if k != "size"}
    if "extractor" in params and (applicable or not options):  # a radiomics model
        from .radiomics import RadiomicsExtractor

        extractor = RadiomicsExtractor() if params["extractor"] is None else params["extractor"]
        pre = extractor.get_params(deep=False).get("preprocessor")
        if isinstance(pre, str) and pre == "default":
            pre = VolumePreprocessor()
        if isinstance(pre, VolumePreprocessor):
            pre.set_params(**applicable)
            estimator.set_params(extractor=extractor.set_params(preprocessor=pre))
            found.append("extractor")
    return found
