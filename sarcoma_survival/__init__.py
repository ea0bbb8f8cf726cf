"""sarcoma_survival: survival and metastasis prediction for soft-tissue sarcoma.

Multimodal (3D MRI + clinical) survival models of Bozzo et al., npj Precision Oncology
8:188 (2024), and every baseline of that paper, as scikit-learn / scikit-survival
estimators that take one cohort table.

The public names are imported lazily (PEP 562), so that ``import sarcoma_survival`` and
the joblib workers of the radiomics and image preprocessing steps do not pay for
importing torch and MONAI unless a neural model is used.
"""
from __future__ import annotations

from ._lazy import lazy_exports

__version__ = "0.1.0.dev0"

_LAZY = {
    "SarculatorRSF": "sarcoma_survival.models",
    "SarculatorCoxPH": "sarcoma_survival.models",
    "ClinicalRSF": "sarcoma_survival.models",
    "RadiomicsRSF": "sarcoma_survival.models",
    "RadiomicsCoxNet": "sarcoma_survival.models",
    "SeedEnsemble": "sarcoma_survival.models",
    "ClinicalMLPSurvival": "sarcoma_survival.nn",
    "DenseNetSurvival": "sarcoma_survival.nn",
    "MMNNSurvival": "sarcoma_survival.nn",
    "RadiomicsExtractor": "sarcoma_survival.radiomics",
    "VolumePreprocessor": "sarcoma_survival.preprocessing",
    "save_model": "sarcoma_survival._model_io",
    "load_model": "sarcoma_survival._model_io",
    "read_model_card": "sarcoma_survival._model_io",
    "config_context": "sarcoma_survival._config",
    "get_config": "sarcoma_survival._config",
    "set_config": "sarcoma_survival._config",
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, dir_globals=True)
