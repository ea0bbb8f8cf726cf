"""Image and clinical preprocessing transformers."""
from ._augment import RandomAugment3D
from ._clinical import ClinicalEncoder
from ._volume import VolumePreprocessor
from ._volume_array import VolumeArray

__all__ = ["VolumePreprocessor", "VolumeArray", "ClinicalEncoder", "RandomAugment3D"]
