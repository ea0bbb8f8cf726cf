"""The paper's clinical and radiomics survival models (scikit-survival inside)."""
from ._clinical import ClinicalRSF, SarculatorCoxPH, SarculatorRSF
from ._radiomics import RadiomicsCoxNet, RadiomicsRSF

__all__ = ["SarculatorRSF", "SarculatorCoxPH", "ClinicalRSF", "RadiomicsRSF", "RadiomicsCoxNet"]
