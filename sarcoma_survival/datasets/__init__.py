"""Cohort tables: the manifest loader, the synthetic cohort and the real TCIA STS cohort."""
from ._cohort import CohortError, load_cohort, parse_clinical_fields  # noqa: F401 (parse_clinical_fields: for web)
from ._manifest import build_manifest
from ._synthetic import make_synthetic_cohort
from ._tcia import load_tcia_sts

__all__ = ["load_cohort", "build_manifest", "make_synthetic_cohort", "load_tcia_sts", "CohortError"]
