"""Radiomics features of T1 and T2 inside the tumor mask (PyRadiomics).

:class:`RadiomicsExtractor` turns the cohort table into a table of features, one row per
patient; :func:`default_params_path` and :func:`load_params` give access to the shipped
PyRadiomics parameter files.
"""
from ._extractor import RadiomicsExtractor
from ._params import default_params_path, load_params
from ._patient import RadiomicsExtractionError

__all__ = ["RadiomicsExtractor", "RadiomicsExtractionError", "default_params_path", "load_params"]
