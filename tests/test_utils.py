"""The helpers of ``sarcoma_survival.utils`` shared by several subpackages."""
from __future__ import annotations

import SimpleITK as sitk

from sarcoma_survival.utils import same_grid


def _image(size=(6, 7, 8), spacing=(0.9, 0.9, 2.5), origin=(-120.0, 85.5, -640.25)):
    image = sitk.Image(*size, sitk.sitkUInt8)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    return image


def test_same_grid_tolerates_header_round_off_only():
    ref = _image()
    assert same_grid(ref, _image())
    # origin written with fewer digits (DICOM / NRRD text, float32 NIfTI offsets)
    assert same_grid(ref, _image(origin=(-120.0005, 85.5004, -640.2496)))
    # a real shift of 0.1 mm, a spacing change, another size or direction: other grids
    assert not same_grid(ref, _image(origin=(-120.1, 85.5, -640.25)))
    assert not same_grid(ref, _image(spacing=(0.9, 0.9, 2.501)))
    assert not same_grid(ref, _image(size=(6, 7, 9)))
    flipped = _image()
    flipped.SetDirection((-1, 0, 0, 0, 1, 0, 0, 0, 1))
    assert not same_grid(ref, flipped)
