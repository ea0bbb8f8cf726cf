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
