"""Image and clinical preprocessing transformers."""
from ._clinical import ClinicalEncoder
from ._io import NONFINITE_POLICIES, ImageReadError, read_image  # noqa: F401
from ._volume import VolumePreprocessor
from ._volume_array import VolumeArray

__all__ = [
    "VolumePreprocessor",
    "VolumeArray",
    "ClinicalEncoder",
    "RandomAugment3D",
    "read_image",
    "ImageReadError",
]


def __getattr__(name):
    # RandomAugment3D needs torch; importing it lazily keeps the image and radiomics
    # joblib workers free of the torch import.
    if name == "RandomAugment3D":
        from ._augment import RandomAugment3D

        return RandomAugment3D
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
