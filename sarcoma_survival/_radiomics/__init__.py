"""Radiomics feature extraction (PyRadiomics); the public names live in :mod:`sarcoma_survival.radiomics`."""
from ._extractor import RadiomicsExtractor
from ._params import default_params_path, load_params
from ._patient import RadiomicsExtractionError

__all__ = ["RadiomicsExtractor", "RadiomicsExtractionError", "default_params_path", "load_params"]
