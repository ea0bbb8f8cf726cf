"""Radiomics features of T1 and T2 inside the tumor mask (PyRadiomics).

:class:`RadiomicsExtractor` turns the cohort table into a table of features, one row per
patient; :func:`default_params_path` and :func:`load_params` give access to the shipped
PyRadiomics parameter files.

The names are imported lazily (PEP 562): a joblib or Dask worker that only runs
``_patient.extract_patient`` then never imports scikit-learn, which was most of a worker's
start-up time (``benchmarks/bench_parallel.py --what startup``).
"""
from ..utils import lazy_exports

_LAZY = {
    "RadiomicsExtractor": "._extractor",
    "default_params_path": "._params",
    "load_params": "._params",
    "RadiomicsExtractionError": "._patient",
}

__all__ = ["RadiomicsExtractor", "RadiomicsExtractionError", "default_params_path", "load_params"]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
