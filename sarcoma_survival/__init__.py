"""sarcoma_survival: survival and metastasis prediction for soft-tissue sarcoma.

Multimodal (3D MRI + clinical) survival models of Bozzo et al., npj Precision Oncology
8:188 (2024), and every baseline of that paper, as scikit-learn / scikit-survival
estimators that take one cohort table. See DESIGN.md and the documentation.
"""
from .models import ClinicalRSF, RadiomicsCoxNet, RadiomicsRSF, SarculatorCoxPH, SarculatorRSF
from .nn import ClinicalMLPSurvival, DenseNetSurvival
from .preprocessing import VolumePreprocessor
from .radiomics import RadiomicsExtractor

__version__ = "0.1.0.dev0"

__all__ = [
    "SarculatorRSF",
    "SarculatorCoxPH",
    "ClinicalRSF",
    "RadiomicsRSF",
    "RadiomicsCoxNet",
    "ClinicalMLPSurvival",
    "DenseNetSurvival",
    "RadiomicsExtractor",
    "VolumePreprocessor",
]
