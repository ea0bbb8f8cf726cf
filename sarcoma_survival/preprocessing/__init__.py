"""Image and clinical preprocessing transformers.

The names are imported lazily (PEP 562), so that the image and radiomics joblib/Dask workers,
which need only the per-patient functions, import neither torch (``RandomAugment3D``) nor
scikit-learn and pandas: importing them was most of a worker's start-up time
(``benchmarks/bench_parallel.py --what startup``).
"""
from ..utils import lazy_exports

_LAZY = {
    "ClinicalEncoder": "._clinical",
    "VolumePreprocessor": "._volume",
    "VolumeArray": "._volume_array",
    "RandomAugment3D": "._augment",
    "read_image": "._io",
    "ImageReadError": "._io",
    "NONFINITE_POLICIES": "._io",
    "read_mask": "._io",
    "binary_mask_array": "._io",
    "tumor_largest_diameter_cm": "._measure",
    "tumor_volume_cm3": "._measure",
    "DEFAULT_MAX_VOXELS": "._io",
    "check_image": "._io",
    "summarize_inputs": "._summary",
    "out_of_training_range": "._summary",
    "warn_out_of_training_range": "._summary",
    "describe_finding": "._summary",
    "image_measures": "._summary",
    "OutOfTrainingRangeWarning": "._summary",
}

__all__ = [
    "VolumePreprocessor",
    "VolumeArray",
    "ClinicalEncoder",
    "RandomAugment3D",
    "read_image",
    "ImageReadError",
    "tumor_largest_diameter_cm",
    "tumor_volume_cm3",
    "summarize_inputs",
    "out_of_training_range",
    "warn_out_of_training_range",
    "OutOfTrainingRangeWarning",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
