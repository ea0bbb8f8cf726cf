"""The paper's clinical and radiomics survival models (scikit-survival inside)."""
from ._base import EncodedFeatureNamesMixin, check_cohort_frame  # noqa: F401, E402
from ._clinical import ClinicalRSF, SarculatorCoxPH, SarculatorFineGray, SarculatorRSF
from ._ensemble import SeedEnsemble
from ._radiomics import FeaturesExceedEventsWarning, RadiomicsCoxNet, RadiomicsRSF

__all__ = ["SarculatorRSF", "SarculatorCoxPH", "SarculatorFineGray", "ClinicalRSF", "RadiomicsRSF", "RadiomicsCoxNet",
           "SeedEnsemble", "FeaturesExceedEventsWarning"]
